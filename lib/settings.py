"""Pitwall's settings: typed defaults, `$PITWALL_HOME/settings.toml`, and environment overrides.

Precedence, lowest first: the default here, the settings file, the environment
(`PITWALL_<SECTION>_<KEY>`, e.g. `PITWALL_JOBS_HEARTBEAT_SECONDS=5`). Secrets (webhook tokens,
later the key ring) never go in settings.toml: they live in `secrets.toml` beside it, readable by
its owner alone (0600), or in the environment. A bad value is refused with one sentence that
names the key and where it came from.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lib import config
from lib.errors import PitwallError
from lib.files import write_atomically
from lib.urls import display_url

SETTINGS_FILE = "settings.toml"
SECRETS_FILE = "secrets.toml"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class SettingsError(PitwallError):
    """A setting cannot be read, parsed or accepted."""


@dataclass(frozen=True)
class Setting:
    """One setting: its dotted key, type, default, bounds and help."""

    key: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False  # kept out of settings.toml, and never shown
    sensitive: bool = False  # shown shortened (a webhook URL carries its token in the path)
    check: Callable[[Any], str | None] | None = None  # returns what is wrong, or None

    @property
    def env_var(self) -> str:
        return "PITWALL_" + self.key.upper().replace(".", "_")


def _url_problem(value: str) -> str | None:
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "must be an http:// or https:// URL, or empty to leave it off"
    return None


SCHEMA: tuple[Setting, ...] = (
    Setting("logging.level", str, "INFO", "Lowest level written to stderr and the log file.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Setting("logging.file_max_mb", int, 10, "Size at which the log file is rotated (MB).", minimum=1, maximum=1024),
    Setting("logging.file_backups", int, 5, "Rotated log files kept.", minimum=0, maximum=100),
    Setting("jobs.heartbeat_seconds", float, 2.0, "How often a running job says it is alive.", minimum=0.2,
            maximum=60),
    Setting("jobs.stale_after_seconds", float, 30.0,
            "A running job silent this long (its process died) is shown as interrupted.", minimum=5, maximum=3600),
    Setting("jobs.model_jobs_per_device", int, 1,
            "Model jobs (perplexity, evaluation) run at once per device; more queue.", minimum=1, maximum=16),
    Setting("jobs.other_jobs", int, 2, "Other jobs (profiling, load tests) run at once per kind; more queue.",
            minimum=1, maximum=64),
    Setting("jobs.keep_days", int, 30, "Finished jobs older than this are removed from the job list.", minimum=1),
    Setting("alerts.webhook_url", str, "",
            "POST alert notifications here as JSON (Slack-compatible `text` field); empty sends none.",
            check=_url_problem, sensitive=True),
    Setting("alerts.webhook_token", str, "", "Bearer token sent with each webhook (a secret: secrets.toml or env).",
            secret=True),
    Setting("alerts.webhook_timeout_seconds", float, 5.0, "How long one webhook attempt may take.", minimum=0.1,
            maximum=60),
    Setting("alerts.webhook_retries", int, 3, "Further attempts after a failed webhook, with growing waits.",
            minimum=0, maximum=10),
    Setting("retention.raw_hours", float, 24.0, "Raw samples (1 Hz GPU metrics) kept this many hours.", minimum=1),
    Setting("retention.rollup_days", float, 30.0, "One-minute rollups kept this many days.", minimum=1),
    Setting("gpu.sample_interval_seconds", float, 1.0, "Seconds between GPU samples.", minimum=0.1, maximum=3600),
    Setting("gpu.memory_warning_percent", float, 90.0, "GPU memory use that warns.", minimum=1, maximum=100),
    Setting("gpu.memory_critical_percent", float, 97.0, "GPU memory use that is critical.", minimum=1, maximum=100),
    Setting("gpu.temperature_margin_c", float, 5.0, "Warn this many degrees below the GPU's slowdown temperature.",
            minimum=0, maximum=50),
    Setting("gpu.power_cap_seconds", float, 30.0,
            "Warn when a GPU draws at least 98% of its power limit for this long.", minimum=0, maximum=3600),
    Setting("gpu.collect_in_server", bool, True,
            "The dashboard server samples GPUs in the background (off: run `python -m lib gpu collect` instead)."),
    Setting("gpu.prometheus_url", str, "",
            "A Prometheus server to read the fleet view from (pitwall exporters or dcgm-exporter); empty: off.",
            check=_url_problem, sensitive=True),
    Setting("gpu.prometheus_timeout_seconds", float, 5.0, "How long one Prometheus query may take.", minimum=0.1,
            maximum=60),
    Setting("quality.max_file_mb", float, 1024.0, "Largest dataset file (MB) the data quality page and CLI read.",
            minimum=1, maximum=100_000),
    Setting("quality.max_row_mb", float, 10.0,
            "Largest single row (MB of text) profiled; a bigger row is skipped and reported, like a malformed one.",
            minimum=0.01, maximum=10_000),
    # datatrove's 14 bands x 8 rows join any band collision: an S-curve centred at (1/14)^(1/8) = 0.72.
    Setting("quality.near_duplicate_threshold", float, 0.7,
            "Estimated Jaccard similarity of word 5-gram shingles at which two rows are near-duplicates.",
            minimum=0.3, maximum=1.0),
    Setting("quality.sample_rows", int, 100_000,
            "Rows sampled (uniformly) for language and token counts on large datasets; every row for the rest.",
            minimum=1_000),
    Setting("quality.gopher", bool, True, "Apply the Gopher quality and repetition rules."),
    Setting("quality.c4", bool, True, "Apply the C4 rules."),
    Setting("quality.fineweb", bool, True, "Apply the FineWeb rules."),
    Setting("latency.slo_ttft_ms", float, 1000.0, "Time to first token objective (ms).", minimum=1),
    Setting("latency.slo_tpot_ms", float, 100.0, "Time per output token objective (ms).", minimum=0.1),
    Setting("latency.slo_e2e_ms", float, 20000.0, "End-to-end latency objective (ms).", minimum=1),
    Setting("latency.slo_target", float, 0.99, "Share of requests that must meet the objectives.", minimum=0.5,
            maximum=0.99999),
    Setting("latency.slo_window_days", float, 30.0, "Period over which each SLO's error budget is counted (days).",
            minimum=1, maximum=365),
    Setting("latency.keep_days", float, 90.0,
            "Production requests (track, ingest, logs) kept this many days (at least the SLO period); load tests "
            "keep theirs.", minimum=1, maximum=3650),
    Setting("latency.anomaly_z", float, 3.5,
            "Robust z-score (median and MAD of per-minute p95) at which a latency minute is flagged as unusual.",
            minimum=1, maximum=20),
    Setting("latency.ingest_token", str, "",
            "Bearer token applications send to the dashboard's /api/latency/ingest route; empty: the route is off "
            "(create one with `python -m lib latency token`).", secret=True),
    Setting("latency.serve_port", int, 8000, "Loopback port of the local `transformers serve` the page starts.",
            minimum=1024, maximum=65535),
    Setting("evaluation.perplexity_warning_percent", float, 10.0,
            "A rise in perplexity on the same text and model that warns.", minimum=0.1),
    Setting("evaluation.perplexity_critical_percent", float, 25.0,
            "A rise in perplexity on the same text and model that is critical.", minimum=0.1),
    Setting("evaluation.regression_critical_points", float, 5.0,
            "A significant drop of the latest eval run's headline metric (0-100) against the previous run on the "
            "same eval set that is critical; any smaller significant drop warns.", minimum=0.1, maximum=100),
    Setting("models.max_loaded", int, 2,
            "Models kept loaded at once (side-by-side scoring); fewer when memory runs short.", minimum=1,
            maximum=16),
    Setting("models.allowed", list, ["*"],
            "Models users may load: names, hub ids or folders; * and ? are wildcards. [\"*\"] allows any."),
)  # fmt: skip
BY_KEY = {setting.key: setting for setting in SCHEMA}


@dataclass(frozen=True)
class Effective:
    """A setting's value now and where it came from."""

    key: str
    value: Any
    source: str  # default | file | secrets file | environment
    help: str
    secret: bool
    env_var: str

    def to_dict(self) -> dict:
        shown = ("set" if self.value else "not set") if self.secret else self.value
        if BY_KEY[self.key].sensitive and self.value:
            shown = display_url(str(self.value))
        return {"key": self.key, "value": shown, "source": self.source, "env_var": self.env_var, "help": self.help}


