from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "flows"
    verbose_name = "Flows and executions"

    def ready(self):
        # Importing flows.expressions imports JSONata, which raises the interpreter's recursion limit (to
        # JavaScript's depth); doing it at start-up makes that happen once, not in the first mapping step.
        from accounts.demo import DEMO_BUILDERS
        from flows import demo, expressions  # noqa: F401

        if demo.build not in DEMO_BUILDERS:
            DEMO_BUILDERS.append(demo.build)
