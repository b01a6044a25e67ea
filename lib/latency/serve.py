"""A local OpenAI-compatible endpoint in one click: `transformers serve` as a managed subprocess.

`transformers serve FOLDER` (transformers 5.x) loads the model at start-up and pins the server to it: a
request naming another model is refused (HTTP 400), one naming none gets it. The model is named by the
folder path, which is also what requests send as `model`. The server listens only on 127.0.0.1, answers
GET /health with 200 once the model is loaded, streams chat completions and puts `usage` on the last
chunk of every stream (it ignores `stream_options`). It never downloads: HF_HUB_OFFLINE=1 in its
environment; a hub model is fetched by Pitwall first (`lib.models.loader.model_folder`, which honours
`models.allowed`), so the server only ever reads a local folder.

One server at a time, recorded in $PITWALL_HOME/serve.json, so the page after a rerun, another session
and the CLI all find it; its output goes to $PITWALL_HOME/logs/serve-<port>.log. It runs in its own
process group (and session), so stopping it ends its children too, and it outlives the process that
started it. A recorded pid is trusted only with its start time (`lib.processes`): a reused pid is
another program, never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from lib import config
from lib.errors import InputError, PitwallError
from lib.files import write_atomically
from lib.processes import HOST, PID_NAMESPACE, owner_is_alive_here, process_start, this_owner

HOST_ADDRESS = "127.0.0.1"  # loopback only: the server has no authentication
DEFAULT_PORT = 8000  # transformers serve's own default; a free port is chosen when it is taken
STATE_FILE = "serve.json"
STATES = ("starting", "ready", "exited")
_children: dict[int, subprocess.Popen] = {}  # servers this process started, so their exit is reaped


@dataclass
class ServeInfo:
    """The managed server: where it listens, which model it serves under what name, and whether it is up."""

    pid: int
    port: int
    url: str  # base URL, http://127.0.0.1:PORT (the OpenAI API is under /v1)
    model: str  # the name requests send as `model`
    model_spec: str
    log_path: str
    started_at: float
    state: str = "starting"  # starting | ready | exited
    owner: str = ""  # host:pid:start:namespace, so a reused pid is not taken for the server
    started_by: str = ""  # the same of the process that started it: a dashboard stops its own server on exit

    def to_dict(self) -> dict:
        """The state file's (and `--json`'s) shape."""
        return asdict(self)


def state_path() -> Path:
    """The state file under PITWALL_HOME."""
    return config.pitwall_home() / STATE_FILE


def log_path_for(port: int) -> Path:
    """The server's log file for `port`."""
    return config.pitwall_home() / "logs" / f"serve-{port}.log"


def start_serve(model_spec: str, port: int | None = None, wait_s: float = 120) -> ServeInfo:
    """Start `transformers serve` for `model_spec` on 127.0.0.1 and wait until it answers /health."""
    from lib.models.loader import model_folder

    if port is not None and not 1 <= port <= 65535:
        raise InputError(f"The port must be between 1 and 65535 (got {port}); leave it empty for a free one.")
    folder = model_folder(model_spec)  # converts the embedded model or fetches a hub one, before the server
    home = config.pitwall_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".serve.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two clicks at once start one server
        current = serve_status()
        if current is not None and current.state != "exited":
            if current.model_spec != model_spec or (port is not None and port != current.port):
                raise InputError(
                    f"transformers serve already runs {current.model_spec} on port {current.port}; "
                    "stop it first, or use it as it is."
                )
            started = current
        else:
            if port is None:
                port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port()
            elif not _port_free(port):
                raise InputError(
                    f"Port {port} on {HOST_ADDRESS} is already in use by another program; "
                    "choose another port or leave it empty for a free one."
                )
            started = _spawn(model_spec, str(folder), port)
    if started.state == "ready":
        return started
    if wait_ready(started.url, wait_s, alive=lambda: _alive(started)):
        ready = replace(started, state="ready")
        recorded = serve_status()
        if recorded is not None and recorded.pid == started.pid:  # not stopped (nor replaced) meanwhile
            _write_state(ready)
        return ready
    raise _failed(started, wait_s)


