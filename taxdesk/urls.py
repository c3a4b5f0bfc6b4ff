from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("taxdesk.home.urls")),
    path("", include("taxdesk.core.urls")),
    path("clocks/", include("taxdesk.clocks.urls")),
    path("calendar/", include("taxdesk.workdays.urls")),
    path("taxpayers/", include("taxdesk.customers.urls")),
    path("devices/", include("taxdesk.devices.urls")),
    path("sales/", include("taxdesk.sales.urls")),
    path("billing/", include("taxdesk.billing.urls")),
    path("imports/", include("taxdesk.imports.urls")),
    path("messages/", include("taxdesk.notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/", include("taxdesk.api_urls")),
]

admin.site.site_header = "TaxDesk"
admin.site.site_title = "TaxDesk"
