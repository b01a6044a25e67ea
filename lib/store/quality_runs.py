"""Typed access to the `quality_runs` and `quality_rule_sets` tables: profiled datasets and named rule sets."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from lib import jsonsafe
from lib.errors import InputError
from lib.store.db import Store

MAX_NAME_CHARACTERS = 100

_RUN_COLUMNS = (
    "id, created_at, dataset, sha256, format, rows, text_column, stored_path, rule_set, rules_passed, settings, summary"
)


@dataclass(frozen=True)
class QualityRun:
    """A stored profile of one dataset; `summary` holds the headline counts, `detail` the findings."""

    id: int
    created_at: str
    dataset: str  # the file's name as uploaded
    sha256: str
    format: str
    rows: int
    text_column: str
    stored_path: str | None  # the kept copy's absolute path (PITWALL_HOME/datasets/<sha256><ext>), or None
    rule_set: str | None  # the rule set checked, or None
    rules_passed: bool | None  # None when no rules were checked
    settings: dict
    summary: dict
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StoredRuleSet:
    """A named rule set, kept as the YAML the user wrote."""

    name: str
    yaml: str
    created_at: str
    updated_at: str

    def to_dict(self) -> dict:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- rule sets


def save_rule_set(store: Store, name: str, yaml_text: str) -> StoredRuleSet:
    """Check the YAML, then store it under `name` (replacing one of that name); a bad rule set stores nothing."""
    from lib.quality.rules import parse_rule_set  # lib.quality imports pandas; the store alone should not

    name = _checked_name(name)
    parse_rule_set(yaml_text, name)  # raises InputError, naming the rule, before anything is written
    now = _now()
    with store.write() as conn:
        conn.execute(
            "INSERT INTO quality_rule_sets (name, yaml, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET yaml = excluded.yaml, updated_at = excluded.updated_at",
            (name, yaml_text, now, now),
        )
        row = conn.execute("SELECT * FROM quality_rule_sets WHERE name = ?", (name,)).fetchone()
    return _rule_set(row)


def _checked_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InputError("A rule set needs a name; give it one, e.g. `fine-tuning`.")
    if len(cleaned) > MAX_NAME_CHARACTERS or any(not char.isprintable() for char in cleaned):
        raise InputError(
            f"A rule set's name must be printable text of at most {MAX_NAME_CHARACTERS} characters; shorten it."
        )
    return cleaned


def list_rule_sets(store: Store) -> list[StoredRuleSet]:
    """Every stored rule set, by name."""
    with store.read() as conn:
        rows = conn.execute("SELECT * FROM quality_rule_sets ORDER BY name").fetchall()
    return [_rule_set(row) for row in rows]


def get_rule_set(store: Store, name: str) -> StoredRuleSet | None:
    """One rule set by name, or None."""
    with store.read() as conn:
        row = conn.execute("SELECT * FROM quality_rule_sets WHERE name = ?", ((name or "").strip(),)).fetchone()
    return None if row is None else _rule_set(row)


def delete_rule_set(store: Store, name: str) -> bool:
    """Remove a rule set; False when there was none of that name. Runs keep the name they were checked with."""
    with store.write() as conn:
        cursor = conn.execute("DELETE FROM quality_rule_sets WHERE name = ?", ((name or "").strip(),))
    return cursor.rowcount > 0


def _rule_set(row: sqlite3.Row) -> StoredRuleSet:
    return StoredRuleSet(row["name"], row["yaml"], row["created_at"], row["updated_at"])


# ---------------------------------------------------------------------------------------------- runs


def insert_quality_run(
    store: Store,
    *,
    dataset: str,
    sha256: str,
    format: str,
    rows: int,
    text_column: str,
    settings: dict,
    summary: dict,
    detail: dict,
    stored_path: str | None = None,
    rule_set: str | None = None,
    rules_passed: bool | None = None,
) -> QualityRun:
    """Store a finished profile and return it with its id; NaN and infinity are stored as null with a reason."""
    created_at = _now()
    settings_json, summary_json = jsonsafe.dumps(settings), jsonsafe.dumps(summary)
    detail_json = jsonsafe.dumps(detail)
    passed = None if rules_passed is None else int(bool(rules_passed))
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO quality_runs (created_at, dataset, sha256, format, rows, text_column, stored_path, "
            "rule_set, rules_passed, settings, summary, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                created_at, dataset, sha256, format, int(rows), text_column, stored_path, rule_set, passed,
                settings_json, summary_json, detail_json,
            ),
        )  # fmt: skip
        run_id = cursor.lastrowid
    return QualityRun(
        run_id, created_at, dataset, sha256, format, int(rows), text_column, stored_path, rule_set,
        None if passed is None else bool(passed), json.loads(settings_json), json.loads(summary_json),
        json.loads(detail_json),
    )  # fmt: skip


def list_quality_runs(store: Store, limit: int = 500) -> list[QualityRun]:
    """Newest first, without the (possibly large) detail."""
    with store.read() as conn:
        rows = conn.execute(f"SELECT {_RUN_COLUMNS} FROM quality_runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_run(row) for row in rows]


def get_quality_run(store: Store, run_id: int) -> QualityRun | None:
    """One run with its detail, or None if there is no such id."""
    with store.read() as conn:
        row = conn.execute(f"SELECT {_RUN_COLUMNS}, detail FROM quality_runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else _run(row)


def latest_quality_run(store: Store, with_detail: bool = False) -> QualityRun | None:
    """The newest run (without its detail unless asked: the Overview needs only the summary), or None."""
    columns = f"{_RUN_COLUMNS}, detail" if with_detail else _RUN_COLUMNS
    with store.read() as conn:
        row = conn.execute(f"SELECT {columns} FROM quality_runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else _run(row)


def _run(row: sqlite3.Row) -> QualityRun:
    passed = row["rules_passed"]
    detail = json.loads(row["detail"]) if "detail" in row.keys() else {}  # noqa: SIM118 (sqlite3.Row has no __contains__ by name)
    return QualityRun(
        row["id"], row["created_at"], row["dataset"], row["sha256"], row["format"], row["rows"], row["text_column"],
        row["stored_path"], row["rule_set"], None if passed is None else bool(passed), json.loads(row["settings"]),
        json.loads(row["summary"]), detail,
    )  # fmt: skip
