from django.urls import path

from . import views as sale_views

app_name = "sales"

urlpatterns = [
    path("", sale_views.SaleListView.as_view(), name="sale_list"),
    path("<int:pk>/", sale_views.SaleDetailView.as_view(), name="sale_detail"),
    path(
        "<int:pk>/application.pdf",
        sale_views.ApplicationFormPdfView.as_view(),
        name="application_pdf",
    ),
    path("new/<int:taxpayer_pk>/", sale_views.SaleCreateView.as_view(), name="sale_add"),
]