@dataclass(frozen=True)
class Settings:
    """Every setting's effective value; `settings["jobs.heartbeat_seconds"]`."""

    entries: dict[str, Effective]
    path: Path
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.entries[key].value

    def with_overrides(self, values: dict[str, Any]) -> Settings:
        """These settings with some values given on the command line (already checked by the caller)."""
        entries = dict(self.entries)
        for key, value in values.items():
            entries[key] = replace(entries[key], value=value, source="command line")
        return replace(self, entries=entries)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "settings": [entry.to_dict() for entry in self.entries.values()],
            "warnings": self.warnings,
        }


def settings_path() -> Path:
    return config.pitwall_home() / SETTINGS_FILE


def secrets_path() -> Path:
    return config.pitwall_home() / SECRETS_FILE


def load_settings() -> Settings:
    """Read the files and the environment now; a bad value raises SettingsError naming its key."""
    path, secrets = settings_path(), secrets_path()
    from_file = _flatten(_read_toml(path), path)
    from_secrets = _flatten(_read_toml(secrets), secrets)
    warnings = []
    for key in from_file:
        if BY_KEY[key].secret:
            raise SettingsError(
                f"{path} holds the secret {key}; move it to {secrets} (readable by you alone) "
                f"or to ${BY_KEY[key].env_var}."
            )
    for key in from_secrets:
        if not BY_KEY[key].secret:
            warnings.append(f"{key} is not a secret; it belongs in {path}, though it is read from {secrets} too.")
    if secrets.exists() and secrets.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(f"{secrets} can be read by other users; run `chmod 600 {secrets}`.")
    entries = {}
    for setting in SCHEMA:
        value, source = setting.default, "default"
        if setting.key in from_file:
            value, source = _coerce(setting, from_file[setting.key], f"{path}"), "file"
        if setting.key in from_secrets:
            value, source = _coerce(setting, from_secrets[setting.key], f"{secrets}"), "secrets file"
        if setting.env_var in os.environ:
            value, source = _coerce(setting, os.environ[setting.env_var], f"${setting.env_var}"), "environment"
        entries[setting.key] = Effective(setting.key, value, source, setting.help, setting.secret, setting.env_var)
    settings = Settings(entries, path, warnings)
    _check_together(settings)
    return settings


