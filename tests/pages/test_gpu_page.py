"""The GPU health page in AppTest: without a GPU it explains; with the simulated node it shows everything."""

from __future__ import annotations

import time

from lib.gpu.collector import Collector
from lib.gpu.source import current_reader, switch_simulated
from lib.store import open_store
from tests.pages.test_pages import frame_with, page_app

GPU_PAGE = "pages.gpu_health"


def collect_seconds(seconds: int, now: float) -> None:
    """Collect as the server would, `seconds` one-second ticks ending at `now`."""
    collector = Collector(open_store(), reader=current_reader, owner="test:1:1", notifiers=[])
    for second in range(seconds, 0, -1):
        collector.tick(now - second)


def test_without_a_gpu_the_page_explains_and_still_offers_the_planner_and_fleet_view():
    at = page_app(GPU_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    info = " ".join(box.value for box in at.info)
    assert "No GPU to show." in info and "No NVIDIA driver found" in info and "simulated node" in info
    assert [tab.label for tab in at.tabs] == [
        "History",
        "Processes",
        "Alerts",
        "Capacity planner",
        "Fleet (Prometheus)",
    ]
    assert any("No Prometheus server is set" in box.value for box in at.info)


def test_the_simulated_node_shows_labelled_tiles_verdicts_processes_and_alerts():
    now = time.time()
    switch_simulated(True, now=now - 60)  # a minute into its story
    collect_seconds(15, now)
    at = page_app(GPU_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    markdown = " ".join(block.value for block in at.markdown)
    assert markdown.count("simulated]") >= 4  # a badge on every tile
    assert "GPU 2" in markdown and "critical" in markdown and "healthy" in markdown
    captions = " ".join(caption.value for caption in at.caption)
    assert "1 uncorrected ECC error(s)" in captions  # GPU 2's headline, its worst reason
    assert "Also: XID 48 error in the last 10 min" in captions
    assert "Clock events: SW thermal slowdown" in captions and "Clock events: SW power cap" in captions
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # utilisation, memory, temperature, power over the last 5 minutes
    assert "fan (Not Supported)" in captions  # shown as not available, not hidden
    assert any("Simulated node." in box.value for box in at.warning)
    processes = frame_with(at, "PID")
    assert set(processes["Process"]) >= {"vllm", "unknown (other PID namespace)"}
    alerts = frame_with(at, "alert")
    assert {"gpu-ecc", "gpu-xid", "gpu-memory"} <= set(alerts["alert"])
    assert all("node=simulated-node" in series for series in alerts["series"])
    switch_simulated(False)


def test_the_capacity_planner_answers_without_a_gpu_and_refuses_an_unknown_model_in_one_sentence():
    at = page_app(GPU_PAGE).run()
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["KV cache per token"] == "23,040 B" and metrics["KV cache"] == "0.70 GiB"
    assert any("No GPU here to check against" in box.value for box in at.info)
    at.text_input(key="gpu_plan_model").set_value("no-such-org/no-such-model")
    at.get("form_submit_button")[0].click().run()  # a form sends its values with the submit
    assert not at.exception
    errors = [box.value for box in at.error]
    assert len(errors) == 1 and "no-such-org/no-such-model" in errors[0] and "\n" not in errors[0]
    assert not at.metric  # the earlier plan is not left on screen
