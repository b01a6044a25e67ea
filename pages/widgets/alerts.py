"""Alert tables shared by the Overview and each page with rules: what is active now, and what changed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.alerts import AlertEvent
from lib.status import ago


def active_alerts_table(alerts: list[dict]) -> None:
    """Pending and firing series, worst first, with their labels and how long they have been on."""
    st.dataframe(
        pd.DataFrame(
            {
                "alert": alert["rule"],
                "series": ", ".join(f"{key}={value}" for key, value in alert["labels"].items()),
                "state": alert["state"],
                "severity": alert["severity"],
                "value": alert["value"],
                "since": ago(alert["fired_at"] or alert["since"]),
            }
            for alert in alerts
        ),
        hide_index=True,
        width="stretch",
        column_config={"value": st.column_config.NumberColumn(format="%.1f")},
    )


def alert_events_table(events: list[AlertEvent]) -> None:
    """Alerts that fired or resolved, newest first, with what each notifier did."""
    st.dataframe(
        pd.DataFrame(
            {
                "when": pd.to_datetime(event.at, unit="s", utc=True),
                "status": event.status,
                "severity": event.severity,
                "message": event.message,
                "notified": ", ".join(f"{name}: {outcome}" for name, outcome in event.notified.items()),
            }
            for event in events
        ),
        hide_index=True,
        width="stretch",
        column_config={"when": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss z")},
    )
