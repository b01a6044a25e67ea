"""The command line as a user meets it: JSON on stdout, one sentence on stderr when something fails."""

import json
from pathlib import Path

from tests.helpers import assert_one_sentence_error, cli_in_process


def test_model_info_reports_the_embedded_model_offline(embedded_model) -> None:
    result = cli_in_process("model", "info", "--json")  # HF_HUB_OFFLINE=1 is set for every test
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["parameters"] == 134_515_008
    assert info["source"] == "embedded"
    assert {"model", "device", "dtype", "load_seconds"} <= set(info)


def test_model_path_prints_a_servable_folder(embedded_model) -> None:
    result = cli_in_process("model", "path")
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip())
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def test_an_unavailable_hub_model_is_one_sentence() -> None:
    result = cli_in_process("model", "info", "--model", "someone/not-downloaded")
    assert result.returncode == 1
    assert "someone/not-downloaded" in result.stderr
    assert_one_sentence_error(result.stderr)


def test_plain_text_output_is_readable(embedded_model) -> None:
    result = cli_in_process("model", "info")
    assert "134,515,008" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_store_info_reports_the_schema(pitwall_home: Path) -> None:
    info = json.loads(cli_in_process("store", "info", "--json").stdout)
    assert Path(info["path"]).parent == pitwall_home.resolve()
    assert info["journal_mode"] == "wal" and info["schema_version"] == info["latest_version"]


def test_a_damaged_database_is_one_sentence(pitwall_home: Path) -> None:
    pitwall_home.mkdir()
    (pitwall_home / "pitwall.db").write_bytes(b"garbage" * 1000)
    result = cli_in_process("store", "info")
    assert result.returncode == 1
    assert "not a readable Pitwall database" in result.stderr
    assert_one_sentence_error(result.stderr)


def test_command_groups_do_not_import_the_command_tree() -> None:
    # lib/cli.py assembles every group's commands; a group importing lib.cli back made a cycle that
    # worked only in one import order. Shared helpers live in lib/output.py.
    import ast

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*(root / "lib").rglob("cli.py"), *(root / "lib").glob("*_cli.py")]:
        if path == root / "lib" / "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "lib.cli":
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_every_group_module_imports_on_its_own() -> None:
    import subprocess
    import sys

    for module in ["lib.evaluation.cli", "lib.jobs.cli", "lib.alerts.cli", "lib.store.cli", "lib.models.cli"]:
        result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        assert result.returncode == 0, (module, result.stderr)


def test_status_lists_every_area_with_its_state() -> None:
    result = cli_in_process("status", "--json")
    assert result.returncode == 0, result.stderr
    tiles = {tile["area"]: tile for tile in json.loads(result.stdout)}
    assert list(tiles) == ["gpu", "data-quality", "evaluation", "latency", "security", "jobs", "alerts"]
    assert tiles["gpu"]["state"] == "no data" and tiles["gpu"]["headline"] == "no recent samples"
    assert tiles["latency"]["state"] == "no data" and tiles["latency"]["headline"] == "no requests recorded"
    assert tiles["security"]["headline"] == "not built yet"
    assert tiles["evaluation"]["headline"] == "no runs yet"
    assert tiles["alerts"]["state"] == "ok"
