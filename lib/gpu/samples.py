"""GPU samples in the store: written by the collector, rolled up and pruned, read back for tiles and alerts.

Standard library only (no pandas), like the rest of the collector's path, so a GPU machine's bare
python3 can run it; the charts' queries are in `lib.gpu.history`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from lib.gpu.nvml import BENIGN_CLOCK_EVENTS, GpuReading, Snapshot
from lib.store import Store
from lib.store.retention import prune_older_than, rollup

SAMPLE_COLUMNS = (
    "ts", "node", "gpu", "memory_used", "memory_total", "gpu_util", "memory_util", "temperature", "power",
    "power_limit", "sm_clock", "memory_clock", "pcie_tx", "pcie_rx", "clock_reasons", "ecc_uncorrected", "xid",
)  # fmt: skip
ROLLUP_SECONDS = 60
# gpu_rollups column -> aggregate of gpu_samples columns, for one minute of one GPU.
ROLLUP_AGGREGATES = {
    "samples": "COUNT(*)",
    "memory_used": "AVG(memory_used)", "memory_used_max": "MAX(memory_used)", "memory_total": "MAX(memory_total)",
    "gpu_util": "AVG(gpu_util)", "gpu_util_max": "MAX(gpu_util)", "memory_util": "AVG(memory_util)",
    "temperature": "AVG(temperature)", "temperature_max": "MAX(temperature)",
    "power": "AVG(power)", "power_max": "MAX(power)", "power_limit": "MAX(power_limit)",
    "sm_clock": "AVG(sm_clock)", "sm_clock_min": "MIN(sm_clock)", "memory_clock": "AVG(memory_clock)",
    "pcie_tx": "AVG(pcie_tx)", "pcie_rx": "AVG(pcie_rx)",
    "throttled": f"AVG((clock_reasons & ~{BENIGN_CLOCK_EVENTS}) != 0)",
    "ecc_uncorrected": "MAX(ecc_uncorrected)", "xid": "MAX(xid)",
}  # fmt: skip


def sample_rows(snapshot: Snapshot, xids: dict[int, int] | None = None) -> list[tuple]:
    """One row per readable GPU of the snapshot, in SAMPLE_COLUMNS order."""
    xids = xids or {}
    rows = []
    for gpu in snapshot.gpus:
        if gpu.lost and gpu.index not in xids:
            continue  # nothing measured; an XID that came with the loss is still recorded (its row has no metrics)
        rows.append(
            (
                snapshot.taken_at, snapshot.hostname, gpu.index, gpu.memory_used_bytes, gpu.memory_total_bytes,
                gpu.gpu_util_percent, gpu.memory_util_percent, gpu.temperature_c, gpu.power_w, gpu.power_limit_w,
                gpu.sm_clock_mhz, gpu.memory_clock_mhz, gpu.pcie_tx_bytes_per_s, gpu.pcie_rx_bytes_per_s,
                gpu.clock_event_reasons, gpu.ecc_volatile_uncorrected, xids.get(gpu.index),
            )
        )  # fmt: skip
    return rows


def write_samples(store: Store, rows: Iterable[tuple]) -> int:
    """Append sample rows through the bulk-insert path; return how many."""
    return store.insert_many("gpu_samples", SAMPLE_COLUMNS, rows)


def record_devices(store: Store, snapshot: Snapshot) -> None:
    """Upsert the name and limits of each GPU in the snapshot (first seen kept, last seen moved on)."""
    rows = [
        (
            snapshot.hostname,
            gpu.index,
            gpu.uuid,
            gpu.name,
            gpu.memory_total_bytes,
            gpu.power_limit_w,
            gpu.temperature_slowdown_c,
            gpu.sm_clock_max_mhz,
            gpu.memory_clock_max_mhz,
            int(snapshot.simulated),
            snapshot.taken_at,
            snapshot.taken_at,
        )
        for gpu in snapshot.gpus
        if not gpu.lost
    ]
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO gpu_devices (node, gpu, uuid, name, memory_total, power_limit, temperature_slowdown, "
            "sm_clock_max, memory_clock_max, simulated, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (node, gpu) DO UPDATE SET uuid = excluded.uuid, name = excluded.name, "
            "memory_total = excluded.memory_total, power_limit = excluded.power_limit, "
            "temperature_slowdown = excluded.temperature_slowdown, sm_clock_max = excluded.sm_clock_max, "
            "memory_clock_max = excluded.memory_clock_max, simulated = excluded.simulated, "
            "last_seen = excluded.last_seen",
            rows,
        )


def latest_readings(
    store: Store, within_seconds: float = 120.0, now: float | None = None
) -> list[tuple[str, GpuReading]]:
    """The newest sample of each GPU seen in the last `within_seconds`, as (node, GpuReading), from the store."""
    now = time.time() if now is None else now
    with store.read() as conn:
        rows = conn.execute(
            """
            SELECT s.*, d.uuid, d.name, d.temperature_slowdown, d.sm_clock_max, d.memory_clock_max
            FROM gpu_samples s
            JOIN (SELECT node, gpu, MAX(ts) AS ts FROM gpu_samples WHERE ts >= ? AND memory_total IS NOT NULL
                  GROUP BY node, gpu) newest
                USING (node, gpu, ts)
            LEFT JOIN gpu_devices d USING (node, gpu)
            ORDER BY s.node, s.gpu
            """,
            (now - within_seconds,),
        ).fetchall()
    return [(row["node"], reading_from_row(row)) for row in rows]


def reading_from_row(row: object) -> GpuReading:
    """A GpuReading from a stored sample (joined with its device row), for verdicts without NVML."""
    get = row.__getitem__  # type: ignore[attr-defined]
    keys = row.keys()  # type: ignore[attr-defined]

    def optional(name: str) -> object:
        return get(name) if name in keys else None

    return GpuReading(
        index=int(get("gpu")),
        name=optional("name"),  # type: ignore[arg-type]
        uuid=optional("uuid"),  # type: ignore[arg-type]
        memory_used_bytes=get("memory_used"),
        memory_total_bytes=get("memory_total"),
        gpu_util_percent=get("gpu_util"),
        memory_util_percent=get("memory_util"),
        temperature_c=get("temperature"),
        temperature_slowdown_c=optional("temperature_slowdown"),  # type: ignore[arg-type]
        power_w=get("power"),
        power_limit_w=get("power_limit"),
        sm_clock_mhz=get("sm_clock"),
        sm_clock_max_mhz=optional("sm_clock_max"),  # type: ignore[arg-type]
        memory_clock_mhz=get("memory_clock"),
        memory_clock_max_mhz=optional("memory_clock_max"),  # type: ignore[arg-type]
        clock_event_reasons=get("clock_reasons"),
        pcie_tx_bytes_per_s=get("pcie_tx"),
        pcie_rx_bytes_per_s=get("pcie_rx"),
        ecc_volatile_uncorrected=get("ecc_uncorrected"),
    )


def recently_sampled(store: Store, node: str, since: float) -> list[int]:
    """The GPUs of `node` with a sample since `since` (to tell a driver that died from a machine without GPUs)."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT DISTINCT gpu FROM gpu_samples WHERE ts >= ? AND node = ? ORDER BY gpu", (since, node)
        ).fetchall()
    return [row["gpu"] for row in rows]


