"""API representations of connectors, and the one path that validates and saves them.

The pages validate and save through ``ConnectorSerializer`` too, so the rules (unique names, a
type fixed at creation, complete settings for every chosen environment, secrets kept when the mask
comes back) are written once. Settings are keyed by environment slug (a name is accepted too) and
checked field by field with ``connectors.values``; errors name the environment and the field:
``{"settings": {"production": {"password": ["This field is required."]}}}``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts import environments
from accounts.models import Environment
from accounts.policy import Action, allows
from connectors import catalog, values
from connectors.models import Connector, ConnectorSettings

MAX_TAGS = 20
MAX_CONCURRENCY = 10_000


def unknown_type_message(key) -> str:
    known = ", ".join(cls.key for cls in catalog.all_types()) or "none installed"
    return f"Unknown connector type '{key}'; the catalog has: {known}."


def members_of(organization):
    return get_user_model().objects.filter(memberships__organization=organization)


def groups_of(organization):
    """Groups with a member in ``organization``: groups are installation-wide, so only these are offered."""
    return Group.objects.filter(user__memberships__organization=organization).distinct()


def public_settings(connector: Connector, rows) -> dict[str, dict]:
    """Each environment's settings as shown to people: defaults applied, secrets masked."""
    type_cls = catalog.type_class(connector.type_key)
    if type_cls is None:
        return {row.environment.slug: {} for row in rows}
    return {row.environment.slug: values.public(type_cls, row.values) for row in rows}


def last_test(row: ConnectorSettings) -> dict | None:
    if row.last_test is None:
        return None
    return {**row.last_test, "tested": row.last_tested}


def settings_rows(connector: Connector) -> list[ConnectorSettings]:
    """The connector's settings rows in environment order (prefetched when the queryset did)."""
    return sorted(connector.settings.all(), key=lambda row: row.environment_id)


class SettingsField(serializers.DictField):
    """Written as ``{environment: {field: value}}``; read back in the same shape, defaults applied and
    secrets masked (the stored values never leave)."""

    def get_attribute(self, connector: Connector) -> Connector:
        return connector

    def to_representation(self, connector: Connector) -> dict:
        return public_settings(connector, settings_rows(connector))


