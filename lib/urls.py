"""URLs for people and for requests: shown without what they may hide, credentials split off, failures named."""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit, urlunsplit

from lib.errors import first_line


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


def split_credentials(url: str) -> tuple[str, str]:
    """`url` without user:password@, and those credentials for HTTP Basic auth (base64), or ""."""
    try:
        parts = urlsplit(url)
        if parts.username is None:
            return url, ""
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return url, ""  # refused with its sentence when the request is built
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urlunsplit(parts._replace(netloc=host)), base64.b64encode(pair.encode("utf-8")).decode("ascii")


def network_reason(reason: object) -> str:
    """A short phrase for a connection-level failure: `timed out`, `connection refused`, ..."""
    if isinstance(reason, TimeoutError) or "timed out" in str(reason).lower():
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return first_line(reason) if isinstance(reason, BaseException) else str(reason).rstrip(".")
