from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.TaxpayerListView.as_view(), name="taxpayer_list"),
    path("add/", views.TaxpayerCreateView.as_view(), name="taxpayer_add"),
    path("<int:pk>/", views.TaxpayerDetailView.as_view(), name="taxpayer_detail"),
    path("<int:pk>/edit/", views.TaxpayerEditView.as_view(), name="taxpayer_edit"),
    path("<int:pk>/status/", views.StatusChangeView.as_view(), name="taxpayer_change_status"),
    path("<int:pk>/type/", views.TypeChangeView.as_view(), name="taxpayer_change_type"),
    path(
        "<int:pk>/tax-office/",
        views.TaxOfficeChangeView.as_view(),
        name="taxpayer_change_tax_office",
    ),
    path("<int:pk>/contacts/add/", views.ContactAddView.as_view(), name="contact_add"),
    path("contacts/<int:pk>/edit/", views.ContactEditView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
]
