"""When to check the SLOs: after new production records arrive (throttled) and on a clock in the server.

Arrivals make a breach fire within seconds; the clock makes an alert resolve when time passes without
traffic (a window empties without any record arriving). Neither may fail its caller: an ingest route
or a track() call must store its records whatever the alerting does.
"""

from __future__ import annotations

import logging
import threading
import time

from lib.store import Store

log = logging.getLogger("pitwall.latency")
PRUNE_EVERY_S = 3600.0  # production requests past latency.keep_days go once an hour
THROTTLE_SECONDS = 10.0  # at most one check per this many seconds per process from arrivals

_throttle_lock = threading.Lock()
_last_check = -float("inf")  # time.monotonic() of the last arrival-triggered check
_pending: threading.Timer | None = None  # the trailing check of throttled arrivals
_watcher_lock = threading.Lock()
_watcher: tuple[threading.Thread, threading.Event] | None = None


def records_arrived(store: Store, urgent: bool = False) -> None:
    """New production records were stored: check the SLO alerts now, or, within 10 s of the last check, once those
    10 s are over. `urgent` (a file a person just ingested) checks now regardless."""
    global _last_check, _pending
    with _throttle_lock:
        moment = time.monotonic()
        wait = THROTTLE_SECONDS - (moment - _last_check)
        if wait > 0 and not urgent:
            if _pending is None or not _pending.is_alive():  # one trailing check covers every arrival meanwhile
                _pending = threading.Timer(wait, _trailing_check, args=(store,))
                _pending.daemon = True
                _pending.start()
            return
        _last_check = moment
    _check(store)


def _trailing_check(store: Store) -> None:
    global _last_check
    with _throttle_lock:
        _last_check = time.monotonic()
    _check(store)


def _check(store: Store) -> None:
    """One SLO check; any failure is logged, never raised."""
    from lib.latency.slo import check_slos
    from lib.settings import load_settings_or_defaults

    try:
        check_slos(store, load_settings_or_defaults()[0], in_background=True)
    except Exception:  # alerting must never break the path that stores records
        log.exception("the latency SLO alerts could not be checked")


def start_watcher(interval_s: float = 60.0) -> None:
    """Check the SLO alerts every `interval_s` in one daemon thread per process (the app's lifespan starts it)."""
    global _watcher
    with _watcher_lock:
        if _watcher is not None and _watcher[0].is_alive():
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=_watch, args=(stop, float(interval_s)), name="pitwall-latency-slo", daemon=True
        )
        _watcher = (thread, stop)
        thread.start()


def stop_watcher() -> None:
    """Stop this process's watcher, if one runs (the app's lifespan calls this at shutdown)."""
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            return
        thread, stop = _watcher
        _watcher = None
    stop.set()
    if thread is not threading.current_thread():
        thread.join(timeout=5.0)


def _watch(stop: threading.Event, interval_s: float) -> None:
    from lib.store import open_store

    last_prune = -float("inf")
    while not stop.is_set():
        try:
            store = open_store()  # each tick: the current PITWALL_HOME's database
        except Exception:
            log.exception("the latency SLO watcher cannot open the store")
        else:
            _check(store)
            if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                last_prune = time.monotonic()
                _prune(store)
        stop.wait(interval_s)


def prune_production(store: Store, keep_days: float, now: float | None = None) -> int:
    """Delete production requests older than `keep_days` (load-test runs keep theirs); return how many went."""
    from lib.store.retention import prune_older_than

    cutoff = (time.time() if now is None else now) - keep_days * 86_400
    return prune_older_than(store, "latency_requests", "started_at", cutoff, only_where="run_id IS NULL")


def check_soon(store: Store) -> None:
    """Run the (throttled) SLO check after new records on a short-lived daemon thread, off the caller's path: the
    first arrival in a throttle window would otherwise check on the thread that stored them."""
    threading.Thread(target=records_arrived, args=(store,), name="pitwall-latency-slo-check", daemon=True).start()


def _prune(store: Store) -> None:
    from lib.settings import load_settings_or_defaults

    try:
        settings = load_settings_or_defaults()[0]
        keep = max(settings["latency.keep_days"], settings["latency.slo_window_days"])  # budgets need their period
        if deleted := prune_production(store, keep):
            log.info("pruned %d production requests older than %g days", deleted, keep)
    except Exception:  # retention must never stop the watcher
        log.exception("old production requests could not be pruned")
