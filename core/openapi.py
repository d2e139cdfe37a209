"""What the API documentation says about each operation: its resource (tag) and a one-line summary in
the words of the person integrating with erpflow, kept in one table here rather than in every view.

The views' docstrings are written for the developers of erpflow; drf-spectacular would show them as
the operations' descriptions, so ``describe`` (a postprocessing hook, SPECTACULAR_SETTINGS) replaces
them with this table's text and drops them where the table has none. An operation missing from the
table keeps drf-spectacular's default tag, which ``tests/core/test_openapi.py`` reports by name: a
new endpoint gets its row here.
"""

from __future__ import annotations

DESCRIPTION = """\
erpflow connects ERP systems: register connectors (SAP BAPI, PostgreSQL, Oracle, MySQL/MariaDB,
SQLite, HTTP APIs), draw flows whose steps call them, and start those flows from this API, a
webhook, a schedule or an event. Every execution keeps a step-by-step log.

Authenticate with `Authorization: Bearer <token>`; create tokens on the "API tokens" page. A token
is limited to its scopes; each operation below names the resource it belongs to. Errors answer a
JSON body whose `detail` says what is wrong and where."""

# The resources, in the order the documentation lists them.
TAGS = [
    ("connectors", "Connections to ERP systems and databases, their settings per environment, tests and live pools."),
    ("flows", "Flows: the draft the editor works on, published versions, deployments, import and export."),
    ("triggers", "Starting a flow: the REST trigger, webhooks and schedules."),
    ("executions", "What ran: executions with their steps, replays and cancellations."),
    ("events", "Events an ERP reports, each starting the flows of its use case."),
    ("monitoring", "Figures over time: counts by status, durations and the slowest steps."),
    ("managed calls", "Named calls of a connector that other systems run through the API."),
    ("instructions", "Checking and formatting the instructions of SQL, BAPI and HTTP steps."),
    ("environments", "The environments of the organization and their variables."),
    ("tokens", "API tokens of the signed-in member."),
    ("members", "The people of the organization and their roles."),
    ("alerts", "Alert rules that tell people when flows fail or stop succeeding, and the alerts sent."),
    ("audit", "Who changed what, and when."),
]
TAG_NAMES = [name for name, _ in TAGS]

