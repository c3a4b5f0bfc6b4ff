"""The audit trail: who changed which record, when, from which request, and how.

Business models inherit :class:`AuditedModel`. Every path that writes them is recorded:
``save()`` (create and change, with the values before and after), ``delete()`` and cascades
(through the ``post_delete`` signal, which Django sends for every deleted row of a model that
has a receiver), ``QuerySet.update()`` and ``bulk_update()`` (rows are locked, read before
and after) and ``bulk_create()``. Only raw SQL and the plain ``_base_manager`` escape it, and
the code writes through neither. Fields a model lists in ``audit_exclude`` are recorded by no
path: a write of nothing else (an import's progress) records nothing, locks nothing.

The request (user, id, IP, web or API) comes from :class:`AuditContextMiddleware`; actions,
commands and tasks name the acting user with :func:`acting`.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import functools
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.db import connections, models, router, transaction
from django.db.models.signals import post_delete
from django.utils import timezone

from .choices import AuditAction, AuditSource
from .scoping import RestrictedQuerySet


@dataclass(frozen=True)
class AuditContext:
    user: object = None
    request_id: str = ""
    ip: str | None = None
    source: str = AuditSource.COMMAND


_EMPTY = AuditContext()
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "taxdesk_audit_context", default=None
)


# The supervision body of each service unit a block has written for, remembered for the
# outermost acting() block (a unit does not change body in the middle of an action); outside
# one, nothing is remembered.
_unit_bodies: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "taxdesk_audit_unit_bodies", default=None
)


def current() -> AuditContext:
    return _context.get() or _EMPTY


@contextmanager
def context(**values):
    """Set parts of the audit context for the duration of a block."""
    token = _context.set(replace(current(), **values))
    try:
        yield current()
    finally:
        _context.reset(token)


@contextmanager
def acting(user, source: str | None = None):
    """Record what the block does as done by ``user``."""
    values = {"user": user}
    if source is not None:
        values["source"] = source
    if not current().request_id:
        values["request_id"] = uuid.uuid4().hex
    bodies = _unit_bodies.set({}) if _unit_bodies.get() is None else None
    try:
        with context(**values) as ctx:
            yield ctx
    finally:
        if bodies is not None:
            _unit_bodies.reset(bodies)


def _body_of_unit(unit_id: int) -> int | None:
    remembered = _unit_bodies.get()
    if remembered is not None and unit_id in remembered:
        return remembered[unit_id]
    from .models import ServiceUnit

    body_id = (
        ServiceUnit.objects.filter(pk=unit_id).values_list("supervision_body_id", flat=True).first()
    )
    if remembered is not None:
        remembered[unit_id] = body_id
    return body_id


# Values stored as they are (most of a snapshot): checked first, by exact type.
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _plain(value):
    """A JSON-safe form of a field value."""
    if value.__class__ in _AS_IS:
        return value
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        # One offset for every instant, so equal instants compare equal.
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | datetime.timedelta):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


@functools.cache
def _fields(model) -> tuple[tuple[str, str], ...]:
    """(name, attname) of the audited fields of a model (fixed once the models are loaded)."""
    excluded = set(getattr(model, "audit_exclude", ()))
    return tuple((f.name, f.attname) for f in model._meta.concrete_fields if f.name not in excluded)


def _snapshot_of(model, attrs: dict) -> dict:
    # Secret fields keep their value here (in memory only), so that a change of a password
    # is seen; build_entry() redacts them before anything is stored.
    get = attrs.get
    return {name: _plain(get(attname)) for name, attname in _fields(model)}


def _redacted(model, changes: dict) -> dict:
    """Secret fields (password hashes) show only that they were set or changed: "***"."""
    secret = set(getattr(model, "audit_redact", ()))
    if not secret:
        return changes
    return {
        name: [("***" if value else value) for value in pair] if name in secret else pair
        for name, pair in changes.items()
    }


def snapshot(instance) -> dict:
    """The audited field values of an instance, by field name."""
    return _snapshot_of(type(instance), instance.__dict__)


def _diff(before: dict, after: dict) -> dict:
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value or name not in before
    }


def write_entry(action: str, **details):
    """Append one entry to the trail (``details`` as :func:`build_entry` takes them)."""
    from .models import AuditEntry

    entry = AuditEntry(**build_entry(action, **details))
    entry.save()
    return entry


def record_view(instance, *, user, object_repr: str | None = None):
    """Record that ``user`` read ``instance`` in full (a "view" entry), in the record's
    tenants so that its unit and supervision body see who read it. Whose reads are recorded
    is the caller's decision (``core.privacy.reads_are_recorded``)."""
    unit_id, body_id = instance.audit_tenants()
    return write_entry(
        AuditAction.VIEW,
        model=type(instance),
        object_id=instance.pk,
        object_repr=str(instance) if object_repr is None else object_repr,
        unit_id=unit_id,
        body_id=body_id,
        user=user,
    )


