from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.MessageListView.as_view(), name="message_list"),
    path("<int:pk>/", views.MessageDetailView.as_view(), name="message_detail"),
    path("<int:pk>/retry/", views.MessageRetryView.as_view(), name="message_retry"),
    path("templates/", views.TemplateListView.as_view(), name="template_list"),
    path("templates/<int:pk>/", views.TemplateEditView.as_view(), name="template_edit"),
    path(
        "templates/<int:pk>/preview/", views.TemplatePreviewView.as_view(), name="template_preview"
    ),
    path("templates/<int:pk>/reset/", views.TemplateResetView.as_view(), name="template_reset"),
]
