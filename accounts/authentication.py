from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken

LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer erp_<id>_<secret>``; wrong, revoked and expired tokens all get 401."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, presented = header.partition(" ")
        if keyword.lower() != self.keyword:
            return None
        presented = presented.strip()
        if not presented:
            raise exceptions.AuthenticationFailed("The Authorization header has no token after 'Bearer'.")
        token = ApiToken.authenticate(presented)
        if token is None:
            raise exceptions.AuthenticationFailed("The API token is invalid, revoked or expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this API token is deactivated.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            # Once a minute is precise enough to spot an unused token, and saves a write per API call.
            token.last_used_at = now
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
