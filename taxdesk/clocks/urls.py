from django.urls import path

from . import views

app_name = "clocks"

urlpatterns = [
    path("", views.DeadlineListView.as_view(), name="list"),
    path("<int:pk>/", views.DeadlineDetailView.as_view(), name="detail"),
    path("<int:pk>/pause/", views.DeadlinePauseView.as_view(), name="pause"),
    path("<int:pk>/resume/", views.DeadlineResumeView.as_view(), name="resume"),
]