def wait_ready(url: str, timeout_s: float, alive: Callable[[], bool] | None = None) -> bool:
    """Poll GET {url}/health until it answers 200 (True), or `timeout_s` passes or `alive()` is False (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if alive is not None and not alive():
            return False
        if _healthy(url, timeout=min(2.0, max(0.1, deadline - time.monotonic()))):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def serve_status() -> ServeInfo | None:
    """The managed server as recorded in serve.json, its state brought up to date; None when there is none."""
    try:
        data = json.loads(state_path().read_text())
        known = {item.name for item in fields(ServeInfo)}
        info = ServeInfo(**{key: value for key, value in data.items() if key in known})
    except (OSError, ValueError, TypeError):
        return None  # never started, stopped, or a damaged file: no server to show
    if not _alive(info):
        return replace(info, state="exited")
    if info.state == "starting" and _healthy(info.url, timeout=1.0):
        return replace(info, state="ready")  # another process started it and may still be waiting
    return info


def stop_serve(timeout_s: float = 10) -> bool:
    """Stop the managed server and its children (TERM, then KILL); True when one was running."""
    info = serve_status()
    if info is None:
        return False
    running = info.state != "exited"
    if running:
        _signal_group(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(info) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The group is ours even once its leader is gone: Linux never hands out a pid still in use as a group id.
        _signal_group(info.pid, signal.SIGKILL)
        _wait_gone(info, 5.0)
    _children.pop(info.pid, None)
    state_path().unlink(missing_ok=True)
    return running


def stop_own_serve() -> bool:
    """Stop the managed server if this process started it (the dashboard's shutdown); True when one was stopped."""
    info = serve_status()
    if info is None or info.started_by != this_owner():
        return False
    return stop_serve()


def serve_command(folder: str, port: int) -> list[str]:
    """The command line: this Python's `transformers serve`, pinned to the model folder, on loopback."""
    return [
        sys.executable, "-m", "transformers.cli.transformers", "serve", folder,
        "--host", HOST_ADDRESS, "--port", str(port),
    ]  # fmt: skip


def _spawn(model_spec: str, folder: str, port: int) -> ServeInfo:
    log = log_path_for(port)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = serve_command(folder, port)
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    try:
        with log.open("w") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,  # its own process group: stopping it stops its children
            )
    except OSError as error:
        raise PitwallError(f"Could not start transformers serve ({error.strerror or error}); see {log}.") from None
    _children[process.pid] = process
    owner = f"{HOST}:{process.pid}:{process_start(process.pid)}:{PID_NAMESPACE}"
    info = ServeInfo(
        pid=process.pid,
        port=port,
        url=f"http://{HOST_ADDRESS}:{port}",
        model=folder,  # the server is pinned to this name
        model_spec=model_spec,
        log_path=str(log),
        started_at=time.time(),
        owner=owner,
        started_by=this_owner(),
    )
    _write_state(info)
    return info


def _failed(info: ServeInfo, wait_s: float) -> PitwallError:
    """The one sentence for a server that exited, or never became ready (which is stopped)."""
    process = _children.get(info.pid)
    code = process.poll() if process is not None else None
    if code is None and _alive(info):
        stop_serve()
        return PitwallError(
            f"transformers serve did not answer {info.url}/health within {wait_s:g} s and was stopped; "
            f"see {info.log_path}."
        )
    stop_serve()  # removes the state file of the exited server
    last = _last_line(Path(info.log_path))
    exited = "transformers serve exited" + (f" with code {code}" if code is not None else "") + " before it was ready"
    return PitwallError(f"{exited} ({last}); see {info.log_path}." if last else f"{exited}; see {info.log_path}.")


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 8192))
            lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    text = next((line for line in reversed(lines) if line), "")
    return text.rstrip(".")[:300]


def _write_state(info: ServeInfo) -> None:
    write_atomically(state_path(), json.dumps(info.to_dict(), indent=2))


def _alive(info: ServeInfo) -> bool:
    """Whether the recorded server process still runs (not exited, not a zombie, not a reused pid)."""
    child = _children.get(info.pid)
    if child is not None and child.poll() is not None:
        return False  # ours, and reaped now
    if owner_is_alive_here(info.owner) is not True:
        return False  # gone, a reused pid, or another machine's (which this one cannot manage)
    return not _zombie(info.pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _signal_group(pid: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signal_number)


def _wait_gone(info: ServeInfo, timeout_s: float) -> None:
    child = _children.get(info.pid)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout_s)
        return
    deadline = time.monotonic() + timeout_s
    while _alive(info) and time.monotonic() < deadline:
        time.sleep(0.05)


def _healthy(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a stopped server is free, a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST_ADDRESS, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST_ADDRESS, 0))
        return sock.getsockname()[1]
