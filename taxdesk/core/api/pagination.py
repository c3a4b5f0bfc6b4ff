from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor pages (no COUNT over the table); a viewset may name ``cursor_ordering``."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None)
        if ordering:
            return ordering if isinstance(ordering, tuple | list) else (ordering,)
        return super().get_ordering(request, queryset, view)
