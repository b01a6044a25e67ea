"""Telling processes apart across the machine: who owns a job or a lease, and whether it still runs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST = socket.gethostname()


def this_owner() -> str:
    """host:pid:start of this process (the start time tells a reused pid apart)."""
    return f"{HOST}:{os.getpid()}:{process_start(os.getpid())}"


def process_start(pid: int) -> str:
    """When the process started, in clock ticks since boot (Linux); "" where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of proc(5); the name before ")" may hold spaces


def owner_is_alive_here(owner: str | None) -> bool | None:
    """True or False for a process on this machine; None for another machine's (only its heartbeat can tell)."""
    host, pid, start = [*(owner or "").split(":"), "", ""][:3]
    if host != HOST or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not start or process_start(int(pid)) in ("", start)  # a reused pid is another process
