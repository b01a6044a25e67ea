"""Where track() records go: a bounded queue emptied by one daemon thread, into the local store or over HTTP.

The application thread only appends to a deque under a lock: a full queue drops its OLDEST item (and counts
it) rather than wait, and a store or dashboard that is slow, down or hanging only ever holds up the sender's
own thread. Batches leave every `interval_s` or as soon as `batch_size` items wait. Over HTTP a batch is
retried with exponential backoff on connection errors, timeouts, 5xx and 429, and given up on other 4xx (a
wrong token) with one warning line; retrying is safe because every record carries a request_id and the store
skips ids it already has. Only the standard library is used on the HTTP path, so applications need nothing
extra installed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lib.latency.records import RequestRecord

if TYPE_CHECKING:
    pass

log = logging.getLogger("pitwall.latency")
INGEST_PATH = "/api/latency/ingest"
MAX_BODY_BYTES = 4 * 2**20  # the route refuses bodies over 5 MB
WARN_EVERY_S = 60.0  # a dashboard that keeps refusing is reported once a minute, not once a batch


@dataclass(frozen=True)
class Feedback:
    """A user's satisfaction (0-1) with an earlier request, travelling in the same batches as records."""

    request_id: str
    feedback: float


Item = RequestRecord | Feedback
Deliver = Callable[[list[RequestRecord], list[Feedback]], None]


class DeliveryError(Exception):
    """A batch could not be delivered and will not be retried; the message says why, in one line."""


class BatchSender:
    """A bounded queue and one daemon thread that hands batches to `deliver`; `put` never blocks."""

    def __init__(self, deliver: Deliver, interval_s: float = 1.0, batch_size: int = 100, max_queue: int = 10_000):
        self._deliver = deliver
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.max_queue = max_queue
        self._queue: deque[Item] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._put = 0  # items ever queued
        self._done = 0  # items delivered, given up or dropped: flush waits for this to catch up
        self._flush_wanted = False
        self._closed = False
        self.sent = 0
        self.dropped = 0  # dropped from a full queue, or in a batch that was given up
        self._last_warning = (0.0, "")

    def put(self, item: Item) -> None:
        """Queue a record or feedback; when the queue is full the oldest item is dropped instead of waiting.

        After `close()` the item is dropped and counted (a warning at most once a minute): nothing would send it.
        """
        if not self.try_put(item):
            with self._cond:
                self.dropped += 1
            self._warn("the sender was closed (configure() replaced it, or the interpreter is exiting)", 1)

    def try_put(self, item: Item) -> bool:
        """Queue like `put`, but return False (and count nothing) when the sender is closed, to hand it elsewhere."""
        with self._cond:
            if self._closed:
                return False
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self.dropped += 1
                self._done += 1
            self._queue.append(item)
            self._put += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pitwall-latency-sender", daemon=True)
                self._thread.start()
            elif len(self._queue) == 1 or len(self._queue) >= self.batch_size:
                self._cond.notify_all()  # the first item starts the interval; a full batch leaves at once
            return True

    @property
    def pending(self) -> int:
        """Items queued or in a batch being delivered."""
        with self._cond:
            return self._put - self._done

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued now; True when all of it was handled (sent, or given up with a warning) in time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._put
            if self._done >= target:
                return True
            self._flush_wanted = True
            self._cond.notify_all()
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout_s: float = 2.0) -> bool:
        """Flush for at most `timeout_s`, then stop the thread."""
        done = self.flush(timeout_s)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return done

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()  # idle: no wake-ups until something is queued
                deadline = time.monotonic() + self.interval_s
                while not (self._closed or self._flush_wanted or len(self._queue) >= self.batch_size):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._closed and not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                if not self._queue:
                    self._flush_wanted = False
            if batch:
                self._send(batch)

    def _send(self, batch: list[Item]) -> None:
        records = [item for item in batch if isinstance(item, RequestRecord)]
        feedback = [item for item in batch if isinstance(item, Feedback)]
        ok = False
        try:
            self._deliver(records, feedback)
            ok = True
        except DeliveryError as error:
            self._warn(str(error), len(batch))
        except Exception as error:  # the sender thread must outlive any failure, or tracking stops silently
            self._warn(f"{type(error).__name__}: {error}", len(batch))
        with self._cond:
            if ok:
                self.sent += len(batch)
            else:
                self.dropped += len(batch)
            self._done += len(batch)
            self._cond.notify_all()

    def _warn(self, reason: str, count: int) -> None:
        now = time.monotonic()
        with self._cond:  # the sender's thread and application threads (put after close) both warn
            last_at, last_reason = self._last_warning
            if reason == last_reason and now - last_at < WARN_EVERY_S:
                return
            self._last_warning = (now, reason)
        log.warning("Pitwall latency: %d tracked items dropped: %s", count, reason)


def local_delivery(home: Path | None = None) -> Deliver:
    """Deliver into the store under `home` (default: $PITWALL_HOME, read at each batch)."""

    def deliver(records: list[RequestRecord], feedback: list[Feedback]) -> None:
        from lib.latency.records import save_records, set_feedback
        from lib.latency.watch import check_soon
        from lib.store import open_store

        store = open_store(Path(home).expanduser() / "pitwall.db" if home else None)
        stored = save_records(store, records)
        for item in feedback:
            set_feedback(store, item.request_id, item.feedback)
        if stored:
            check_soon(store)

    return deliver


def http_delivery(
    url: str, token: str = "", tries: int = 3, backoff_s: float = 0.5, timeout_s: float = 10.0
) -> Deliver:
    """Deliver by POSTing JSON to the dashboard at `url` (its base URL, or the full ingest URL)."""
    target = url.rstrip("/")
    if not target.endswith(INGEST_PATH):
        target += INGEST_PATH
    headers = {"Content-Type": "application/json", "User-Agent": "pitwall-track"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def deliver(records: list[RequestRecord], feedback: list[Feedback]) -> None:
        payload = {
            "records": [record.to_dict() for record in records],
            "feedback": [{"request_id": item.request_id, "feedback": item.feedback} for item in feedback],
        }
        body = json.dumps(payload, default=str).encode()
        if len(body) > MAX_BODY_BYTES and len(records) > 1:  # long streams' ITL lists: halve rather than be refused
            half = len(records) // 2
            deliver(records[:half], [])
            deliver(records[half:], feedback)
            return
        post(body)

    def post(body: bytes) -> None:
        reason = ""
        for attempt in range(tries):
            if attempt:
                time.sleep(backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(target, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    response.read()
                return
            except urllib.error.HTTPError as error:
                reason = f"{target} answered HTTP {error.code}{_detail(error)}"
                if error.code < 500 and error.code != 429:
                    raise DeliveryError(reason) from error  # a wrong token stays wrong: retrying cannot help
            except (urllib.error.URLError, OSError) as error:  # refused, unknown host, timeout, reset
                cause = getattr(error, "reason", error)
                reason = f"cannot reach {target} ({cause})"
        raise DeliveryError(f"{reason} (after {tries} tries)")

    return deliver


def _detail(error: urllib.error.HTTPError) -> str:
    """The dashboard's own one-sentence error from a JSON answer, if there is one."""
    try:
        message = json.loads(error.read(4096) or b"{}").get("error")
    except (ValueError, AttributeError, OSError):
        return ""
    return f": {message}" if isinstance(message, str) and message else ""
