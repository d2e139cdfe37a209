from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/rules/new/", views.alert_rule_new, name="alert_rule_new"),
    path("alerts/rules/<int:pk>/", views.alert_rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", views.alert_rule_delete, name="alert_rule_delete"),
]
