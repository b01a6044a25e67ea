"""Store volume: a day of 1 Hz GPU samples inserted while the dashboard reads.

Ours: `Store.insert_many` (executemany, one short BEGIN IMMEDIATE transaction per 10,000 rows on the
thread's reused connection), then a one-minute rollup of the day and a prune of its first half.
Baseline: the foundation's write path, one row per transaction through a fresh `sqlite3.connect()`
running four PRAGMAs. Second baseline: a naive bulk load, every row in ONE transaction.

A dashboard reader and a second writer (a tiny insert every 100 ms, like a job reporting progress)
run in their own processes, so the writer's GIL does not distort their waits. Prints rows/s with the
ratios, and each phase's read and write waits; no assertions on time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

from _common import report

from lib.errors import StoreError
from lib.store import Store, open_store
from lib.store.retention import prune_older_than, rollup

COLUMNS = ("ts", "gpu", "util", "mem_used", "mem_total", "temp", "power", "sm_clock", "mem_clock", "pcie_rx")
START = 1_700_006_400.0  # a UTC midnight, so minute buckets line up with the day
MEM_TOTAL_MIB = 81_559.0  # an 80 GB H100
READ_EVERY_S = 0.05
WRITE_EVERY_S = 0.1
OLD_PRAGMAS = ("journal_mode = WAL", "busy_timeout = 10000", "foreign_keys = ON", "synchronous = NORMAL")
# The dashboard's chart: the last 5 minutes of every GPU in 10 s buckets. The (ts, gpu) index serves
# MAX(ts), the time range, the rollup's hour chunks and the prune alike. (A (gpu, ts) index made each
# rollup chunk and MAX(ts) scan the whole table: the rollup then starved other writers for 1.4 s.)
DASHBOARD_SQL = (
    "SELECT gpu, CAST(ts / 10 AS INTEGER) * 10 AS bucket, AVG(util), MAX(temp) FROM gpu_samples "
    "WHERE ts >= (SELECT MAX(ts) FROM gpu_samples) - 300 GROUP BY gpu, bucket"
)

Sample = tuple[float, float, bool]  # wall-clock start, milliseconds, succeeded


def samples(seconds: int, gpus: int, seed: int = 0) -> Iterator[tuple]:
    """Deterministic 1 Hz samples of `gpus` GPUs for `seconds`, one 10-field row per GPU per second."""
    rng = random.Random(seed)
    util = [rng.uniform(20.0, 90.0) for _ in range(gpus)]
    temp = [rng.uniform(40.0, 60.0) for _ in range(gpus)]
    for second in range(seconds):
        ts = START + second
        for gpu in range(gpus):
            u = min(100.0, max(0.0, util[gpu] + rng.gauss(0.0, 4.0)))
            util[gpu] = u
            temp[gpu] = 0.98 * temp[gpu] + 0.02 * (35.0 + 0.5 * u) + rng.gauss(0.0, 0.3)
            yield (
                ts,
                gpu,
                round(u, 1),
                round(6_000.0 + u * 700.0 + rng.uniform(-200.0, 200.0)),
                MEM_TOTAL_MIB,
                round(temp[gpu], 1),
                round(70.0 + 6.3 * u + rng.gauss(0.0, 10.0), 1),
                1_980.0 if u > 5.0 else 345.0,
                2_619.0,
                round(max(0.0, rng.gauss(u * 40.0, 200.0)), 1),
            )


def create_samples_table(store: Store, name: str) -> None:
    """A raw-samples table of the 10 fields with its (gpu, ts) index."""
    with store.write() as conn:
        conn.execute(
            f"CREATE TABLE {name} (ts REAL NOT NULL, gpu INTEGER NOT NULL, util REAL, mem_used REAL, "
            "mem_total REAL, temp REAL, power REAL, sm_clock REAL, mem_clock REAL, pcie_rx REAL)"
        )
        conn.execute(f"CREATE INDEX {name}_by_ts ON {name} (ts, gpu)")


def worker(role: str, db: str, gpus: int, stop: Event, out: Connection) -> None:
    """A dashboard reader or a second writer in its own process: time each transaction until `stop`."""
    store = open_store(Path(db))
    dashboard_sql = DASHBOARD_SQL
    every = READ_EVERY_S if role == "reader" else WRITE_EVERY_S
    timings: list[Sample] = []
    ready = False
    while not stop.is_set():
        started_at, started = time.time(), time.perf_counter()
        ok = True
        try:
            if role == "reader":
                with store.read() as conn:
                    conn.execute(dashboard_sql).fetchall()
            else:
                with store.write() as conn:
                    conn.execute("INSERT INTO heartbeat (ts, note) VALUES (?, ?)", (started_at, "progress"))
        except StoreError:
            ok = False
        timings.append((started_at, (time.perf_counter() - started) * 1000, ok))
        if not ready:
            out.send("ready")
            ready = True
        stop.wait(every)
    out.send(timings)
    out.close()


def old_write_path(db: Path, table: str, rows: Iterable[tuple]) -> int:
    """The foundation's path: per row, a fresh connection, four PRAGMAs, one INSERT, commit, close."""
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    count = 0
    for row in rows:
        conn = sqlite3.connect(db, timeout=10)
        try:
            for pragma in OLD_PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            conn.execute(sql, row)
            conn.commit()
        finally:
            conn.close()
        count += 1
    return count


