"""Logging: one file under PITWALL_HOME, and an error id that leads from the user's sentence to the traceback."""

from __future__ import annotations

import logging

from lib.logs import log_path, log_unexpected, setup_logging, unexpected_sentence
from lib.settings import set_setting
from tests.helpers import run_cli


def test_an_unexpected_error_is_logged_with_its_traceback_under_the_id_the_user_sees() -> None:
    setup_logging("server", stderr=False)
    try:
        {}["missing"]
    except KeyError as error:
        error_id = log_unexpected(error, "drawing the GPU chart")
        sentence = unexpected_sentence("Drawing the GPU chart", error, error_id)
    for handler in logging.getLogger("pitwall").handlers:
        handler.flush()
    text = log_path().read_text()
    assert f"[error {error_id}] drawing the GPU chart failed" in text
    assert "Traceback" in text and "KeyError: 'missing'" in text
    assert error_id in sentence and "Traceback" not in sentence and "\n" not in sentence


def test_the_level_comes_from_the_settings() -> None:
    set_setting("logging.level", "warning")
    setup_logging("server", stderr=False)
    logging.getLogger("pitwall.test").info("quiet detail")
    logging.getLogger("pitwall.test").warning("loud problem")
    for handler in logging.getLogger("pitwall").handlers:
        handler.flush()
    text = log_path().read_text()
    assert "loud problem" in text and "quiet detail" not in text


def test_a_broken_settings_file_still_logs_with_defaults() -> None:
    path = log_path().parents[1] / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[logging]\nlevel = 'LOUD'\n")
    assert setup_logging("server", stderr=False) == log_path()
    for handler in logging.getLogger("pitwall").handlers:
        handler.flush()
    assert "logging with defaults" in log_path().read_text()


def test_the_cli_logs_a_failed_command_under_pitwall_home() -> None:
    result = run_cli("jobs", "show", "999")
    assert result.returncode == 1
    assert "`jobs show` failed: There is no job #999" in log_path().read_text()


def test_a_command_with_broken_settings_says_one_sentence() -> None:
    from tests.helpers import assert_one_sentence_error

    result = run_cli("jobs", "list", env={"PITWALL_JOBS_HEARTBEAT_SECONDS": "nan"})
    assert result.returncode == 1
    assert_one_sentence_error(result.stderr)
    assert result.stderr.count("\n") == 1  # not a log line before it
    assert "must be a finite number" in result.stderr
