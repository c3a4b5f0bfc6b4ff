"""API of the imports: upload a spreadsheet (its check is queued), follow the job, import it."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from taxdesk.core.api.fields import ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.core.models import ServiceUnit

from .actions import create_job, fail_if_stalled, start_import
from .choices import JobKind, JobState
from .filtersets import ImportJobFilterSet
from .forms import check_upload
from .models import ImportJob


def _documented_choices(choices, what: str):
    """A read-only choice field documented as a string listing its values. (Its enum is not
    made an OpenAPI component: "kind" and "state" are field names other apps use for other
    choices, and the component names would collide.)"""
    values = ", ".join(f"`{value}`" for value in choices.values)

    @extend_schema_field({"type": "string", "description": f"{what} One of {values}."})
    class Field(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices.choices, read_only=True, **kwargs)

    return Field


KindField = _documented_choices(JobKind, "What the file holds.")
StateField = _documented_choices(
    JobState, "uploaded → validating → validated → importing → done, or failed."
)


class ImportJobSerializer(StrictModelSerializer):
    kind = KindField()
    state = StateField()
    percent = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "service_unit",
            "kind",
            "original_name",
            "state",
            "total_rows",
            "valid_rows",
            "processed_rows",
            "expected_rows",
            "percent",
            "error_count",
            "created_count",
            "updated_count",
            "unchanged_count",
            "import_valid_only",
            "failure",
            "created_by",
            "run_by",
            "created_at",
            "validated_at",
            "import_started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportErrorSerializer(StrictSerializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class ImportJobDetailSerializer(ImportJobSerializer):
    errors = ImportErrorSerializer(many=True, read_only=True)

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "errors"]
        read_only_fields = fields


class ImportUploadSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=JobKind.choices)
    file = serializers.FileField()
    # A unit out of reach is "does not exist", as an id that never was.
    service_unit = ScopedRelatedField(ServiceUnit, required=False, allow_null=True)

    def validate_file(self, value):
        check_upload(value)
        return value


class RunSerializer(StrictSerializer):
    valid_only = serializers.BooleanField(
        default=False,
        help_text="Import the valid rows of a file that has errors (asked for explicitly).",
    )


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Import jobs in the caller's scope. POST a multipart upload (``kind``, ``file``) to
    create a job: the file is kept and its check queued (a file that cannot be read, or goes
    beyond the upload limits, fails the job: ``state`` ``failed`` with the reason in
    ``failure``); the job shows its progress; POST ``/run/`` to import it."""

    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    filterset_class = ImportJobFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.defer("errors") if self.action == "list" else queryset

    def get_serializer_class(self):
        if self.action == "create":
            return ImportUploadSerializer
        if self.action in ("retrieve", "run"):
            return ImportJobDetailSerializer
        return ImportJobSerializer

    def write_action(self):
        return "change" if self.action == "run" else super().write_action()

    def get_object(self):
        obj = super().get_object()
        return fail_if_stalled(obj) if self.action == "retrieve" else obj

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportJobDetailSerializer})
    def create(self, request):
        body = ImportUploadSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        job = create_job(
            kind=body.validated_data["kind"],
            file=body.validated_data["file"],
            service_unit=body.validated_data.get("service_unit"),
            by=request.user,
        )
        job.refresh_from_db()
        return Response(ImportJobDetailSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RunSerializer, responses={202: ImportJobDetailSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        job = self.get_object()
        body = RunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = start_import(job, by=request.user, valid_only=body.validated_data["valid_only"])
        return Response(ImportJobDetailSerializer(job).data, status=status.HTTP_202_ACCEPTED)
