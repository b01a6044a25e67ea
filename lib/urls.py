"""Showing a URL without what it may hide: credentials, a token in the path (Slack, Teams, Discord), a query."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def display_url(url: str) -> str:
    """`https://hooks.slack.com/…`: scheme, host and port only; whatever follows may be a secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    if port:
        host = f"{host}:{port}"
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return urlunsplit((parts.scheme, host, "", "", "")) + hidden