# operationId: (tag, summary[, description]).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "v1_alert_rules_list": ("alerts", "List the alert rules"),
    "v1_alert_rules_create": ("alerts", "Create an alert rule; a webhook's signing secret is shown once"),
    "v1_alert_rules_retrieve": ("alerts", "Get an alert rule"),
    "v1_alert_rules_update": ("alerts", "Replace an alert rule"),
    "v1_alert_rules_partial_update": ("alerts", "Change some fields of an alert rule"),
    "v1_alert_rules_destroy": ("alerts", "Delete an alert rule and the record of its alerts"),
    "v1_alert_rules_rotate_secret_create": ("alerts", "Replace a webhook rule's signing secret; shown once"),
    "v1_alerts_list": ("alerts", "List the alerts sent, newest first"),
    "v1_alerts_retrieve": ("alerts", "Get one alert: who was told, when, and what"),
    "connectors_schema_tables_list": ("connectors", "List the tables of a database connector's live schema"),
    "connectors_schema_table_retrieve": ("connectors", "Get a table's columns and unique indexes from the live schema"),
    "v1_connectors_sync_check_create": ("connectors", "Check a sync step's settings against the live table"),
    "v1_connectors_sync_preview_create": ("connectors", "Preview the first rows a sync step would write"),
    "v1_monitoring_events": ("monitoring", "Find events with their executions' status, error and timings"),
    "v1_monitoring_stats_query": (
        "monitoring",
        "Count executions per flow and per use case, by status, with durations",
    ),
    "v1_connector_types_list": ("connectors", "List the connector types and their settings fields"),
    "v1_connector_types_retrieve": ("connectors", "Show one connector type and its settings fields"),
    "v1_connectors_list": ("connectors", "List the connectors you can see"),
    "v1_connectors_create": ("connectors", "Register a connector with its settings per environment"),
    "v1_connectors_retrieve": ("connectors", "Show a connector and its settings (secrets masked)"),
    "v1_connectors_update": ("connectors", "Replace a connector's details and settings"),
    "v1_connectors_partial_update": ("connectors", "Change some of a connector's details or settings"),
    "v1_connectors_destroy": ("connectors", "Delete a connector that no flow uses"),
    "v1_connectors_pool_stats_retrieve": ("connectors", "Show the live connection pool figures per environment"),
    "connectors_sap_functions_list": ("connectors", "Search the function modules of an SAP connector"),
    "connectors_sap_function_retrieve": ("connectors", "Show the parameters of an SAP function module"),
    "v1_connectors_test_create": ("connectors", "Test a saved connector's connection in one environment"),
    "v1_connectors_usage_retrieve": ("connectors", "List the flows that use a connector"),
    "connectors_test_unsaved": ("connectors", "Test connection settings before saving them"),
    "v1_flows_list": ("flows", "List the flows"),
    "v1_flows_create": ("flows", "Create a flow"),
    "v1_flows_retrieve": ("flows", "Show a flow"),
    "v1_flows_update": ("flows", "Replace a flow's name, description and settings"),
    "v1_flows_partial_update": ("flows", "Change some of a flow's name, description and settings"),
    "v1_flows_destroy": ("flows", "Delete a flow"),
    "v1_flows_deploy_create": ("flows", "Deploy a published version to an environment"),
    "v1_flows_diff_retrieve": ("flows", "Compare two versions, or a version and the draft"),
    "v1_flows_draft_retrieve": ("flows", "Show the draft the editor works on"),
    "v1_flows_draft_update": ("flows", "Replace the draft"),
    "v1_flows_draft_partial_update": ("flows", "Change some steps of the draft"),
    "v1_flows_export_retrieve": ("flows", "Export a flow as JSON, connectors by name"),
    "v1_flows_properties_retrieve": ("flows", "List what a step can use in {{ }} expressions"),
    "v1_flows_publish_create": ("flows", "Publish the draft as a new version"),
    "v1_flows_run_create": ("flows", "Run the draft in the sandbox with a test payload"),
    "v1_flows_validate_create": ("flows", "List every problem of a draft"),
    "v1_flows_versions_list": ("flows", "List the published versions"),
    "v1_flows_versions_retrieve": ("flows", "Show a published version"),
    "v1_flows_import_create": ("flows", "Import an exported flow"),
    "v1_flows_executions_create": (
        "triggers",
        "Start a flow in an environment (the REST trigger)",
        "Runs the version deployed to the environment with your payload. With `wait` (up to 60 seconds) "
        "the answer is the finished execution (200) with its output; without it, or when the flow takes "
        "longer, the answer is the queued or running execution (202): follow its `url`. The same "
        "`deduplication_id` (or `Idempotency-Key` header) within 24 hours answers the first execution "
        "instead of starting another. An XML body is the payload itself; give `environment` and `wait` "
        "in the query string then.",
    ),
    "v1_webhooks_list": ("triggers", "List the webhook URLs"),
    "v1_webhooks_create": ("triggers", "Create a webhook URL for a flow in an environment"),
    "v1_webhooks_retrieve": ("triggers", "Show a webhook URL"),
    "v1_webhooks_destroy": ("triggers", "Delete a webhook URL"),
    "v1_webhooks_rotate_create": ("triggers", "Replace a webhook's secret URL"),
    "v1_schedules_list": ("triggers", "List the schedules"),
    "v1_schedules_create": ("triggers", "Run a flow on a cron schedule"),
    "v1_schedules_retrieve": ("triggers", "Show a schedule"),
    "v1_schedules_update": ("triggers", "Replace a schedule"),
    "v1_schedules_partial_update": ("triggers", "Change a schedule"),
    "v1_schedules_destroy": ("triggers", "Delete a schedule"),
    "v1_executions_list": ("executions", "List executions, newest first, with filters"),
    "v1_executions_retrieve": ("executions", "Show an execution and its steps"),
    "v1_executions_cancel_create": ("executions", "Cancel a queued, running or waiting execution"),
    "v1_executions_replay_create": ("executions", "Run an execution again with the same payload"),
    "v1_executions_replay_failed": ("executions", "Run failed executions again, chosen by filters or ids"),
    "v1_events_create": ("events", "Send up to 100 events"),
    "v1_events_replay": ("events", "Send events again by their executions' ids"),
    "v1_monitoring_stats_retrieve": ("monitoring", "Count executions per flow by status, with durations"),
    "v1_monitoring_steps_retrieve": ("monitoring", "List the slowest and most failing steps"),
    "v1_monitoring_timeline_retrieve": ("monitoring", "Count executions over time by status"),
    "v1_managed_calls_list": ("managed calls", "List the managed calls"),
    "v1_managed_calls_create": ("managed calls", "Create a managed call"),
    "v1_managed_calls_retrieve": ("managed calls", "Show a managed call"),
    "v1_managed_calls_update": ("managed calls", "Replace a managed call"),
    "v1_managed_calls_partial_update": ("managed calls", "Change a managed call"),
    "v1_managed_calls_destroy": ("managed calls", "Delete a managed call"),
    "v1_managed_calls_execute_create": ("managed calls", "Run a managed call with parameters"),
    "v1_instructions_check_create": ("instructions", "Check an instruction and list its problems"),
    "v1_instructions_format_create": ("instructions", "Format an instruction"),
    "v1_environments_list": ("environments", "List the environments"),
    "v1_environments_retrieve": ("environments", "Show an environment"),
    "v1_variables_list": ("environments", "List the variables (secret values masked)"),
    "v1_variables_create": ("environments", "Create a variable in an environment"),
    "v1_variables_retrieve": ("environments", "Show a variable"),
    "v1_variables_update": ("environments", "Replace a variable"),
    "v1_variables_partial_update": ("environments", "Change a variable"),
    "v1_variables_destroy": ("environments", "Delete a variable"),
    "v1_tokens_list": ("tokens", "List your API tokens"),
    "v1_tokens_create": ("tokens", "Create an API token (its value is shown once)"),
    "v1_tokens_retrieve": ("tokens", "Show one of your API tokens"),
    "v1_tokens_revoke_create": ("tokens", "Revoke one of your API tokens"),
    "v1_members_list": ("members", "List the members and their roles"),
    "v1_members_create": ("members", "Add a person with an account as a member"),
    "v1_members_retrieve": ("members", "Show a member"),
    "v1_members_partial_update": ("members", "Change a member's role"),
    "v1_members_destroy": ("members", "Remove a member"),
    "v1_audit_list": ("audit", "List audit events, with filters"),
    "v1_audit_retrieve": ("audit", "Show an audit event"),
}

