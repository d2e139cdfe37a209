from __future__ import annotations

from rest_framework import serializers

from accounts.choices import Role, Scope
from accounts.models import VARIABLE_KEY, ApiToken, Environment, Membership, Variable
from core import masking


class EnvironmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Environment
        fields = ["id", "name", "slug"]


class VariableSerializer(serializers.ModelSerializer):
    """Secret values are write-only: a response shows the mask, and sending the mask keeps them."""

    environment = serializers.SlugRelatedField(slug_field="slug", queryset=Environment.objects.none())
    value = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=65536)

    class Meta:
        model = Variable
        fields = ["id", "environment", "key", "value", "secret", "updated"]
        read_only_fields = ["updated"]
        validators = []  # uniqueness is checked in validate() with a message naming the key

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        fields["environment"].queryset = Environment.objects.for_organization(getattr(request, "organization", None))
        return fields

    def validate_key(self, key):
        if not VARIABLE_KEY.match(key):
            raise serializers.ValidationError(
                "Use letters, digits and underscores, starting with a letter or underscore."
            )
        return key

    def validate(self, attrs):
        environment = attrs.get("environment", getattr(self.instance, "environment", None))
        key = attrs.get("key", getattr(self.instance, "key", None))
        clash = Variable.objects.filter(environment=environment, key=key)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"key": f"{key} already exists in {environment.slug}."})
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["value"] = instance.display_value
        return data

    def _apply(self, instance: Variable, validated):
        value = validated.pop("value", None)
        was_secret = instance.secret
        plain = instance.plain_value() if instance.pk else ""
        for name, field_value in validated.items():
            setattr(instance, name, field_value)
        if value is None or (was_secret and value == masking.MASK):
            value = plain
        instance.set_value(value)
        instance.save()
        return instance

    def create(self, validated_data):
        return self._apply(Variable(organization=validated_data.pop("organization")), validated_data)

    def update(self, instance, validated_data):
        return self._apply(instance, validated_data)


class ApiTokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scopes", "expires_at", "last_used_at", "revoked_at", "created", "state"]
        read_only_fields = ["last_used_at", "revoked_at", "created"]


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    joined = serializers.DateTimeField(source="created", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "joined"]
        read_only_fields = ["role"]


class MemberAddSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=254, help_text="The username or email of an existing account.")
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
