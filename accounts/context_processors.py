from accounts.models import Membership
from accounts.policy import Action, allows


def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": membership,
        "can_read_audit": allows(membership, "audit", Action.READ),
        "user_memberships": Membership.objects.select_related("organization").filter(user=user),
    }