def build_entry(
    action: str,
    *,
    instance=None,
    model=None,
    object_id=None,
    object_repr="",
    changes=None,
    unit_id=None,
    body_id=None,
    user=None,
):
    """An entry's column values (by attribute name), to save one (:func:`write_entry`) or
    many at once (:func:`_save_entries`). Only this module writes AuditEntry."""
    ctx = current()
    actor = user if user is not None else ctx.user
    if hasattr(actor, "resolve"):
        # The request's user, resolved late: DRF authenticates inside the view.
        actor = actor.resolve()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if instance is not None:
        model = type(instance)
        object_id = instance.pk
        object_repr = str(instance)[:200]
        unit_id, body_id = instance.audit_tenants()
    content_type_id = None
    if model is not None:
        from django.contrib.contenttypes.models import ContentType

        content_type_id = ContentType.objects.get_for_model(model).pk
        changes = _redacted(model, changes or {})
    return dict(
        action=action,
        actor_id=None if actor is None else actor.pk,
        actor_repr=str(actor)[:150] if actor is not None else "",
        content_type_id=content_type_id,
        object_id="" if object_id is None else str(object_id),
        object_repr=object_repr[:200],
        changes=changes or {},
        request_id=ctx.request_id,
        ip=ctx.ip,
        source=ctx.source,
        unit_id=unit_id,
        body_id=body_id,
    )


# Of an entry's columns, these need the database's own form (a time, JSON, an address);
# every other one is a plain text or number already.
_PREPARED = frozenset({"at", "changes", "ip"})