def one_transaction(db: Path, table: str, rows: Iterable[tuple]) -> int:
    """A naive bulk load: executemany of every row in one transaction on one connection."""
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    conn = sqlite3.connect(db, timeout=10)
    try:
        count = conn.executemany(sql, rows).rowcount
        conn.commit()
    finally:
        conn.close()
    return count


def stats(timings: Sequence[Sample], start: float, end: float) -> str:
    """Count, median, p99 and worst of the transactions that started inside [start, end) (by start time)."""
    inside = [t for t in timings if start <= t[0] < end]
    if not inside:
        return "none"
    ms = sorted(t[1] for t in inside)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    failed = sum(1 for t in inside if not t[2])
    text = f"{len(ms):5d}, median {statistics.median(ms):7.2f} ms, p99 {p99:8.2f} ms, worst {ms[-1]:8.2f} ms"
    return text + (f", {failed} FAILED (locked past 10 s)" if failed else "")


def cpu_model() -> str:
    """The CPU's model name and the number of CPUs this process may use."""
    try:
        name = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        name = "unknown CPU"
    return f"{name}, {len(os.sched_getaffinity(0))} CPUs"


def db_size(db: Path) -> str:
    """The database file and its WAL, in MB."""
    wal = db.with_name(db.name + "-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    size = db.stat().st_size
    return f"{(size + wal_bytes) / 1e6:.1f} MB (file {size / 1e6:.1f} MB + WAL {wal_bytes / 1e6:.1f} MB)"


def timed(fn, *args) -> tuple[object, float]:
    """fn's result and its wall time in seconds."""
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0, help="hours of 1 Hz samples (default a day)")
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--baseline-rows", type=int, default=5_000, help="rows for the row-per-transaction path")
    parser.add_argument("--quiet-seconds", type=float, default=2.0, help="reader alone, for reference")
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    total = seconds * args.gpus
    home = Path(tempfile.mkdtemp(prefix="pitwall-bench-"))
    os.environ["PITWALL_HOME"] = str(home)
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs: list[tuple[str, mp.process.BaseProcess, Connection]] = []
    try:
        store = open_store()
        db = store.path
        for table in ("gpu_samples", "gpu_samples_rowwise", "gpu_samples_onetx"):
            create_samples_table(store, table)
        with store.write() as conn:
            conn.execute(
                "CREATE TABLE gpu_samples_1m (ts INTEGER, gpu INTEGER, util REAL, mem_used REAL, temp REAL, "
                "power REAL, n INTEGER, PRIMARY KEY (ts, gpu))"
            )
            conn.execute("CREATE TABLE heartbeat (ts REAL, note TEXT)")

        _, generate_s = timed(lambda: sum(1 for _ in samples(seconds, args.gpus)))

        for role in ("reader", "writer"):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=worker, args=(role, str(db), args.gpus, stop, send), daemon=True)
            proc.start()
            send.close()
            procs.append((role, proc, receive))
        for role, _, receive in procs:
            if receive.recv() != "ready":
                raise RuntimeError(f"the {role} did not start")

        phases: list[tuple[str, float, float]] = []

        def phase(name: str, fn, *fn_args) -> tuple[object, float]:
            """Run and time one phase, remembering its wall-clock window for the workers' timings."""
            start = time.time()
            result, took = timed(fn, *fn_args)
            phases.append((name, start, time.time()))
            return result, took

        ours_rows, ours_s = phase(
            "ours: insert_many", store.insert_many, "gpu_samples", COLUMNS, samples(seconds, args.gpus)
        )
        ours_size = db_size(db)
        aggregates = {
            "util": "AVG(util)",
            "mem_used": "AVG(mem_used)",
            "temp": "MAX(temp)",
            "power": "AVG(power)",
            "n": "COUNT(*)",
        }
        buckets, rollup_s = phase(
            "ours: rollup 1 min",
            rollup,
            store,
            "gpu_samples",
            "gpu_samples_1m",
            "ts",
            60,
            ["gpu"],
            aggregates,
            START,
            START + seconds,
        )
        pruned, prune_s = phase(
            "ours: prune first half", prune_older_than, store, "gpu_samples", "ts", START + seconds / 2
        )
        ours_end = time.time()
        time.sleep(args.quiet_seconds)
        phases.append(("reader alone (reference)", ours_end, time.time()))

        subset = min(args.baseline_rows, total)
        rowwise_rows, rowwise_s = phase(
            "baseline: row per connection",
            old_write_path,
            db,
            "gpu_samples_rowwise",
            islice(samples(seconds, args.gpus), subset),
        )
        onetx_rows, onetx_s = phase(
            "baseline: one transaction", one_transaction, db, "gpu_samples_onetx", samples(seconds, args.gpus)
        )
        onetx_size = db_size(db)

        stop.set()
        timings = {role: receive.recv() for role, _, receive in procs}
        for _, proc, _ in procs:
            proc.join(timeout=10)

        ours_rate = ours_rows / ours_s
        rowwise_rate = rowwise_rows / rowwise_s
        onetx_rate = onetx_rows / onetx_s
        print(f"CPU: {cpu_model()}; SQLite {sqlite3.sqlite_version}")
        print(
            f"{args.hours:g} h of 1 Hz samples x {args.gpus} GPUs = {total:,} rows of {len(COLUMNS)} fields; "
            f"generating them alone takes {generate_s:.2f} s (included in every insert time below)"
        )
        print(f"ours: insert_many, {ours_rows:,} rows in {ours_s:.2f} s = {ours_rate:,.0f} rows/s")
        print(
            f"baseline (foundation's path, a connection + four PRAGMAs + one-row transaction per insert): "
            f"{rowwise_rows:,} rows (a subset) in {rowwise_s:.2f} s = {rowwise_rate:,.0f} rows/s"
        )
        print(
            f"baseline (naive bulk load, every row in ONE transaction): "
            f"{onetx_rows:,} rows in {onetx_s:.2f} s = {onetx_rate:,.0f} rows/s"
        )
        report("bulk insert", ours_rate, rowwise_rate, "rows/s", higher_is_better=True)
        report("bulk insert vs one transaction", ours_rate, onetx_rate, "rows/s", higher_is_better=True)
        print(f"rollup of the day into 1-minute buckets: {buckets:,} buckets in {rollup_s:.2f} s (1 h per transaction)")
        print(f"prune of the first half: {pruned:,} rows in {prune_s:.2f} s (batches of 5,000)")
        print(f"database after ours: {ours_size}; after the one-transaction load: {onetx_size}")
        print(f"\nreader (dashboard chart every {READ_EVERY_S * 1000:.0f} ms, own process): reads, wait per read")
        print(f"  {'ours: whole period':30s} {stats(timings['reader'], phases[0][1], ours_end)}")
        for name, start, end in phases:
            print(f"  {name:30s} {stats(timings['reader'], start, end)}")
        print(f"second writer (tiny insert every {WRITE_EVERY_S * 1000:.0f} ms, own process): writes, wait per write")
        print(f"  {'ours: whole period':30s} {stats(timings['writer'], phases[0][1], ours_end)}")
        for name, start, end in phases:
            print(f"  {name:30s} {stats(timings['writer'], start, end)}")
    finally:
        stop.set()
        for _, proc, _ in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
