"""Pitwall's state: one SQLite database (WAL) under PITWALL_HOME, with versioned migrations."""

from lib.store.db import Store, StoreInfo, open_store

__all__ = ["Store", "StoreInfo", "open_store"]
