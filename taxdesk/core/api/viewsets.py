"""The base viewset: every row comes through ``restrict(user, action)``."""

from rest_framework import exceptions, viewsets

from taxdesk.core.filters import MAX_ID
from taxdesk.core.scoping import ADD, CHANGE, DELETE, VIEW, can, scope_filter

METHOD_ACTIONS = {"POST": ADD, "PUT": CHANGE, "PATCH": CHANGE, "DELETE": DELETE}


class ScopedViewSetMixin:
    """Lists and details show what the user may view; an object outside that is a 404.

    A write on an object the user may view but not change is a 403; so is a create by a
    role that may add no row of the model at all.
    """

    def check_permissions(self, request):
        super().check_permissions(request)
        if getattr(self, "action", None) == "create":
            model = self.get_queryset().model
            if scope_filter(model.scope, request.user, ADD) is None:
                self.permission_denied(request)

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, VIEW)

    def write_action(self) -> str:
        return METHOD_ACTIONS.get(self.request.method, VIEW)

    def get_object(self):
        # Every lookup of the API is an id (or a year): anything but 1 to 2^63-1 in digits
        # names no row, and is answered so before the database is asked.
        value = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not (value.isascii() and value.isdigit() and 1 <= int(value[:20]) <= MAX_ID):
            raise exceptions.NotFound()
        obj = super().get_object()
        action = self.write_action()
        if action != VIEW and not can(self.request.user, action, obj):
            raise exceptions.PermissionDenied()
        return obj


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedGenericViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    pass
