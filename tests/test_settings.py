"""Settings: defaults, the file, the environment, secrets kept apart, and bad values named in one sentence."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lib.settings import SCHEMA, SettingsError, load_settings, secrets_path, set_setting, settings_path
from tests.helpers import assert_one_sentence_error, run_cli


def write_settings(text: str) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_setting_has_a_default_and_where_it_came_from() -> None:
    settings = load_settings()
    assert settings["jobs.model_jobs_per_device"] == 1
    assert settings["models.allowed"] == ["*"]
    assert {entry.source for entry in settings.entries.values()} == {"default"}
    assert len({s.env_var for s in SCHEMA}) == len(SCHEMA)  # no two settings share an environment name


def test_the_environment_overrides_the_file_which_overrides_the_default(monkeypatch) -> None:
    write_settings("[jobs]\nheartbeat_seconds = 4\nother_jobs = 3\n")
    monkeypatch.setenv("PITWALL_JOBS_OTHER_JOBS", "7")
    settings = load_settings()
    assert (settings["jobs.heartbeat_seconds"], settings.entries["jobs.heartbeat_seconds"].source) == (4.0, "file")
    assert (settings["jobs.other_jobs"], settings.entries["jobs.other_jobs"].source) == (7, "environment")
    assert settings.entries["jobs.keep_days"].source == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[jobs]\nheartbeat_seconds = 'soon'\n", "jobs.heartbeat_seconds .* must be a number, not 'soon'"),
        ("[jobs]\nmodel_jobs_per_device = 0\n", "jobs.model_jobs_per_device .* must be at least 1"),
        ("[jobs]\nheartbeet_seconds = 2\n", "unknown setting 'jobs.heartbeet_seconds' .did you mean jobs.heartbeat"),
        ("[logging]\nlevel = 'LOUD'\n", "logging.level .* must be one of DEBUG, INFO, WARNING, ERROR"),
        ("[alerts]\nwebhook_url = 'ftp://example'\n", "alerts.webhook_url .* must be an http"),
        ("[jobs\nheartbeat_seconds = 2\n", "is not valid TOML"),
        ("jobs = 3\n", "'jobs' must be a \\[section\\]"),
        ("[jobs]\nheartbeat_seconds = 20\n", "at least 3 x jobs.heartbeat_seconds"),
        ("[alerts]\nwebhook_token = 'abc'\n", "holds the secret alerts.webhook_token; move it to"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_sentence_naming_the_key(text: str, message: str) -> None:
    write_settings(text)
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings()
    assert "\n" not in str(raised.value)


def test_a_bad_environment_value_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("PITWALL_GPU_SAMPLE_INTERVAL_SECONDS", "fast")
    with pytest.raises(
        SettingsError, match=r"gpu.sample_interval_seconds \(from \$PITWALL_GPU_SAMPLE_INTERVAL_SECONDS\)"
    ):
        load_settings()


def test_set_keeps_the_users_comments_and_checks_the_value() -> None:
    path = write_settings("# tuned for the A100 box\n[jobs]\n# slow disks here\nheartbeat_seconds = 3.0\n")
    set_setting("jobs.other_jobs", "4")
    set_setting("models.allowed", "smollm2-135m, HuggingFaceTB/*")
    text = path.read_text()
    assert "# tuned for the A100 box" in text and "# slow disks here" in text
    settings = load_settings()
    assert settings["jobs.other_jobs"] == 4
    assert settings["models.allowed"] == ["smollm2-135m", "HuggingFaceTB/*"]
    with pytest.raises(SettingsError, match="whole number"):
        set_setting("jobs.other_jobs", "2.5")
    assert load_settings()["jobs.other_jobs"] == 4  # a refused value leaves the file as it was


def test_secrets_go_to_a_file_only_their_owner_can_read() -> None:
    set_setting("alerts.webhook_token", "s3cret-token")
    assert not settings_path().exists() or "s3cret" not in settings_path().read_text()
    mode = stat.S_IMODE(secrets_path().stat().st_mode)
    assert mode == 0o600
    settings = load_settings()
    assert settings["alerts.webhook_token"] == "s3cret-token"
    assert "s3cret" not in json.dumps(settings.to_dict())  # shown as "set", never printed


def test_a_secrets_file_others_can_read_is_flagged() -> None:
    set_setting("alerts.webhook_token", "abc")
    secrets_path().chmod(0o644)
    assert any("chmod 600" in warning for warning in load_settings().warnings)


def test_the_cli_shows_and_sets_settings(monkeypatch) -> None:
    changed = run_cli("settings", "set", "jobs.keep_days", "14", "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["value"] == 14
    shown = json.loads(run_cli("settings", "show", "--json", env={"PITWALL_JOBS_OTHER_JOBS": "5"}).stdout)
    by_key = {row["key"]: row for row in shown["settings"]}
    assert (by_key["jobs.keep_days"]["value"], by_key["jobs.keep_days"]["source"]) == (14, "file")
    assert (by_key["jobs.other_jobs"]["value"], by_key["jobs.other_jobs"]["source"]) == (5, "environment")
    text = run_cli("settings", "show").stdout
    assert "jobs.keep_days" in text and "file" in text


def test_the_cli_refuses_a_bad_value_in_one_sentence() -> None:
    result = run_cli("settings", "set", "latency.slo_target", "1.5")
    assert result.returncode == 1
    assert "latency.slo_target" in result.stderr and "at most" in result.stderr
    assert_one_sentence_error(result.stderr)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_numbers_that_are_not_finite_are_refused(monkeypatch, value: str) -> None:
    # nan passes every bound check: a nan heartbeat made the heartbeat thread spin, a nan limit never fires.
    monkeypatch.setenv("PITWALL_JOBS_HEARTBEAT_SECONDS", value)
    with pytest.raises(SettingsError, match="must be a finite number"):
        load_settings()


def test_a_webhook_url_is_shown_without_the_token_in_its_path() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
    set_setting("alerts.webhook_url", url)
    settings = load_settings()
    assert settings["alerts.webhook_url"] == url  # used whole
    shown = json.dumps(settings.to_dict(), ensure_ascii=False)
    assert "XXXXSECRETXXXX" not in shown and "https://hooks.slack.com/…" in shown
    with pytest.raises(SettingsError) as raised:
        set_setting("alerts.webhook_url", "ftp://files.example/SECRET-PATH")
    assert "SECRET-PATH" not in str(raised.value)
