"""One LLM request as measured (a load test, a probe, an application's track() call, a log line), and its store.

Times follow vLLM's `bench serve`: TTFT is request start to the first chunk with content, ITL the gaps
between later chunks, E2EL request start to the last chunk, TPOT = (E2EL - TTFT) / (output tokens - 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where frames are built: the GPU machine's python3 (probe) has none
    import pandas as pd

    from lib.store import Store

# What went wrong with a request, one word each; the load test counts failures per kind.
ERROR_KINDS: dict[str, str] = {
    "invalid_url": "the endpoint is not an http(s) URL",
    "unreachable": "nothing answered at the endpoint (connection refused, unknown host)",
    "timeout": "no answer within the request timeout",
    "not_found": "HTTP 404: wrong path, or a model the server does not serve",
    "unauthorized": "HTTP 401/403: the API key is missing or wrong",
    "http_4xx": "the server refused the request (another 4xx)",
    "http_5xx": "the server failed (5xx)",
    "not_sse": "the answer was not a server-sent event stream",
    "malformed": "a stream event was not the JSON an OpenAI-compatible server sends",
    "dropped": "the connection closed before the stream ended",
    "no_content": "the stream ended without any generated text",
    "server_error": "the stream carried an error event",
    "model_error": "the model failed in-process (out of memory, bad input)",
    "app_error": "the application's call raised (track)",
}
SOURCES = ("loadtest", "probe", "track", "http", "ingest")
COLUMNS = (
    "run_id", "source", "started_at", "model", "endpoint", "ok", "ttft_ms", "e2el_ms", "tpot_ms", "itl_ms",
    "input_tokens", "output_tokens", "error_kind", "error", "status_code", "feedback", "request_id", "user",
)  # fmt: skip
INSERT_SQL = f"INSERT INTO latency_requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def tpot_of(ttft_ms: float | None, e2el_ms: float | None, output_tokens: int | None) -> float | None:
    """TPOT = (E2EL - TTFT) / (output tokens - 1); None for one token or less (vLLM leaves those out)."""
    if ttft_ms is None or e2el_ms is None or output_tokens is None or output_tokens < 2:
        return None
    return (e2el_ms - ttft_ms) / (output_tokens - 1)


def score_feedback(score: float, scale: tuple[float, float] = (1, 5)) -> float:
    """A score on `scale` as 0-1: (score - low) / (high - low); ValueError outside the scale."""
    low, high = float(scale[0]), float(scale[1])
    if not high > low or not low <= float(score) <= high:
        raise ValueError(f"score {score} is outside the scale {low:g}-{high:g}")
    return (float(score) - low) / (high - low)


@dataclass
class RequestRecord:
    """One request: when it started (unix seconds), whether it succeeded, its times (ms) and tokens."""

    started_at: float
    ok: bool
    ttft_ms: float | None = None
    e2el_ms: float | None = None
    tpot_ms: float | None = None  # computed from the others when not given
    itl_ms: list[float] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str = ""
    endpoint: str = ""
    error_kind: str = ""
    error: str = ""
    status_code: int | None = None
    feedback: float | None = None  # user satisfaction 0-1 (thumbs up 1, down 0; a 1-5 score as (s - 1) / 4)
    request_id: str | None = None
    user: str = ""
    source: str = "loadtest"
    output_text: str = field(default="", repr=False)  # kept in memory (token counting), never stored

    def __post_init__(self) -> None:
        if self.tpot_ms is None:
            self.tpot_ms = tpot_of(self.ttft_ms, self.e2el_ms, self.output_tokens)

    def to_dict(self) -> dict:
        """The record as plain data (the per-request JSONL export), without the generated text."""
        data = asdict(self)
        data.pop("output_text")
        return data

    def row(self, run_id: int | None) -> tuple:
        """The record as a latency_requests row."""
        return (
            run_id, self.source, float(self.started_at), self.model, self.endpoint, int(bool(self.ok)),
            self.ttft_ms, self.e2el_ms, self.tpot_ms, json.dumps(self.itl_ms) if self.itl_ms else None,
            self.input_tokens, self.output_tokens, self.error_kind, self.error, self.status_code, self.feedback,
            self.request_id, self.user,
        )  # fmt: skip


def record_from_row(row: dict) -> RequestRecord:
    """A latency_requests row back as a record."""
    return RequestRecord(
        started_at=row["started_at"], ok=bool(row["ok"]), ttft_ms=row["ttft_ms"], e2el_ms=row["e2el_ms"],
        tpot_ms=row["tpot_ms"], itl_ms=json.loads(row["itl_ms"]) if row["itl_ms"] else [],
        input_tokens=row["input_tokens"], output_tokens=row["output_tokens"], model=row["model"],
        endpoint=row["endpoint"], error_kind=row["error_kind"], error=row["error"], status_code=row["status_code"],
        feedback=row["feedback"], request_id=row["request_id"], user=row["user"], source=row["source"],
    )  # fmt: skip


def save_records(store: Store, records: Iterable[RequestRecord], run_id: int | None = None) -> int:
    """Store records; one whose request_id is already stored is skipped (a retried batch). Returns how many were new."""
    rows = [record.row(run_id) for record in records]
    if not rows:
        return 0
    with store.write() as conn:
        before = conn.total_changes
        conn.executemany(INSERT_SQL.replace("INSERT", "INSERT OR IGNORE", 1), rows)
        return conn.total_changes - before


def set_feedback(store: Store, request_id: str, feedback: float) -> bool:
    """Attach a user's satisfaction (0-1) to a stored request; False when no request has that id."""
    with store.write() as conn:
        cursor = conn.execute("UPDATE latency_requests SET feedback = ? WHERE request_id = ?", (feedback, request_id))
        return cursor.rowcount > 0


