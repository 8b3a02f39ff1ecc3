"""Plain sentences for people: one formatter for a change or an alert, used by every channel, the API,
the realtime messages and the CLI. Pure functions over the JSON form of a change or an alert (what the
API, the bus and an alert's change summaries carry), so any layer can import it."""

from techscaniq.wording.alerts import alert_title, describe_alert
from techscaniq.wording.changes import describe_change
from techscaniq.wording.documents import with_alert_summary, with_change_summary
from techscaniq.wording.names import finding_title, header_name, metric_name, metric_value

__all__ = [
    "alert_title", "describe_alert", "describe_change", "finding_title", "header_name", "metric_name",
    "metric_value", "with_alert_summary", "with_change_summary",
]
