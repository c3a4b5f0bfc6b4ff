from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.ImportJobListView.as_view(), name="job_list"),
    path("new/", views.ImportUploadView.as_view(), name="upload"),
    path("template/<slug:kind>.xlsx", views.TemplateDownloadView.as_view(), name="template"),
    path("<int:pk>/", views.ImportJobDetailView.as_view(), name="job_detail"),
    path("<int:pk>/status/", views.ImportJobStatusView.as_view(), name="job_status"),
    path("<int:pk>/run/", views.ImportRunView.as_view(), name="job_run"),
    path("<int:pk>/errors.xlsx", views.ErrorReportView.as_view(), name="job_errors"),
]