def defaults() -> Settings:
    """Every setting at its default: what a page falls back to while settings.toml is broken."""
    entries = {s.key: Effective(s.key, s.default, "default", s.help, s.secret, s.env_var) for s in SCHEMA}
    return Settings(entries, settings_path())


def load_settings_or_defaults() -> tuple[Settings, str | None]:
    """The settings and None; while the files are broken, the defaults and the sentence saying why.

    For what must keep running on a bad edit (logging, the job dispatcher, the Overview).
    """
    try:
        return load_settings(), None
    except SettingsError as error:
        return defaults(), str(error)


def set_setting(key: str, text: str) -> Effective:
    """Validate `text` for `key` and write it to settings.toml (or secrets.toml), keeping the file's comments."""
    import tomlkit

    setting = _known(key, "the command line")
    value = _coerce(setting, text, "the command line")
    path = secrets_path() if setting.secret else settings_path()
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as error:
        raise SettingsError(f"Cannot read {path} ({error}); fix or remove it first.") from error
    section, name = key.split(".", 1)
    if section not in document:
        document[section] = tomlkit.table()
    document[section][name] = value
    _write(path, tomlkit.dumps(document), private=setting.secret)
    return load_settings().entries[key]  # also proves the file as a whole still loads


def _known(key: str, origin: str) -> Setting:
    if key not in BY_KEY:
        close = difflib.get_close_matches(key, BY_KEY, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SettingsError(
            f"{origin} names an unknown setting '{key}'{hint}; `python -m lib settings show` lists them."
        )
    return BY_KEY[key]


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"Cannot read {path} ({error}); check its permissions or remove it.") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML ({error}); fix that line or remove the file.") from error


