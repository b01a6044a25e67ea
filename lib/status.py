"""The pit wall: one state per area (ok, warning, critical, no data) with the figure behind it.

Each area's `lib` module has a `status(store, settings)` that reads the store cheaply (no model, no
NVML, no network): the Overview calls every one on each render, and `python -m lib status` too.
An area whose page is not built yet says so instead of pretending to be fine.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass

from lib.errors import PitwallError
from lib.settings import Settings
from lib.store import Store

OK, WARNING, CRITICAL, NO_DATA = "ok", "warning", "critical", "no data"


@dataclass(frozen=True)
class AreaStatus:
    """One tile of the pit wall."""

    area: str
    title: str
    state: str
    headline: str
    detail: str
    updated_at: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# area -> (title, "module:function" of its status(), or None while the page is not built)
AREAS: dict[str, tuple[str, str | None]] = {
    "gpu": ("GPU health", "lib.gpu.status:status"),
    "data-quality": ("Data quality", "lib.quality.status:status"),
    "evaluation": ("Evaluation", "lib.evaluation.status:status"),
    "latency": ("Latency", "lib.latency.status:status"),
    "security": ("Security", None),
    "jobs": ("Jobs", "lib.jobs.status:status"),
    "alerts": ("Alerts", "lib.alerts.status:status"),
}


def area_status(area: str, store: Store, settings: Settings) -> AreaStatus:
    """The tile for one area; a failure to read it is shown on the tile, never raised."""
    title, target = AREAS[area]
    if target is None:
        return AreaStatus(area, title, NO_DATA, "not built yet", "This page does not exist yet.")
    module, name = target.split(":")
    try:
        return getattr(importlib.import_module(module), name)(store, settings)
    except PitwallError as error:
        return AreaStatus(area, title, NO_DATA, "unreadable", str(error))


def pit_wall(store: Store, settings: Settings) -> list[AreaStatus]:
    """Every area's tile, in page order."""
    return [area_status(area, store, settings) for area in AREAS]


def ago(timestamp: float | None, now: float | None = None) -> str:
    """`3 min ago`, for tiles."""
    if timestamp is None:
        return "never"
    seconds = max(0.0, (now or time.time()) - timestamp)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"
