"""Telling processes apart across the machine: who owns a job or a lease, and whether it still runs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST = socket.gethostname()


def _pid_namespace() -> str:
    """This process's PID namespace (an inode number); containers on one host share a hostname, not this."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


PID_NAMESPACE = _pid_namespace()


def this_owner() -> str:
    """host:pid:start:pid-namespace of this process (the start time tells a reused pid apart)."""
    return f"{HOST}:{os.getpid()}:{process_start(os.getpid())}:{PID_NAMESPACE}"


def process_start(pid: int) -> str:
    """When the process started, in clock ticks since boot (Linux); "" where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of proc(5); the name before ")" may hold spaces


def owner_is_alive_here(owner: str | None) -> bool | None:
    """True or False for a process of this machine and PID namespace; None where only a heartbeat can tell.

    Two containers may share a hostname (host networking) but not PIDs: a PID seen from another
    namespace says nothing, so such an owner counts as unknown, not dead.
    """
    host, pid, start, namespace = [*(owner or "").split(":"), "", "", ""][:4]
    if host != HOST or not pid.isdigit() or (namespace and namespace != PID_NAMESPACE):
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not start or process_start(int(pid)) in ("", start)  # a reused pid is another process
