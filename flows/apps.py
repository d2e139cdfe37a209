from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "flows"
    verbose_name = "Flows and executions"

    def ready(self):
        # Importing expressions.mapping imports JSONata, which raises the interpreter's recursion limit (to
        # JavaScript's depth); doing it at start-up makes that happen once, not in the first mapping step.
        # A connector a flow uses cannot be deleted (connectors.usage asks the registered users). The demo
        # organization gets the demo flows. The next event of an ordered use case is sent when the one before ends.
        from django.db.models.signals import post_delete, post_save

        import expressions.mapping  # noqa: F401
        from accounts.demo import DEMO_BUILDERS
        from connectors import usage
        from flows import demo, events, lookups
        from flows.models import Deployment, Flow, FlowVersion
        from flows.signals import execution_finished
        from flows.uses import FLOWS

        usage.register(FLOWS)
        if demo.build not in DEMO_BUILDERS:
            DEMO_BUILDERS.append(demo.build)
        execution_finished.connect(events.send_next, dispatch_uid="flows.events.send_next")
        # A trigger's flow and deployment are kept a second (flows.lookups); a change here drops them at once.
        for model in (Flow, FlowVersion, Deployment):
            for signal in (post_save, post_delete):
                signal.connect(
                    lookups.forget_everything, sender=model, dispatch_uid=f"lookups-{model.__name__}-{signal}"
                )
