from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm
from .generic import ObjectHistoryView

app_name = "core"

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm,
            template_name="core/login.html",
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="core/password_change.html", success_url="/accounts/password/done/"
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="core/password_done.html"),
        name="password_change_done",
    ),
    path("accounts/sessions/end/", views.EndAllSessionsView.as_view(), name="end_sessions"),
    path("units/", views.ServiceUnitListView.as_view(), name="unit_list"),
    path("units/<int:pk>/", views.ServiceUnitDetailView.as_view(), name="unit_detail"),
    path("units/<int:pk>/edit/", views.ServiceUnitEditView.as_view(), name="unit_edit"),
    path("audit/", views.AuditSearchView.as_view(), name="audit"),
    path("history/<str:label>/<int:pk>/", ObjectHistoryView.as_view(), name="history"),
]