_EXECUTION = {
    "id": 1042,
    "url": "https://erpflow.example.com/api/v1/executions/1042/",
    "flow": {"id": 7, "slug": "price-order", "name": "Price an order"},
    "version": 3,
    "draft_snapshot": False,
    "environment": "production",
    "trigger": "api",
    "correlation_id": "order-4711",
    "deduplication_id": "",
    "replay_of": None,
    "started_by": "erp-integration (token)",
    "created": "2025-01-31T08:00:00.120000Z",
}

# Request and response examples, by operationId, then media type or status.
EXAMPLES: dict[str, dict[str, dict]] = {
    "v1_flows_executions_create": {
        "request": {
            "application/json": {
                "environment": "production",
                "payload": {"customer": "C-1000", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}]},
                "correlation_id": "order-4711",
                "wait": 30,
            },
        },
        "200": {
            **_EXECUTION,
            "status": "succeeded",
            "started": "2025-01-31T08:00:00.180000Z",
            "finished": "2025-01-31T08:00:00.420000Z",
            "duration_ms": 240.0,
            "error": "",
            "output": {"customer": "C-1000", "total": 19.0},
            "steps": [
                {
                    "position": 0,
                    "scope": "",
                    "item": None,
                    "step_id": "price",
                    "name": "Price the lines",
                    "status": "succeeded",
                    "attempt": 1,
                    "duration_ms": 12.5,
                    "error": "",
                }
            ],
        },
        "202": {
            **_EXECUTION,
            "status": "running",
            "started": "2025-01-31T08:00:00.180000Z",
            "finished": None,
            "duration_ms": None,
            "error": "",
        },
        "409": {
            "detail": "Flow 'Price an order' has no version deployed to Production; publish a version and "
            "deploy it there first."
        },
    },
}


def describe(result: dict, generator, request, public) -> dict:
    """drf-spectacular's postprocessing hook: tags, summaries, descriptions and examples from the tables."""
    result["info"]["description"] = DESCRIPTION
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS]
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            row = OPERATIONS.get(operation.get("operationId"))
            if row is None:
                continue
            operation["tags"] = [row[0]]
            operation["summary"] = row[1]
            if len(row) > 2:
                operation["description"] = row[2]
            else:
                operation.pop("description", None)
            _add_examples(operation, EXAMPLES.get(operation["operationId"], {}))
    return result


def _add_examples(operation: dict, examples: dict[str, dict]) -> None:
    for media_type, value in examples.get("request", {}).items():
        operation["requestBody"]["content"][media_type]["example"] = value
    for status, value in examples.items():
        if status != "request":
            operation["responses"][status].setdefault("content", {}).setdefault("application/json", {})["example"] = (
                value
            )
