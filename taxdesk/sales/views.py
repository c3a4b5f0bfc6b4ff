"""Pages of the sales: sell to a taxpayer, the sale, its application form as a PDF."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from taxdesk.clocks.models import Deadline
from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import ObjectDetailView, ObjectListView, ScopedMixin
from taxdesk.core.privacy import personal_for
from taxdesk.core.scoping import may_add
from taxdesk.customers.models import Taxpayer

from .actions import sell_devices
from .filtersets import SaleFilterSet
from .forms import SaleForm
from .models import Sale
from .pdf import application_form_pdf


class SaleListView(ObjectListView):
    model = Sale
    filterset_class = SaleFilterSet
    ordering = ("-sold_on", "-id")
    template_name = "sales/sale_list.html"
    partial_template_name = "sales/partials/sale_table.html"

    def base_queryset(self):
        return Sale.objects.select_related("taxpayer", "service_unit", "sold_by")


class SaleDetailView(ObjectDetailView):
    model = Sale
    template_name = "sales/sale_detail.html"

    def base_queryset(self):
        return Sale.objects.select_related("taxpayer", "service_unit", "sold_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sale = self.object
        context["lines"] = sale.lines.select_related("device", "device__paired_with")
        context["charges"] = sale.charges.all()
        context["entry_clock"] = Deadline.objects.filter(
            content_type__app_label="customers",
            content_type__model="taxpayer",
            object_id=sale.taxpayer_id,
            rule="INS-06",
        ).first()
        return context


class SaleCreateView(ScopedMixin, View):
    """Sell devices to one taxpayer (the sales clerk's form)."""

    model = Taxpayer
    template_name = "sales/sale_form.html"

    def _taxpayer(self, pk):
        taxpayer = get_object_or_404(Taxpayer.objects.restrict(self.request.user), pk=pk)
        if not may_add(self.request.user, Sale, taxpayer.service_unit_id):
            raise PermissionDenied
        return taxpayer

    def get(self, request, taxpayer_pk):
        taxpayer = self._taxpayer(taxpayer_pk)
        return render(request, self.template_name, {"taxpayer": taxpayer, "form": SaleForm()})

    def post(self, request, taxpayer_pk):
        taxpayer = self._taxpayer(taxpayer_pk)
        form = SaleForm(request.POST)
        if form.is_valid():
            try:
                sale = sell_devices(
                    taxpayer=taxpayer,
                    serials=form.serial_list(),
                    sold_at=form.cleaned_data["sold_at"],
                    by=request.user,
                    application={"remarks": form.cleaned_data["remarks"]},
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Sale %(number)s recorded.") % {"number": sale.number})
                return redirect(sale)
        return render(request, self.template_name, {"taxpayer": taxpayer, "form": form}, status=400)


class ApplicationFormPdfView(ScopedMixin, View):
    """INS-05: the 《发票税控系统用户使用申请表》 of a sale, A4, Chinese."""

    model = Sale

    def get(self, request, pk):
        sale = get_object_or_404(self.get_queryset(), pk=pk)
        application = personal_for(request.user, sale.application)
        response = HttpResponse(
            application_form_pdf(sale, application), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="application-{sale.number}.pdf"'
        return response
