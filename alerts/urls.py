from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alert-rules/new/", views.alert_rule_new, name="alert_rule_new"),
    path("alert-rules/<int:pk>/", views.alert_rule_edit, name="alert_rule_edit"),
    path("alert-rules/<int:pk>/delete/", views.alert_rule_delete, name="alert_rule_delete"),
]