def recent_xids(store: Store, since: float) -> dict[tuple[str, int], tuple[int, float]]:
    """(node, gpu) -> (last XID, when) for XID errors recorded since `since`."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT node, gpu, xid, MAX(ts) AS ts FROM gpu_samples "
            "WHERE ts >= ? AND xid IS NOT NULL GROUP BY node, gpu",
            (since,),
        ).fetchall()
    return {(row["node"], row["gpu"]): (row["xid"], row["ts"]) for row in rows}


def roll_up_and_prune(store: Store, now: float, raw_hours: float, rollup_days: float) -> dict[str, int]:
    """Roll finished minutes up (from the last rollup on), then drop raw samples and rollups past retention."""
    with store.read() as conn:
        last = conn.execute("SELECT MAX(ts) FROM gpu_rollups").fetchone()[0]
        first = conn.execute("SELECT MIN(ts) FROM gpu_samples").fetchone()[0]
    if first is None:
        return {"rolled_up": 0, "pruned_samples": 0, "pruned_rollups": 0}
    # Redo the last rolled minute too: it may have been rolled while its samples were still arriving.
    since = max(first, last if last is not None else first)
    written = rollup(
        store, "gpu_samples", "gpu_rollups", "ts", ROLLUP_SECONDS, ("node", "gpu"), ROLLUP_AGGREGATES, since, now
    )
    return {
        "rolled_up": written,
        "pruned_samples": prune_older_than(store, "gpu_samples", "ts", now - raw_hours * 3600),
        "pruned_rollups": prune_older_than(store, "gpu_rollups", "ts", now - rollup_days * 86_400),
    }
