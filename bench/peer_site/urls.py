"""erpflow's trigger path, so the same wrk script drives both sites."""

from django.urls import path

from bench.peer_site.views import execute

urlpatterns = [path("api/v1/flows/<slug:slug>/executions", execute)]
