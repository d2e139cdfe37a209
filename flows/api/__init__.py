"""The flows API: flows and their life cycle, triggers, executions, webhooks, schedules, statistics.

One module per resource; viewsets stay declarative and call the domain modules (``versions``,
``portable``, ``properties``, ``triggers``, ``webhooks``, ``schedules``, ``monitoring``,
``engine``). Reads of flows need ``flows:read``, changes ``flows:write`` and the editor role
(admins for protected flows); running anything needs ``executions:run`` and the editor role;
reading executions needs ``monitoring:read``.
"""