def run_records(store: Store, run_id: int) -> list[RequestRecord]:
    """Every request of one load test or probe, in the order they started."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM latency_requests WHERE run_id = ? ORDER BY started_at, id", (run_id,)
        ).fetchall()
    return [record_from_row(dict(row)) for row in rows]


FRAME_COLUMNS = (
    "started_at", "source", "model", "endpoint", "ok", "ttft_ms", "e2el_ms", "tpot_ms", "input_tokens",
    "output_tokens", "error_kind", "status_code", "feedback", "user",
)  # fmt: skip


def production_frame(
    store: Store,
    since: float | None = None,
    until: float | None = None,
    sources: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Production requests (track, HTTP ingest, logs) in a time range as a frame, oldest first; `time` is UTC."""
    import pandas as pd

    clauses, params = ["run_id IS NULL"], []
    if since is not None:
        clauses.append("started_at >= ?")
        params.append(float(since))
    if until is not None:
        clauses.append("started_at < ?")
        params.append(float(until))
    for column, values in (("source", sources), ("model", models)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    query = f"SELECT {', '.join(FRAME_COLUMNS)} FROM latency_requests WHERE {' AND '.join(clauses)} ORDER BY started_at"
    with store.read() as conn:
        rows = conn.execute(query, params).fetchall()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(FRAME_COLUMNS))
    frame["ok"] = frame["ok"].astype(bool)
    for column in ("ttft_ms", "e2el_ms", "tpot_ms", "feedback", "input_tokens", "output_tokens"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["time"] = pd.to_datetime(frame["started_at"], unit="s", utc=True)
    return frame


def production_span(store: Store) -> tuple[float, float] | None:
    """The first and last start time of stored production requests, or None when there are none."""
    with store.read() as conn:
        first, last = conn.execute(
            "SELECT MIN(started_at), MAX(started_at) FROM latency_requests WHERE run_id IS NULL"
        ).fetchone()
    return None if first is None else (float(first), float(last))


def production_models(store: Store) -> list[str]:
    """Every model named by stored production requests, most requests first."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT model FROM latency_requests WHERE run_id IS NULL GROUP BY model ORDER BY COUNT(*) DESC"
        ).fetchall()
    return [row[0] for row in rows]
