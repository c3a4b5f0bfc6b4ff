"""The API: /api/… with the OpenAPI schema at /api/schema/ and its docs at /api/docs/."""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from taxdesk.billing.api import ChargeViewSet, ContractViewSet, FeeScheduleViewSet
from taxdesk.clocks.api import DeadlineViewSet
from taxdesk.core.api.audit import AuditEntryViewSet
from taxdesk.core.api.views import ServiceUnitViewSet, TokenView, me
from taxdesk.customers.api import ContactViewSet, TaxpayerViewSet
from taxdesk.devices.api import DeviceViewSet, StockBatchViewSet, WarrantyPolicyViewSet
from taxdesk.imports.api import ImportJobViewSet
from taxdesk.notifications.api import MessageTemplateViewSet, MessageViewSet
from taxdesk.sales.api import SaleViewSet
from taxdesk.workdays.api import CalendarDayViewSet, CalendarYearViewSet, day_info

router = DefaultRouter()
router.register("units", ServiceUnitViewSet, basename="unit")
router.register("deadlines", DeadlineViewSet, basename="deadline")
router.register("taxpayers", TaxpayerViewSet, basename="taxpayer")
router.register("contacts", ContactViewSet, basename="contact")
router.register("calendar/years", CalendarYearViewSet, basename="calendar-year")
router.register("calendar/days", CalendarDayViewSet, basename="calendar-day")
router.register("sales", SaleViewSet, basename="sale")
router.register("imports", ImportJobViewSet, basename="import")
router.register("devices", DeviceViewSet, basename="device")
router.register("stock-batches", StockBatchViewSet, basename="stock-batch")
router.register("warranty-policies", WarrantyPolicyViewSet, basename="warranty-policy")
router.register("fee-schedules", FeeScheduleViewSet, basename="fee-schedule")
router.register("charges", ChargeViewSet, basename="charge")
router.register("contracts", ContractViewSet, basename="contract")
router.register("audit", AuditEntryViewSet, basename="audit-entry")
router.register("messages", MessageViewSet, basename="message")
router.register("message-templates", MessageTemplateViewSet, basename="message-template")

# The docs page (Swagger UI) for signed-in people (others go to the login page): its script a
# static file and a second request (the split view), no inline script; Swagger UI's styles are
# inline, so this one view allows inline styles.
api_docs = login_required(
    csp_update({"style-src": ["'unsafe-inline'"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema")
    )
)

urlpatterns = [
    path("me/", me, name="api-me"),
    path("calendar/day/", day_info, name="api-day-info"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    path("", include(router.urls)),
]
