"""Keeping time series small: roll raw samples up into coarser buckets, then prune what has aged out.

Both work in batches of short write transactions. Under WAL, readers never wait for a writer;
batching keeps each write lock short too, so a collector inserting samples and a job reporting
progress get their turn between batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lib.store.db import Store, check_identifier

PRUNE_BATCH_ROWS = 5_000


def prune_older_than(
    store: Store,
    table: str,
    time_column: str,
    cutoff: float,
    batch_rows: int = PRUNE_BATCH_ROWS,
    only_where: str = "",
) -> int:
    """Delete rows whose `time_column` is before `cutoff` (and that match `only_where`, an SQL condition written by
    the caller, never by a user), a batch per transaction; return how many."""
    check_identifier(table)
    check_identifier(time_column)
    condition = f"{time_column} < ?" + (f" AND ({only_where})" if only_where else "")
    sql = f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {condition} LIMIT ?)"
    deleted = 0
    while True:
        with store.write() as conn:
            count = conn.execute(sql, (cutoff, batch_rows)).rowcount
        deleted += count
        if count < batch_rows:
            return deleted


def rollup(
    store: Store,
    source: str,
    target: str,
    time_column: str,
    bucket_seconds: int,
    keys: Sequence[str],
    aggregates: Mapping[str, str],
    since: float,
    until: float,
    chunk_seconds: int = 3600,
) -> int:
    """Aggregate `source` rows in [since, until) into `bucket_seconds` buckets of `target`; return buckets written.

    `aggregates` maps each target column to an SQL aggregate of source columns (`"AVG(util)"`).
    The target's primary key must be (bucket start, *keys), so rolling a bucket up again replaces it
    instead of counting it twice: a rollup can be rerun after a crash or on overlapping ranges.
    Each `chunk_seconds` of source time is its own transaction (a whole day at once held the write
    lock for half a second in bench/store_volume.py).
    """
    for name in (source, target, time_column, *keys, *aggregates):
        check_identifier(name)
    if bucket_seconds < 1:
        raise ValueError("bucket_seconds must be at least 1")
    # Whole buckets only: the first bucket may already be partly pruned and the last still filling up;
    # rolling either up would replace a complete rollup with a short one.
    since = -(-since // bucket_seconds) * bucket_seconds
    until = until // bucket_seconds * bucket_seconds
    bucket = f"CAST({time_column} / {int(bucket_seconds)} AS INTEGER) * {int(bucket_seconds)}"
    columns = [time_column, *keys, *aggregates]
    selected = [bucket, *keys, *aggregates.values()]
    sql = (
        f"INSERT OR REPLACE INTO {target} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM {source} "
        f"WHERE {time_column} >= ? AND {time_column} < ? GROUP BY {', '.join(['1', *keys])}"
    )
    chunk = max(bucket_seconds, chunk_seconds // bucket_seconds * bucket_seconds)  # whole buckets per chunk
    written, start = 0, since
    while start < until:
        end = min(start + chunk, until)
        with store.write() as conn:
            written += conn.execute(sql, (start, end)).rowcount
        start = end
    return written
