"""The command line as a user meets it: JSON on stdout, one sentence on stderr when something fails."""

import json
from pathlib import Path

from tests.helpers import assert_one_sentence_error, run_cli


def test_model_info_reports_the_embedded_model_offline(embedded_model) -> None:
    result = run_cli("model", "info", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["parameters"] == 134_515_008
    assert info["source"] == "embedded"
    assert {"model", "device", "dtype", "load_seconds"} <= set(info)


def test_model_path_prints_a_servable_folder(embedded_model) -> None:
    result = run_cli("model", "path")
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip())
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def test_an_unavailable_hub_model_is_one_sentence() -> None:
    result = run_cli("model", "info", "--model", "someone/not-downloaded")
    assert result.returncode == 1
    assert "someone/not-downloaded" in result.stderr
    assert_one_sentence_error(result.stderr)


def test_plain_text_output_is_readable(embedded_model) -> None:
    result = run_cli("model", "info")
    assert "134,515,008" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_store_info_reports_the_schema(pitwall_home: Path) -> None:
    info = json.loads(run_cli("store", "info", "--json").stdout)
    assert Path(info["path"]).parent == pitwall_home.resolve()
    assert info["journal_mode"] == "wal" and info["schema_version"] == info["latest_version"]


def test_a_damaged_database_is_one_sentence(pitwall_home: Path) -> None:
    pitwall_home.mkdir()
    (pitwall_home / "pitwall.db").write_bytes(b"garbage" * 1000)
    result = run_cli("store", "info")
    assert result.returncode == 1
    assert "not a readable Pitwall database" in result.stderr
    assert_one_sentence_error(result.stderr)
