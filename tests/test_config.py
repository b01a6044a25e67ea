"""State goes where PITWALL_HOME says, and the model cache can be moved on its own."""

from pathlib import Path

import pytest

from lib import config


def test_everything_lives_under_pitwall_home(pitwall_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PITWALL_MODEL_CACHE")
    assert config.database_path() == pitwall_home / "pitwall.db"
    assert config.model_cache_dir() == pitwall_home / "models"
    assert config.samples_dir() == pitwall_home / "samples"


def test_the_default_home_is_in_the_users_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PITWALL_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.pitwall_home() == tmp_path / ".pitwall"


def test_the_default_model_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.default_model_spec() == "smollm2-135m"
    monkeypatch.setenv("PITWALL_MODEL", "org/other")
    assert config.default_model_spec() == "org/other"
