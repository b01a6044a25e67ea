"""Alert rules: a metric compared with a threshold, held for a while, with hysteresis on the way back."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from lib import jsonsafe
from lib.errors import InputError

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    """When `metric` compares with `threshold` for `for_seconds`, fire; resolve once back past `resolve_threshold`."""

    name: str
    metric: str
    comparison: str
    threshold: float
    for_seconds: float = 0.0
    severity: str = "warning"
    resolve_threshold: float | None = None
    summary: str = ""  # what is measured, e.g. "GPU {gpu} memory used"; `{label}` fields take the series' labels

    def __post_init__(self) -> None:
        name = self.name or "(unnamed)"
        if not self.name.strip():
            raise InputError("An alert rule needs a name.")
        if self.comparison not in COMPARISONS:
            raise InputError(
                f"Alert rule {name} has comparison {self.comparison!r}; use one of {', '.join(COMPARISONS)}."
            )
        if self.severity not in SEVERITIES:
            raise InputError(f"Alert rule {name} has severity {self.severity!r}; use one of {', '.join(SEVERITIES)}.")
        if not _finite(self.threshold):
            raise InputError(f"Alert rule {name} needs a finite number as its threshold, not {self.threshold!r}.")
        if not _finite(self.for_seconds) or self.for_seconds < 0:
            raise InputError(f"Alert rule {name} needs for_seconds of 0 or more, not {self.for_seconds!r}.")
        resolve = self.resolve_threshold
        if resolve is not None:
            if not _finite(resolve):
                raise InputError(f"Alert rule {name} needs a finite resolve_threshold, not {resolve!r}.")
            if self.above and resolve > self.threshold:
                raise InputError(
                    f"Alert rule {name} fires above {self.threshold:g}, so its resolve_threshold ({resolve:g}) "
                    "must not be higher than that."
                )
            if not self.above and resolve < self.threshold:
                raise InputError(
                    f"Alert rule {name} fires below {self.threshold:g}, so its resolve_threshold ({resolve:g}) "
                    "must not be lower than that."
                )

    @property
    def above(self) -> bool:
        """True when the rule fires on high values (`>` or `>=`)."""
        return self.comparison in (">", ">=")

    @property
    def effective_resolve_threshold(self) -> float:
        """The value the metric must get back to before the alert resolves."""
        return self.threshold if self.resolve_threshold is None else self.resolve_threshold

    def breaches(self, value: float) -> bool:
        """Whether `value` is on the alerting side of the threshold (NaN never is)."""
        return not math.isnan(value) and COMPARISONS[self.comparison](value, self.threshold)

    def clears(self, value: float) -> bool:
        """Whether `value` is far enough back for a firing alert to resolve (NaN never is)."""
        if math.isnan(value) or self.breaches(value):
            return False
        resolve = self.effective_resolve_threshold
        return value <= resolve if self.above else value >= resolve

    def to_dict(self) -> dict:
        """The rule as plain data."""
        return asdict(self)


@dataclass(frozen=True)
class Observation:
    """One value of the rule's metric for one series, told apart by its labels (e.g. {"gpu": "0"})."""

    labels: dict[str, str]
    value: float


def fingerprint(labels: Mapping[str, object]) -> str:
    """The series' identity: its labels as JSON with sorted keys."""
    return jsonsafe.dumps({str(key): str(value) for key, value in labels.items()}, sort_keys=True)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