def _save_entries(entries: list) -> None:
    """Save the entries of a bulk path at once: PostgreSQL's COPY, else one prepared INSERT
    executed over all the rows.

    ``bulk_create`` compiles the SQL of every value of every row; for an import that was
    most of its time. Here the columns are known and their values are plain or prepared
    once per kind; everything runs inside the caller's transaction. ``entries`` are the
    column values of :func:`build_entry`.
    """
    if not entries:
        return
    from .models import AuditEntry

    connection = connections[router.db_for_write(AuditEntry)]
    meta = AuditEntry._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    now = timezone.now()
    prepared_now = meta.get_field("at").get_db_prep_save(now, connection)
    changes, ip = meta.get_field("changes"), meta.get_field("ip")
    plain = [(f.attname not in _PREPARED, f.attname) for f in fields]
    rows = []
    for entry in entries:
        values = []
        for is_plain, attname in plain:
            if is_plain:
                values.append(entry[attname])
            elif attname == "at":
                values.append(prepared_now)
            elif attname == "changes":
                values.append(changes.get_db_prep_save(entry["changes"], connection))
            else:
                address = entry["ip"]
                values.append(None if address is None else ip.get_db_prep_save(address, connection))
        rows.append(values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: several times faster than row-by-row inserts for thousands of rows. It
            # goes to the driver's cursor, so Django's error types are restored here.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for values in rows:
                    copy.write_row(values)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


class AuditedQuerySet(RestrictedQuerySet):
    """Bulk paths that record every row they touch."""

    def update(self, **kwargs):
        if not kwargs:
            return 0
        audited = {name for name, _attname in _fields(self.model)}
        names = [self.model._meta.get_field(k).name for k in kwargs]
        names = [name for name in names if name in audited]
        if not names:
            # Only fields the model keeps out of the trail (``audit_exclude``: a running
            # import's progress, for instance): nothing to record, so nothing is locked or
            # read either. A save() of such fields records nothing in the same way.
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            locked = self.select_for_update().order_by()
            before = {row["pk"]: row for row in locked.values("pk", *names)}
            if not before:
                return 0
            count = super().update(**kwargs)
            after_rows = self.model._base_manager.filter(pk__in=before).order_by("pk")
            entries = []
            for obj in after_rows.iterator(chunk_size=2000):
                old = before[obj.pk]
                new = snapshot(obj)
                changes = {n: [_plain(old[n]), new[n]] for n in names if _plain(old[n]) != new[n]}
                if changes:
                    entries.append(build_entry(AuditAction.UPDATE, instance=obj, changes=changes))
            _save_entries(entries)
        return count

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            entries = []
            for obj in created:
                if obj.pk is None:
                    raise RuntimeError("bulk_create of an audited model needs returned keys")
                after = snapshot(obj)
                entries.append(
                    build_entry(AuditAction.CREATE, instance=obj, changes=_diff({}, after))
                )
                obj._audit_before = after
            _save_entries(entries)
        return created


class AuditedModel(models.Model):
    """A business record whose every change lands in the audit trail."""

    audit_exclude: tuple[str, ...] = ()
    audit_redact: tuple[str, ...] = ()

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        if len(field_names) == len(cls._meta.concrete_fields):
            # Kept raw; turned into a snapshot only if the instance is saved.
            instance._audit_loaded = dict(zip(field_names, values, strict=True))
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        self._audit_loaded = None
        # A full refresh matches the database; a partial one leaves "before" to be re-read.
        self._audit_before = snapshot(self) if fields is None else None

    def _before(self) -> dict:
        if getattr(self, "_audit_before", None) is not None:
            return self._audit_before
        loaded = getattr(self, "_audit_loaded", None)
        if loaded is not None:
            return _snapshot_of(type(self), loaded)
        fresh = type(self)._base_manager.filter(pk=self.pk).first()
        return snapshot(fresh) if fresh is not None else {}

    def save(self, *args, **kwargs):  # noqa: DJ012 (from_db above belongs with it)
        adding = self._state.adding
        with transaction.atomic(using=kwargs.get("using") or "default"):
            before = {} if adding else self._before()
            super().save(*args, **kwargs)
            after = snapshot(self)
            changes = _diff(before, after)
            if adding or changes:
                write_entry(
                    AuditAction.CREATE if adding or not before else AuditAction.UPDATE,
                    instance=self,
                    changes=changes,
                )
            self._audit_before = after

    save.alters_data = True

    def audit_tenants(self) -> tuple[int | None, int | None]:
        """The service unit and supervision body this record belongs to, for scoping entries."""
        unit_id = getattr(self, "service_unit_id", None)
        body_id = getattr(self, "supervision_body_id", None)
        if body_id is None and unit_id is not None:
            body_id = _body_of_unit(unit_id)
        return unit_id, body_id


def _record_delete(sender, instance, **kwargs):
    write_entry(
        AuditAction.DELETE,
        instance=instance,
        changes={k: [v, None] for k, v in snapshot(instance).items()},
    )


def connect_delete_receivers(all_models) -> None:
    """Record deletes of every audited model (called once the app registry is ready).

    Connected per model rather than globally, so models outside the trail keep Django's
    fast deletes.
    """
    for model in all_models:
        if issubclass(model, AuditedModel) and not model._meta.abstract:
            post_delete.connect(
                _record_delete, sender=model, dispatch_uid=f"audit-delete-{model._meta.label}"
            )