class ConnectorSerializer(serializers.ModelSerializer):
    """A connector with its settings per environment; secrets answer as the mask, never in plain text.

    ``settings`` on create and PUT is the complete set of environments; on PATCH the environments it
    names are updated (fields left out keep their values) and an environment sent as ``null`` is
    removed. Every change bumps ``revision``. The context may hold ``previous``: secret tokens per
    environment slug to keep in place of the saved ones (the page's pending secrets after a failed test).
    """

    url = serializers.SerializerMethodField()
    type = serializers.CharField(source="type_key", max_length=40, required=False)
    type_label = serializers.SerializerMethodField()
    name = serializers.CharField(max_length=120)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=MAX_TAGS, default=list
    )
    allowed_users = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=get_user_model().objects.none()
    )
    allowed_groups = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Group.objects.none())
    concurrency_limit = serializers.IntegerField(
        min_value=1, max_value=MAX_CONCURRENCY, allow_null=True, required=False, default=None
    )
    settings = SettingsField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        help_text="Per environment slug, the values of the type's fields; answered with secrets masked.",
    )
    environments = serializers.SerializerMethodField()
    last_tests = serializers.SerializerMethodField()
    used_by = serializers.SerializerMethodField()

    class Meta:
        model = Connector
        fields = [
            "id",
            "url",
            "type",
            "type_label",
            "name",
            "version",
            "description",
            "tags",
            "scope",
            "allowed_users",
            "allowed_groups",
            "concurrency_limit",
            "revision",
            "environments",
            "settings",
            "last_tests",
            "used_by",
            "created",
            "updated",
        ]
        read_only_fields = ["revision", "created", "updated"]
        validators = []  # name uniqueness is checked in validate() with a message naming the connector

    def get_fields(self):
        fields = super().get_fields()
        organization = self._organization()
        fields["allowed_users"].child_relation.queryset = members_of(organization)
        fields["allowed_groups"].child_relation.queryset = groups_of(organization)
        return fields

    def _organization(self):
        return getattr(self.context.get("request"), "organization", None)

    # -- reading ----------------------------------------------------------------------------------

    def get_url(self, connector: Connector) -> str:
        return reverse("connector-detail", kwargs={"pk": connector.pk}, request=self.context.get("request"))

    def get_type_label(self, connector: Connector) -> str:
        type_cls = catalog.type_class(connector.type_key)
        return type_cls.label if type_cls else f"{connector.type_key} (not installed)"

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_environments(self, connector: Connector) -> list[str]:
        return [row.environment.slug for row in settings_rows(connector)]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_last_tests(self, connector: Connector) -> dict:
        return {row.environment.slug: last_test(row) for row in settings_rows(connector)}

    @extend_schema_field(OpenApiTypes.INT)
    def get_used_by(self, connector: Connector) -> int:
        if hasattr(connector, "used_by"):
            return connector.used_by
        return connector.uses.count()

    # -- validating -------------------------------------------------------------------------------

    def validate_name(self, name: str) -> str:
        clash = Connector.objects.for_organization(self._organization()).filter(name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"A connector named '{name}' already exists; choose another name.")
        return name

    def validate_tags(self, tags: list[str]) -> list[str]:
        """Each tag once, in the order given (the child field already trimmed them)."""
        return list(dict.fromkeys(tags))

    def validate(self, attrs):
        instance: Connector | None = self.instance
        key = attrs.get("type_key", instance.type_key if instance else None)
        if instance is not None and key != instance.type_key:
            raise serializers.ValidationError(
                {"type": [f"A connector's type cannot change (it is '{instance.type_key}'); create a new connector."]}
            )
        if key is None:
            raise serializers.ValidationError(
                {"type": ["This field is required: a key of GET /api/v1/connector-types/."]}
            )
        type_cls = catalog.type_class(key)
        if type_cls is None:
            raise serializers.ValidationError({"type": [unknown_type_message(key)]})
        if "settings" in attrs or not self.partial:
            attrs["stored_settings"] = self._clean_settings(type_cls, attrs.pop("settings", None))
        return attrs

    def _clean_settings(self, type_cls, incoming: dict | None) -> dict[Environment, dict | None]:
        """Stored values per environment (None: remove it there); raises with every problem named."""
        organization = self._organization()
        saved = {row.environment: row.values for row in self.instance.settings.all()} if self.instance else {}
        pending = self.context.get("previous", {})
        result: dict[Environment, dict | None] = {}
        errors: dict[str, object] = {}
        for key, given in (incoming or {}).items():
            environment = environments.find(organization, key, by_name_or_id=True)
            if environment is None:
                errors[str(key)] = [environments.unknown_message(organization, key)]
                continue
            if given is None:
                result[environment] = None
                continue
            if not isinstance(given, dict):
                errors[environment.slug] = ["Send this environment's settings as an object of field names and values."]
                continue
            previous = {**saved.get(environment, {}), **pending.get(environment.slug, {})}
            if self.partial and environment in saved:
                given = {**values.public(type_cls, saved[environment]), **given}
            given = self._admin_only_kept(type_cls, saved.get(environment), given)
            try:
                result[environment] = values.clean(type_cls, given, previous, organization=organization)
            except values.SettingsInvalid as problem:
                errors[environment.slug] = {name: [message] for name, message in problem.errors.items()}
                continue
            refused = self._admin_only_changes(type_cls, saved.get(environment), result[environment])
            if refused:
                errors[environment.slug] = refused
        if errors:
            raise serializers.ValidationError({"settings": errors})
        remaining = {env for env, stored in result.items() if stored is not None}
        if self.partial:
            remaining |= {env for env in saved if env not in result}
        if not remaining:
            raise serializers.ValidationError(
                {"settings": ['Choose at least one environment and give its settings, e.g. {"sandbox": {...}}.']}
            )
        if not self.partial:
            result.update({env: None for env in saved if env not in result})
        return result

    def _may_change_admin_only(self) -> bool:
        request = self.context.get("request")
        return allows(getattr(request, "membership", None), "connectors", Action.CHANGE_ADMIN_ONLY_SETTINGS)

    def _admin_only_kept(self, type_cls, saved: dict | None, given: dict) -> dict:
        """For a member below admin, an admin-only setting left out of an edit keeps its saved value: a full
        update by an editor must not reset what an admin chose (such as TLS verification turned off)."""
        if saved is None or self._may_change_admin_only():
            return given
        kept = {f.name: saved[f.name] for f in type_cls.fields if f.admin_only and f.name in saved}
        return {**kept, **given}

    def _admin_only_changes(self, type_cls, saved: dict | None, stored: dict) -> dict[str, list[str]]:
        request = self.context.get("request")
        return admin_only_changes(getattr(request, "membership", None), type_cls, saved, stored)

    # -- saving -----------------------------------------------------------------------------------

    def create(self, validated):
        return self._save(Connector(organization=self._organization()), validated)

    def update(self, connector, validated):
        return self._save(connector, validated)

    def _save(self, connector: Connector, validated: dict) -> Connector:
        """Store the connector, its scope and its settings in one transaction; bump the revision on change."""
        stored = validated.pop("stored_settings", {})
        relations = {name: validated.pop(name) for name in ("allowed_users", "allowed_groups") if name in validated}
        creating = connector.pk is None
        changed = creating or any(getattr(connector, field) != value for field, value in validated.items())
        for field, value in validated.items():
            setattr(connector, field, value)
        try:
            with transaction.atomic():
                if creating:
                    connector.save()
                elif validated:
                    # Only the fields sent: ``revision`` is bumped below in SQL, so a concurrent edit's bump is kept.
                    connector.save(update_fields=[*validated, "updated"])
                for name, chosen in relations.items():
                    manager = getattr(connector, name)
                    changed |= {obj.pk for obj in manager.all()} != {obj.pk for obj in chosen}
                    manager.set(chosen)
                changed |= _save_settings(connector, stored)
                if changed and not creating:
                    Connector.objects.filter(pk=connector.pk).update(revision=F("revision") + 1, updated=timezone.now())
        except IntegrityError:
            # A concurrent request won the race: the same name, or the same environment added twice.
            taken = Connector.objects.filter(organization=connector.organization, name=connector.name)
            if taken.exclude(pk=connector.pk).exists():
                raise serializers.ValidationError(
                    {"name": [f"A connector named '{connector.name}' already exists; choose another name."]}
                ) from None
            raise serializers.ValidationError(
                ["This connector was changed by someone else at the same moment; load it again and retry."]
            ) from None
        connector.refresh_from_db()
        return connector


