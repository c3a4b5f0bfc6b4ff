from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("schedules/", views.ScheduleListView.as_view(), name="schedule_list"),
    path("schedules/add/", views.ScheduleAddView.as_view(), name="schedule_add"),
    path("schedules/<int:pk>/", views.ScheduleDetailView.as_view(), name="schedule_detail"),
    path("schedules/<int:pk>/edit/", views.ScheduleEditView.as_view(), name="schedule_edit"),
    path("schedules/<int:pk>/close/", views.ScheduleCloseView.as_view(), name="schedule_close"),
    path("proration/", views.ProrationView.as_view(), name="proration"),
    path("charges/", views.ChargeListView.as_view(), name="charge_list"),
    path("charges/add/", views.ChargeAddView.as_view(), name="charge_add"),
    path("charges/<int:pk>/", views.ChargeDetailView.as_view(), name="charge_detail"),
    path("charges/<int:pk>/pay/", views.ChargePayView.as_view(), name="charge_pay"),
    path("charges/<int:pk>/invoice/", views.ChargeInvoiceView.as_view(), name="charge_invoice"),
    path("charges/<int:pk>/correct/", views.ChargeCorrectView.as_view(), name="charge_correct"),
    path("charges/<int:pk>/refund/", views.ChargeRefundView.as_view(), name="charge_refund"),
    path("contracts/", views.ContractListView.as_view(), name="contract_list"),
    path("contracts/add/", views.ContractAddView.as_view(), name="contract_add"),
    path("contracts/<int:pk>/", views.ContractDetailView.as_view(), name="contract_detail"),
    path("contracts/<int:pk>/pdf/", views.ContractPdfView.as_view(), name="contract_pdf"),
    path("contracts/<int:pk>/sign/", views.ContractSignView.as_view(), name="contract_sign"),
    path("contracts/<int:pk>/refuse/", views.ContractRefuseView.as_view(), name="contract_refuse"),
    path("contracts/<int:pk>/renew/", views.ContractRenewView.as_view(), name="contract_renew"),
]
