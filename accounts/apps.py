from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self):
        # Imported here, not at the top: models and the user model are ready only now.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from accounts import rotation  # noqa: F401 - registers the rotator
        from accounts.auth_cache import forget_everything
        from accounts.models import ApiToken, Membership, Organization

        for model in (ApiToken, Membership, Organization, get_user_model()):
            for signal in (post_save, post_delete):
                signal.connect(forget_everything, sender=model, dispatch_uid=f"auth-cache-{model.__name__}-{signal}")