def admin_only_changes(membership, type_cls, saved: dict | None, stored: dict) -> dict[str, list[str]]:
    """Settings marked ``admin_only`` that a member below admin tried to set away from the saved value
    (or, for new settings, the default), except toward the strict end of an ordered one: refused with
    a field error, so nothing is saved, and nothing is tested with them either."""
    if allows(membership, "connectors", Action.CHANGE_ADMIN_ONLY_SETTINGS):
        return {}
    before = saved or {}
    return {
        field.name: ["Only an admin or owner may change this setting; it keeps its current value."]
        for field in type_cls.fields
        if field.admin_only and _weakened(field, before.get(field.name, field.default), stored.get(field.name))
    }


def _weakened(field, before, after) -> bool:
    """Whether moving an admin-only setting from ``before`` to ``after`` is a change a member below admin
    may not make: any change, except toward the strict end of a setting with ``strictness``."""
    if after == before:
        return False
    order = field.strictness
    return not (before in order and after in order and order.index(after) > order.index(before))


def _save_settings(connector: Connector, stored: dict[Environment, dict | None]) -> bool:
    """Write each environment's values (a change forgets the last test, made with other values); True if any changed."""
    rows = {row.environment_id: row for row in ConnectorSettings.objects.filter(connector=connector)}
    changed = False
    for environment, new in stored.items():
        row = rows.get(environment.pk)
        if new is None:
            if row is not None:
                row.delete()
                changed = True
        elif row is None:
            ConnectorSettings.objects.create(connector=connector, environment=environment, values=new)
            changed = True
        elif row.values != new:
            row.values, row.last_test, row.last_tested = new, None, None
            row.save(update_fields=["values", "last_test", "last_tested"])
            changed = True
    return changed


class ConnectorTypeSerializer(serializers.Serializer):
    """One catalog entry: what ``ConnectorType.describe()`` answers (documentation of the shape)."""

    key = serializers.CharField()
    label = serializers.CharField()
    category = serializers.CharField()
    icon = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    extra = serializers.CharField(allow_null=True)
    fields = serializers.ListField(child=serializers.DictField())


class EnvironmentChoiceSerializer(serializers.Serializer):
    environment = serializers.CharField(help_text="Environment slug or name, e.g. sandbox")

    def validate_environment(self, key: str) -> Environment:
        organization = getattr(self.context.get("request"), "organization", None)
        environment = environments.find(organization, key, by_name_or_id=True)
        if environment is None:
            raise serializers.ValidationError(environments.unknown_message(organization, key))
        return environment


class UnsavedTestSerializer(EnvironmentChoiceSerializer):
    """Settings of one environment, tested before they are saved; ``connector`` lends its saved secrets."""

    type = serializers.CharField(max_length=40)
    settings = serializers.DictField(child=serializers.JSONField(allow_null=True))
    connector = serializers.IntegerField(required=False, allow_null=True)

    def validate_type(self, key: str) -> str:
        if catalog.type_class(key) is None:
            raise serializers.ValidationError(unknown_type_message(key))
        return key


class StageSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    duration_ms = serializers.FloatField()
    message = serializers.CharField()


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    stages = StageSerializer(many=True)


class FlowUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.CharField(help_text="The flow in the API")
    page = serializers.CharField(help_text="The flow's page")


class ManagedCallUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class UsageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    flows = FlowUseSerializer(many=True)


class InUseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    flows = FlowUseSerializer(many=True)
    managed_calls = ManagedCallUseSerializer(many=True)
