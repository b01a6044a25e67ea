"""Logging, set up once per process for the server and the CLI; error ids shared by the page and the log.

Records go to stderr and to a rotating file, `$PITWALL_HOME/logs/pitwall.log`, at the level in
settings. An unexpected exception is logged with its traceback under a short id, and the user is
shown one sentence carrying the same id, so a report of "error 3f9c2a1b" finds its traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import secrets
import sys
import threading
from pathlib import Path

from lib import config

LOGGER = "pitwall"
LOG_FILE = "pitwall.log"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d %(threadName)s] %(message)s"
_lock = threading.Lock()
_configured_for: tuple | None = None
_last_setup: tuple[str, bool] = ("cli", True)
log = logging.getLogger(LOGGER)


def log_path() -> Path:
    """The current log file under PITWALL_HOME."""
    return config.pitwall_home() / "logs" / LOG_FILE


def setup_logging(process: str = "cli", stderr: bool = True) -> Path | None:
    """Configure the `pitwall` logger once per (home, process kind); return the log file, or None if unwritable.

    Settings that cannot be read fall back to their defaults here (and say so in the log): the
    logging of a broken configuration must still work.
    """
    global _configured_for, _last_setup
    from lib.settings import load_settings_or_defaults

    _last_setup = (process, stderr)
    settings, problem = load_settings_or_defaults()
    level, max_mb, backups = (
        settings["logging.level"],
        settings["logging.file_max_mb"],
        settings["logging.file_backups"],
    )
    path = log_path()
    key = (str(path), process, level, max_mb, backups, stderr)
    with _lock:
        if _configured_for == key:
            return path
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        log.setLevel(level)
        log.propagate = False
        formatter = logging.Formatter(FORMAT)
        if stderr:
            console = logging.StreamHandler(sys.stderr)
            console.setFormatter(formatter)
            # A CLI's stderr is the user's screen: only warnings there; the file has everything.
            console.setLevel(level if process == "server" else max(logging.WARNING, logging.getLevelName(level)))
            log.addHandler(console)
        written: Path | None = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_mb * 2**20, backupCount=backups, encoding="utf-8", delay=True
            )
            file_handler.setFormatter(formatter)
            log.addHandler(file_handler)
        except OSError:
            written = None
        _configured_for = key
    if problem:
        # A command reports the problem itself, in its one sentence; the file keeps this note either way.
        level_for_problem = logging.WARNING if process == "server" else logging.INFO
        log.log(level_for_problem, "settings could not be read, logging with defaults: %s", problem)
    return written


def ensure_logging() -> None:
    """Set up logging if it is not, or re-point it if PITWALL_HOME moved (tests, a library caller)."""
    if _configured_for is None or _configured_for[0] != str(log_path()):
        setup_logging(*_last_setup)


def new_error_id() -> str:
    """A short id that a user can read out and an engineer can grep for."""
    return secrets.token_hex(4)


def log_unexpected(error: BaseException, action: str, logger: logging.Logger | None = None) -> str:
    """Log `error` with its traceback under a new error id; return the id for the user's sentence."""
    ensure_logging()
    error_id = new_error_id()
    (logger or log).error("[error %s] %s failed", error_id, action, exc_info=error)
    return error_id


def unexpected_sentence(action: str, error: BaseException, error_id: str) -> str:
    """The one sentence a user sees for a bug: what failed, its type, the id to report."""
    return f"{action} failed unexpectedly ({type(error).__name__}); the log has the details under error id {error_id}."
