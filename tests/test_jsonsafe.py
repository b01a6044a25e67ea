"""Strict JSON: NaN and infinity never reach a file, a download or a webhook as invalid JSON."""

from __future__ import annotations

import json
import math

from lib.jsonsafe import dumps
from lib.store import open_store
from lib.store.eval_runs import get_eval_run, insert_eval_run


def strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_with_the_reason() -> None:
    data = strict(dumps({"tokens_per_second": math.inf, "windows": [{"loss": math.nan}, {"loss": 1.5}], "ok": 2.0}))
    assert data["tokens_per_second"] is None and data["windows"][0]["loss"] is None
    assert data["null_reasons"] == {"tokens_per_second": "infinite", "windows[0].loss": "not a number"}
    assert data["windows"][1]["loss"] == 1.5 and data["ok"] == 2.0


def test_finite_data_is_written_unchanged() -> None:
    assert strict(dumps({"a": [1, 2.5, "x", None]})) == {"a": [1, 2.5, "x", None]}


def test_the_store_never_holds_invalid_json() -> None:
    # Python's json writes `Infinity`, which browsers, jq and other languages refuse whole.
    store = open_store()
    run = insert_eval_run(store, "perplexity", "m", "a.txt", {"perplexity": 5.0, "tokens_per_second": math.inf}, {})
    with store.read() as conn:
        raw = conn.execute("SELECT summary FROM eval_runs WHERE id = ?", (run.id,)).fetchone()[0]
    assert strict(raw)["tokens_per_second"] is None
    assert get_eval_run(store, run.id).summary["null_reasons"] == {"tokens_per_second": "infinite"}


def test_the_cli_prints_strict_json(capsys) -> None:
    from lib.output import emit

    emit({"tokens_per_second": math.inf, "perplexity": 4.2}, True, str)
    printed = strict(capsys.readouterr().out)
    assert printed["tokens_per_second"] is None and printed["perplexity"] == 4.2
