"""What a job is: its states, the record the store keeps, and the cancellation signal."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from lib.errors import PitwallError

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
SERVER, CLI = "server", "cli"  # who runs it: any server's workers, or the terminal that started it


class JobCancelled(PitwallError):
    """Raised inside a job (by its progress callback) when someone asked it to stop."""

    def __init__(self, job_id: int, kept: str = "nothing was stored"):
        super().__init__(f"Job #{job_id} was stopped (from the dashboard or `python -m lib jobs cancel`); {kept}.")
        self.job_id = job_id


@dataclass(frozen=True)
class Job:
    """One job as the store holds it; `to_dict()` is `python -m lib jobs show --json`."""

    id: int
    kind: str
    title: str
    params: dict
    state: str
    resource: str
    runner: str
    owner: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    heartbeat_at: float | None
    progress_done: int
    progress_total: int
    progress_message: str
    cancel_requested: bool
    result: dict | None
    error: str | None
    error_id: str | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float | None:
        """Share of the work done, or None while the total is unknown."""
        if self.progress_total <= 0:
            return None
        return min(1.0, self.progress_done / self.progress_total)

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds it has run (until now, or until it finished)."""
        if self.started_at is None:
            return None
        return (self.finished_at or now or time.time()) - self.started_at

    @property
    def result_note(self) -> str:
        """What it made, for people: `eval run #12`."""
        return ", ".join(f"{name.replace('_', ' ')} #{value}" for name, value in (self.result or {}).items())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"fraction": self.fraction, "elapsed_seconds": self.elapsed()}

    @classmethod
    def from_row(cls, row: Any) -> Job:
        return cls(
            id=row["id"], kind=row["kind"], title=row["title"], params=json.loads(row["params"]), state=row["state"],
            resource=row["resource"], runner=row["runner"], owner=row["owner"], created_at=row["created_at"],
            started_at=row["started_at"], finished_at=row["finished_at"], heartbeat_at=row["heartbeat_at"],
            progress_done=row["progress_done"], progress_total=row["progress_total"],
            progress_message=row["progress_message"], cancel_requested=bool(row["cancel_requested"]),
            result=json.loads(row["result"]) if row["result"] else None, error=row["error"], error_id=row["error_id"],
        )  # fmt: skip
