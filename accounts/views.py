from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import TokenForm, VariableForm
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