def _flatten(document: dict, path: Path) -> dict[str, Any]:
    flat = {}
    for section, values in document.items():
        if not isinstance(values, dict):
            raise SettingsError(f"{path}: '{section}' must be a [section] of settings, not a single value.")
        for name, value in values.items():
            key = f"{section}.{name}"
            _known(key, str(path))
            flat[key] = value
    return flat


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """`raw` (TOML value or environment text) as the setting's type, within its bounds."""
    where = f"{setting.key} (from {origin})"
    hide = setting.secret or setting.sensitive  # the sentence goes to screens and logs: never echo the value
    shown = "the value given" if hide else repr(raw)
    value: Any
    if setting.kind is bool:
        text = str(raw).strip().lower()
        if isinstance(raw, bool):
            value = raw
        elif text in TRUE_WORDS | FALSE_WORDS:
            value = text in TRUE_WORDS
        else:
            raise SettingsError(f"{where} must be true or false, not {shown}.")
    elif setting.kind in (int, float):
        if isinstance(raw, bool):
            raise SettingsError(f"{where} must be a number, not {shown}.")
        try:
            value = setting.kind(raw) if setting.kind is float else _as_int(raw)
        except (TypeError, ValueError):
            kind = "a whole number" if setting.kind is int else "a number"
            raise SettingsError(f"{where} must be {kind}, not {shown}.") from None
        if not math.isfinite(value):  # nan passes every comparison, inf every minimum
            raise SettingsError(f"{where} must be a finite number, not {shown}.")
        if setting.minimum is not None and value < setting.minimum:
            raise SettingsError(f"{where} must be at least {setting.minimum:g}, not {shown if hide else repr(value)}.")
        if setting.maximum is not None and value > setting.maximum:
            raise SettingsError(f"{where} must be at most {setting.maximum:g}, not {shown if hide else repr(value)}.")
    elif setting.kind is list:
        if isinstance(raw, str):
            value = [part.strip() for part in raw.split(",") if part.strip()]
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            value = list(raw)
        else:
            raise SettingsError(f"{where} must be a list of strings, not {shown}.")
    else:
        if not isinstance(raw, str):
            raise SettingsError(f"{where} must be text, not {shown}.")
        value = raw.strip()
        if setting.choices:
            value = value.upper() if all(c.isupper() for c in setting.choices) else value
            if value not in setting.choices:
                raise SettingsError(f"{where} must be one of {', '.join(setting.choices)}, not {shown}.")
    if setting.check and (problem := setting.check(value)):
        raise SettingsError(f"{where} {problem}.")
    return value


def _as_int(raw: Any) -> int:
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError(raw)
    return int(raw)


def _check_together(settings: Settings) -> None:
    """Rules between settings, named by the keys involved."""
    if settings["jobs.stale_after_seconds"] < 3 * settings["jobs.heartbeat_seconds"]:
        raise SettingsError(
            "jobs.stale_after_seconds must be at least 3 x jobs.heartbeat_seconds, "
            "or live jobs would be marked interrupted between two heartbeats."
        )
    if settings["gpu.memory_critical_percent"] < settings["gpu.memory_warning_percent"]:
        raise SettingsError("gpu.memory_critical_percent must not be below gpu.memory_warning_percent.")
    if settings["evaluation.perplexity_critical_percent"] < settings["evaluation.perplexity_warning_percent"]:
        raise SettingsError(
            "evaluation.perplexity_critical_percent must not be below evaluation.perplexity_warning_percent."
        )


def _write(path: Path, text: str, private: bool = False) -> None:
    """Replace the file atomically (a crash never leaves half a file); `private` makes it owner-only (0600)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text, 0o600 if private else 0o644)
    except OSError as error:
        raise SettingsError(
            f"Cannot write {path} ({error.strerror or error}); check the folder's permissions."
        ) from error
