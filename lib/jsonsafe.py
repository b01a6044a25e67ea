"""JSON that every reader can parse: NaN and infinity become null, with the reason recorded beside them.

Python's json module writes NaN and Infinity by default, which is not JSON: browsers, jq and most
other languages refuse the whole document. Everything Pitwall writes as JSON (CLI `--json`, the
store, downloads, webhooks) goes through `dumps`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass
from typing import Any

REASONS_KEY = "null_reasons"


def finite(value: Any) -> tuple[Any, dict[str, str]]:
    """`value` with every non-finite float replaced by None, and {path: reason} for each replacement."""
    reasons: dict[str, str] = {}

    def walk(item: Any, path: str) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            reasons[path or "value"] = "not a number" if math.isnan(item) else f"{'minus ' if item < 0 else ''}infinite"
            return None
        if isinstance(item, dict):
            return {key: walk(val, f"{path}.{key}" if path else str(key)) for key, val in item.items()}
        if isinstance(item, list | tuple):
            return [walk(val, f"{path}[{index}]") for index, val in enumerate(item)]
        if is_dataclass(item) and not isinstance(item, type):
            return walk(item.to_dict() if hasattr(item, "to_dict") else asdict(item), path)
        return item

    return walk(value, ""), reasons


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text; a dict gains `null_reasons` naming each value that was not finite."""
    clean, reasons = finite(value)
    if reasons and isinstance(clean, dict):
        clean = {**clean, REASONS_KEY: {**clean.get(REASONS_KEY, {}), **reasons}}
    return json.dumps(clean, allow_nan=False, default=str, **kwargs)
