"""GPU health: NVML readings, the collector, health verdicts, the capacity planner and the fleet view."""
