"""Leases: one process at a time does a singleton task (the GPU collector), and another takes over if it dies.

A holder renews its lease well before it expires. Another process may take the lease once it has
expired, or at once when its holder is a process of this machine that has exited (its pid and
start time say so), so a crashed collector is replaced within one tick instead of one lease.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from lib.processes import owner_is_alive_here, this_owner
from lib.store.db import Store


@dataclass(frozen=True)
class Lease:
    """Who holds a lease, since when, and until when."""

    name: str
    owner: str
    acquired_at: float
    renewed_at: float
    expires_at: float
    detail: dict

    def to_dict(self) -> dict:
        return asdict(self)


def acquire(
    store: Store,
    name: str,
    ttl_seconds: float,
    detail: dict | None = None,
    owner: str | None = None,
    now: float | None = None,
) -> bool:
    """Take or renew the lease `name` for `ttl_seconds`; False when another live holder has it."""
    owner = owner or this_owner()
    now = time.time() if now is None else now
    with store.write() as conn:
        row = conn.execute("SELECT owner, acquired_at, expires_at FROM leases WHERE name = ?", (name,)).fetchone()
        if row is not None and row["owner"] != owner:
            held = row["expires_at"] > now and owner_is_alive_here(row["owner"]) is not False
            if held:
                return False
        acquired_at = row["acquired_at"] if row is not None and row["owner"] == owner else now
        conn.execute(
            "INSERT INTO leases (name, owner, acquired_at, renewed_at, expires_at, detail) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at, "
            "renewed_at = excluded.renewed_at, expires_at = excluded.expires_at, detail = excluded.detail",
            (name, owner, acquired_at, now, now + ttl_seconds, json.dumps(detail or {})),
        )
    return True


def release(store: Store, name: str, owner: str | None = None) -> None:
    """Give the lease up, if this owner holds it."""
    with store.write() as conn:
        conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner or this_owner()))


def holder(store: Store, name: str, now: float | None = None) -> Lease | None:
    """The live holder of `name`, or None when nobody holds it (or the holder is gone)."""
    now = time.time() if now is None else now
    with store.read() as conn:
        row = conn.execute("SELECT * FROM leases WHERE name = ?", (name,)).fetchone()
    if row is None or row["expires_at"] <= now or owner_is_alive_here(row["owner"]) is False:
        return None
    return Lease(
        row["name"],
        row["owner"],
        row["acquired_at"],
        row["renewed_at"],
        row["expires_at"],
        json.loads(row["detail"] or "{}"),
    )
