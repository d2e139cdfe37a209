from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import members as membership_rules
from accounts.choices import Role
from accounts.forms import MemberAddForm, MemberRoleForm, TokenForm, VariableForm
from accounts.models import ApiToken, Environment, Membership, Variable
from accounts.organization import SESSION_KEY
from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped


def member_required(view):
    """Pages need a signed-in user who belongs to an organization."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if request.organization is None:
            return render(request, "accounts/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@require_POST
@login_required
def switch_organization(request):
    membership = Membership.objects.filter(user=request.user, organization_id=request.POST.get("organization")).first()
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = membership.organization_id
    messages.success(request, f"Now working in {membership.organization.name}.")
    return redirect("dashboard")


@member_required
def environments(request):
    envs = scoped(Environment, request).prefetch_related("variables")
    can_edit = allows(request.membership, "variables", Action.WRITE)
    return render(request, "accounts/environments.html", {"environments": envs, "can_edit": can_edit})


@member_required
def variable_edit(request, env_slug, pk=None):
    require(request, "variables", Action.WRITE)
    environment = get_scoped_or_404(Environment, request, slug=env_slug)
    instance = get_scoped_or_404(Variable, request, pk=pk, environment=environment) if pk else None
    initial = {"key": instance.key, "value": instance.display_value, "secret": instance.secret} if instance else None
    form = VariableForm(request.POST or None, environment=environment, instance=instance, initial=initial)
    if request.method == "POST" and form.is_valid():
        variable = form.save()
        messages.success(request, f"Saved {variable.key} in {environment.name}.")
        return redirect("environments")
    return render(
        request,
        "accounts/variable_form.html",
        {"form": form, "environment": environment, "variable": instance},
    )


@require_POST
@member_required
def variable_delete(request, pk):
    require(request, "variables", Action.WRITE)
    variable = get_scoped_or_404(Variable, request, pk=pk)
    variable.delete()
    messages.success(request, f"Deleted {variable.key}.")
    return redirect("environments")


@member_required
def tokens(request):
    form = TokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        _, issued = ApiToken.issue(organization=request.organization, user=request.user, **form.cleaned_data)
        form = TokenForm()
    listing = scoped(ApiToken, request).filter(user=request.user)
    return render(request, "accounts/tokens.html", {"form": form, "tokens": listing, "issued": issued})


@require_POST
@member_required
def token_revoke(request, pk):
    token = get_scoped_or_404(ApiToken.objects.filter(user=request.user), request, pk=pk)
    token.revoke()
    messages.success(request, f"Revoked {token.name}.")
    return redirect("tokens")


def _members_page(request, form=None, status=200):
    """The member list; an admin also gets the add form and, per row, the controls the rules allow."""
    actor = request.membership
    can_manage = allows(actor, "members", Action.MANAGE_MEMBERS)
    grantable = membership_rules.roles_grantable_by(actor)
    listing = Membership.objects.filter(organization=request.organization).select_related("user")
    rows = [
        {
            "membership": membership,
            "is_you": membership.pk == actor.pk,
            # The rules would refuse anything else: an admin touching an owner, anyone changing themselves.
            "can_act": can_manage
            and membership.pk != actor.pk
            and (membership.role != Role.OWNER or actor.role == Role.OWNER),
        }
        for membership in listing.order_by("user__username")
    ]
    if can_manage and form is None:
        form = MemberAddForm(roles=grantable)
    roles = [(role, Role(role).label) for role in grantable]
    context = {"rows": rows, "form": form, "can_manage": can_manage, "roles": roles}
    return render(request, "accounts/members.html", context, status=status)


def _member(request, pk):
    try:
        return Membership.objects.select_related("user").get(organization=request.organization, pk=pk)
    except Membership.DoesNotExist:
        raise Http404("Not found") from None


@member_required
def members(request):
    """GET lists the members; POST (admins) adds an existing user with a role."""
    if request.method != "POST":
        require(request, "members", Action.READ)
        return _members_page(request)
    require(request, "members", Action.MANAGE_MEMBERS)
    form = MemberAddForm(request.POST, roles=membership_rules.roles_grantable_by(request.membership))
    if not form.is_valid():
        return _members_page(request, form, status=400)
    try:
        added = membership_rules.add(
            request.organization, request.membership, form.cleaned_data["user"], form.cleaned_data["role"]
        )
    except membership_rules.MemberRefused as refused:
        form.add_error(refused.field, refused.message)
        return _members_page(request, form, status=refused.status)
    messages.success(request, f"Added {added.user.get_username()} as {added.get_role_display().lower()}.")
    return redirect("members")


@require_POST
@member_required
def member_role(request, pk):
    require(request, "members", Action.MANAGE_MEMBERS)
    membership = _member(request, pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose one of the roles for {membership.user.get_username()}.")
        return _members_page(request, status=400)
    try:
        changed = membership_rules.change_role(membership, request.membership, form.cleaned_data["role"])
    except membership_rules.MemberRefused as refused:
        messages.error(request, refused.message)
        return _members_page(request, status=refused.status)
    messages.success(request, f"{changed.user.get_username()} is now {changed.get_role_display().lower()}.")
    return redirect("members")


@require_POST
@member_required
def member_remove(request, pk):
    require(request, "members", Action.MANAGE_MEMBERS)
    membership = _member(request, pk)
    try:
        membership_rules.remove(membership, request.membership)
    except membership_rules.MemberRefused as refused:
        messages.error(request, refused.message)
        return _members_page(request, status=refused.status)
    messages.success(request, f"Removed {membership.user.get_username()} from {request.organization.name}.")
    return redirect("members")
