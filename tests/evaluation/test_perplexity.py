"""Perplexity: the guide's number, every token scored once, clear errors, CLI output and stored runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lib.errors import InputError, ModelError
from lib.evaluation.perplexity import compute_perplexity, resolve_window, window_spans
from lib.evaluation.perplexity_guide import guide_perplexity
from lib.samples.evalset import help_centre_text
from tests.helpers import assert_one_sentence_error, run_cli


def guide(loaded, text: str, max_length: int, stride: int):
    return guide_perplexity(loaded.model, loaded.tokenizer(text, return_tensors="pt").input_ids, max_length, stride)


TEXT = help_centre_text(entries=8)
LONG_TEXT = help_centre_text(entries=24)


# Overlapping and back-to-back windows; the per-window test below covers more shapes at lower cost.
@pytest.mark.parametrize(("max_length", "stride"), [(256, 128), (300, 300)])
def test_matches_the_guide_loop_within_a_tenth_of_a_percent(embedded_model, max_length: int, stride: int) -> None:
    ours = compute_perplexity(embedded_model, LONG_TEXT, max_length, stride)
    theirs = guide(embedded_model, LONG_TEXT, max_length, stride).perplexity
    assert len(ours.windows) > 2
    assert ours.perplexity == pytest.approx(theirs, rel=1e-3)
    assert ours.dtype == "float32"
    assert 3 < ours.perplexity < 200  # fluent English under a working model


@pytest.mark.parametrize(("max_length", "stride"), [(128, 64), (96, 96)])
def test_each_window_scores_what_the_guide_scores(embedded_model, max_length: int, stride: int) -> None:
    # The guide weights each window after the first by one token too few (its label-shift
    # correction); with small strides that moves the corpus value by a few tenths of a percent,
    # so here the per-window losses, which must agree exactly, are compared instead.
    ours = compute_perplexity(embedded_model, TEXT, max_length, stride)
    guide_losses = guide(embedded_model, TEXT, max_length, stride).window_losses
    assert [w.nll_sum / w.scored_tokens for w in ours.windows] == pytest.approx(guide_losses, rel=1e-4)


def test_scrambled_text_is_far_more_perplexing(embedded_model) -> None:
    words = "The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and children were playing."
    scrambled = " ".join(sorted(words.split(), key=lambda w: w[::-1]))
    fluent = compute_perplexity(embedded_model, words).perplexity
    assert fluent == pytest.approx(20.56, rel=0.02)  # shared/REFERENCE.md, one forward pass
    assert compute_perplexity(embedded_model, scrambled).perplexity > 20 * fluent


def scored_positions(n: int, max_length: int, stride: int) -> list[int]:
    scored = []
    for begin, end, first_target in window_spans(n, max_length, stride):
        assert end - begin <= max_length
        scored += range(max(first_target, begin + 1), end)
    return scored


@pytest.mark.parametrize(
    ("n", "max_length", "stride"), [(10, 4, 1), (1000, 128, 37), (7, 50, 25), (2, 2, 1), (9, 4, 3)]
)
def test_overlapping_windows_score_every_token_but_the_first_once(n: int, max_length: int, stride: int) -> None:
    assert scored_positions(n, max_length, stride) == list(range(1, n))


def test_windows_without_overlap_cannot_score_their_first_tokens() -> None:
    assert scored_positions(10, 4, 4) == [1, 2, 3, 5, 6, 7, 9]


def test_no_window_scores_nothing() -> None:
    # One token past a whole number of windows: the guide's loop would divide by zero there.
    spans = window_spans(1025, 1024, 1024)
    assert spans == [(0, 1024, 0)]
    assert scored_positions(1025, 1024, 1024) == list(range(1, 1024))


def test_windows_tokens_and_progress_add_up(embedded_model) -> None:
    calls = []
    result = compute_perplexity(embedded_model, TEXT, 128, 64, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, len(result.windows)) for i in range(1, len(result.windows) + 1)]
    assert result.tokens == len(embedded_model.tokenizer(TEXT).input_ids) - 1
    assert result.seconds > 0 and result.tokens_per_second > 0


def test_the_downloadable_result_has_every_window(embedded_model) -> None:
    result = compute_perplexity(embedded_model, TEXT, 128, 64)
    exported = json.loads(json.dumps(result.to_dict(with_windows=True)))
    assert [w["end"] for w in exported["windows"]] == [w.end for w in result.windows]
    assert all(math.isfinite(w["perplexity"]) for w in exported["windows"])
    assert "windows" not in result.to_dict()  # the CLI's --json stays a flat summary


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(embedded_model, text: str) -> None:
    with pytest.raises(InputError, match="empty"):
        compute_perplexity(embedded_model, text)


def test_one_token_is_refused(embedded_model) -> None:
    assert len(embedded_model.tokenizer("Hello").input_ids) == 1
    with pytest.raises(InputError, match="only 1 token"):
        compute_perplexity(embedded_model, "Hello")


def test_window_settings_are_checked() -> None:
    assert resolve_window(8192, None, None) == (1024, 512)
    assert resolve_window(256, None, None) == (256, 128)
    with pytest.raises(InputError, match="at least 2 tokens"):
        resolve_window(8192, 0, None)
    with pytest.raises(InputError, match="between 1 and"):
        resolve_window(8192, 64, 0)
    with pytest.raises(InputError, match="skip tokens"):
        resolve_window(8192, 64, 65)
    with pytest.raises(InputError, match="exceeds the model's context"):
        resolve_window(512, 1024, None)


def test_the_cli_prints_json_and_stores_the_run(embedded_model, tmp_path: Path) -> None:
    text_file = tmp_path / "article.txt"
    text_file.write_text(TEXT)
    result = run_cli(
        "eval", "perplexity", "--file", str(text_file), "--max-length", "128", "--dtype", "float32", "--json"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"perplexity", "tokens", "seconds", "tokens_per_second", "dtype", "device"}
    assert out["perplexity"] == pytest.approx(compute_perplexity(embedded_model, TEXT, 128).perplexity, rel=1e-4)
    listed = json.loads(run_cli("eval", "runs", "--json").stdout)
    assert [(r["kind"], r["source"]) for r in listed] == [("perplexity", "article.txt")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01binary\x00" * 50, "binary"),
        (b"\xc3\x28 bad \xfa", "not UTF-8"),
        (b"Hello", "only 1 token"),
    ],
)
def test_the_cli_explains_bad_files_in_one_sentence(
    embedded_model, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = run_cli("eval", "perplexity", "--file", str(bad))
    assert result.returncode == 1
    assert message in result.stderr
    assert_one_sentence_error(result.stderr)
    assert json.loads(run_cli("eval", "runs", "--json").stdout) == []  # nothing half-stored


def test_a_tokenizer_that_does_not_fit_the_model_is_one_sentence(embedded_model, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, LlamaConfig

    tiny = AutoModelForCausalLM.from_config(
        LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    )
    tiny.save_pretrained(tmp_path / "tiny")
    embedded_model.tokenizer.save_pretrained(tmp_path / "tiny")  # 49,152 tokens for a 100-token model
    from lib.models import load_model

    with pytest.raises(ModelError, match="tokenizer does not belong"):
        compute_perplexity(load_model(str(tmp_path / "tiny"), dtype="float32"), TEXT)


def test_running_out_of_memory_is_one_sentence(embedded_model, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(embedded_model.model, "forward", exhausted)
    with pytest.raises(ModelError, match="ran out of memory on a window of 128 tokens"):
        compute_perplexity(embedded_model, TEXT, 128, 64)


def test_the_cli_reads_standard_input_and_shows_a_stored_run(embedded_model) -> None:
    import subprocess
    import sys

    from tests.helpers import ROOT

    scored = subprocess.run(
        [sys.executable, "-m", "lib", "eval", "perplexity", "--file", "-", "--max-length", "64", "--json", "--windows"],
        input=TEXT, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    out = json.loads(scored.stdout)
    assert len(out["windows"]) > 1
    run_id = json.loads(run_cli("eval", "runs", "--json").stdout)[0]["id"]
    shown = json.loads(run_cli("eval", "show", str(run_id), "--json").stdout)
    assert shown["source"] == "standard input"
    assert shown["perplexity"] == pytest.approx(out["perplexity"])
    assert [w["end"] for w in shown["windows"]] == [w["end"] for w in out["windows"]]
    missing = run_cli("eval", "show", str(run_id + 1))
    assert missing.returncode == 1 and "no stored run" in missing.stderr


def test_the_cli_refuses_a_zero_window() -> None:
    result = run_cli("eval", "perplexity", "--file", __file__, "--max-length", "0")
    assert result.returncode == 1
    assert "at least 2 tokens" in result.stderr
    assert_one_sentence_error(result.stderr)


def test_token_ids_outside_the_vocabulary_never_reach_the_model(embedded_model, monkeypatch) -> None:
    # On a GPU such an id is a device-side assert that poisons the CUDA context for the whole server,
    # so it must be refused before the forward pass, not caught after it.
    import torch

    from lib.evaluation.perplexity import score_token_ids

    calls = []
    monkeypatch.setattr(embedded_model.model, "forward", lambda *a, **k: calls.append(1))
    ids = torch.tensor([1, 2, 3, 49_152, 5])  # the vocabulary has 49,152 ids: 0 to 49,151
    with pytest.raises(ModelError, match="beyond the model's vocabulary of 49,152"):
        score_token_ids(embedded_model, ids, 4, 2)
    assert calls == []


def test_a_loss_that_overflows_is_refused_not_stored_as_infinity(embedded_model, monkeypatch) -> None:
    from lib.evaluation import perplexity

    monkeypatch.setattr(perplexity, "_nll_sum", lambda logits, targets: float("inf"))
    with pytest.raises(ModelError, match=r"not a finite number .* score again in float32"):
        compute_perplexity(embedded_model, TEXT, 128, 64)


def test_stored_runs_open_whatever_fields_their_version_wrote() -> None:
    from lib.evaluation.runs import perplexity_from_run
    from lib.store.eval_runs import EvalRun

    summary = {
        "perplexity": 12.5, "tokens": 100, "seconds": 1.0, "tokens_per_second": 100.0, "dtype": "float32",
        "device": "cpu", "model": "smollm2-135m", "max_length": 128, "stride": 64,
        "bits_per_byte": 0.9, "mfu": None,  # fields a newer Pitwall adds
    }  # fmt: skip
    newer = perplexity_from_run(EvalRun(1, "perplexity", "2026-11-27T00:00:00", "m", "a.txt", summary))
    assert newer.perplexity == 12.5
    older = perplexity_from_run(EvalRun(2, "perplexity", "2026-11-27T00:00:00", "m", "a.txt", {"perplexity": 9.0}))
    assert older.perplexity == 9.0 and older.tokens is None


def test_the_history_keys_texts_by_content_not_by_file_name() -> None:
    from lib.evaluation.figures import perplexity_history_figure

    runs = [
        {"id": 1, "created_at": "t1", "model": "m", "source": "article.txt", "text_sha256": "a" * 64, "perplexity": 9},
        {"id": 2, "created_at": "t2", "model": "m", "source": "article.txt", "text_sha256": "b" * 64, "perplexity": 30},
        {"id": 3, "created_at": "t3", "model": "m", "source": "renamed.txt", "text_sha256": "a" * 64, "perplexity": 9},
    ]
    traces = {trace.name: list(trace.x) for trace in perplexity_history_figure(runs).data}
    assert traces == {"m · renamed.txt (aaaaaaaa)": ["#1", "#3"], "m · article.txt (bbbbbbbb)": ["#2"]}


def test_a_terminal_run_is_a_job_whose_result_is_the_stored_run(embedded_model, tmp_path: Path) -> None:
    text_file = tmp_path / "article.txt"
    text_file.write_text(TEXT)
    scored = run_cli("eval", "perplexity", "--file", str(text_file), "--max-length", "128", "--json")
    assert scored.returncode == 0, scored.stderr
    jobs = json.loads(run_cli("jobs", "list", "--json").stdout)
    assert [(j["kind"], j["state"], j["runner"]) for j in jobs] == [("perplexity", "succeeded", "cli")]
    run = json.loads(run_cli("eval", "show", str(jobs[0]["result"]["eval_run"]), "--json").stdout)
    assert run["perplexity"] == pytest.approx(json.loads(scored.stdout)["perplexity"])
    assert jobs[0]["progress_done"] == jobs[0]["progress_total"] == len(run["windows"])


def test_jobs_cancel_stops_a_terminal_run_with_one_sentence_and_stores_nothing(embedded_model, tmp_path) -> None:
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT

    text_file = tmp_path / "long.txt"
    text_file.write_text(help_centre_text(entries=80))
    process = subprocess.Popen(
        [sys.executable, "-m", "lib", "eval", "perplexity", "--file", str(text_file), "--max-length", "256",
         "--stride", "16", "--dtype", "float32"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        active = json.loads(run_cli("jobs", "list", "--active", "--json").stdout)
        if active and active[0]["progress_done"] > 0:
            break
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.3)
    assert active[0]["runner"] == "cli" and active[0]["progress_done"] < active[0]["progress_total"]
    assert run_cli("jobs", "cancel", str(active[0]["id"])).returncode == 0
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 4
    assert_one_sentence_error(stderr)
    assert f"Job #{active[0]['id']} was stopped" in stderr
    assert json.loads(run_cli("eval", "runs", "--json").stdout) == []
    assert json.loads(run_cli("jobs", "show", str(active[0]["id"]), "--json").stdout)["state"] == "cancelled"
