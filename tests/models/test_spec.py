"""Model specs resolve to the embedded model, a local folder or a hub id, or say why not."""

from pathlib import Path

import pytest

from lib.errors import ModelError
from lib.models.spec import parse_model_spec


def test_the_default_is_the_embedded_model() -> None:
    assert parse_model_spec(None).source == "embedded"
    assert parse_model_spec(" SmolLM2-135M ").source == "embedded"


def test_a_hub_id_is_recognised() -> None:
    spec = parse_model_spec("HuggingFaceTB/SmolLM2-360M-Instruct")
    assert (spec.source, spec.location) == ("hub", "HuggingFaceTB/SmolLM2-360M-Instruct")


def test_a_local_folder_needs_a_config(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        parse_model_spec(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    spec = parse_model_spec(str(tmp_path))
    assert (spec.source, spec.location) == ("local", str(tmp_path.resolve()))


def test_a_missing_folder_and_nonsense_get_clear_errors() -> None:
    with pytest.raises(ModelError, match="does not exist"):
        parse_model_spec("./no/such/model")
    with pytest.raises(ModelError, match="neither"):
        parse_model_spec("not a model id!")
