from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("organization/switch/", views.switch_organization, name="switch_organization"),
    path("environments/", views.environments, name="environments"),
    path("environments/<slug:env_slug>/variables/new/", views.variable_edit, name="variable_new"),
    path("environments/<slug:env_slug>/variables/<int:pk>/", views.variable_edit, name="variable_edit"),
    path("variables/<int:pk>/delete/", views.variable_delete, name="variable_delete"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.member_role, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
]
