from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "flows"
    verbose_name = "Flows and executions"

    def ready(self):
        # Importing expressions.mapping imports JSONata, which raises the interpreter's recursion limit (to
        # JavaScript's depth); doing it at start-up makes that happen once, not in the first mapping step.
        # A connector a flow uses cannot be deleted (connectors.usage asks the registered users). The demo
        # organization gets the demo flows.
        import expressions.mapping  # noqa: F401
        from accounts.demo import DEMO_BUILDERS
        from connectors import usage
        from flows import demo
        from flows.uses import FLOWS

        usage.register(FLOWS)
        if demo.build not in DEMO_BUILDERS:
            DEMO_BUILDERS.append(demo.build)
