"""Eval runs: answered, scored and stored with their samples; reloaded as stored; nothing stored by a run that
stops half-way; a recorded job; and `python -m lib eval run` end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.evaluation import generate
from lib.evaluation.evalrun import (
    EvalRunSettings,
    eval_runs,
    load_eval_run,
    model_fingerprint,
    run_eval,
    save_eval_run,
)
from lib.evaluation.evalset import read_eval_set
from lib.evaluation.generate import Generation
from lib.jobs import JobCancelled, list_jobs, run_here
from lib.models.loader import load_model
from lib.samples.evalset import qa_eval_rows
from lib.store import open_store
from lib.store.eval_runs import insert_eval_run
from tests.helpers import assert_one_sentence_error, cli_in_process

METRICS = ("bleu", "chrf", "rouge_l", "f1", "exact_match")


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: str):
    return load_model(tiny_model_dir, dtype="float32")


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa4.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in qa_eval_rows()[:4]), encoding="utf-8")
    return path


def settings_for(eval_set, model: str = "tiny", **overrides) -> EvalRunSettings:
    values = {"max_new_tokens": 4, "batch_size": 2, "dtype": "float32", "resamples": 50, **overrides}
    return EvalRunSettings(model, eval_set.name, eval_set.sha256, metrics=METRICS, **values)


def test_a_stored_run_reloads_with_every_sample_after_reopening(tiny, qa_file: Path) -> None:
    eval_set = read_eval_set(qa_file)
    result = run_eval(tiny, eval_set.items, settings_for(eval_set))
    run_id = save_eval_run(open_store(), result)
    from lib.store import db

    db._migrated.clear()  # as a second process would see it
    loaded = load_eval_run(open_store(), run_id)
    assert loaded.to_dict() == result.to_dict() and loaded.run_id == run_id
    assert [s.output for s in loaded.samples] == [s.output for s in result.samples]
    assert loaded.samples[0].references == ["Paris", "Paris, France"]
    payload = json.loads(json.dumps(loaded.to_dict(with_samples=True)))
    assert payload["samples"] == 4 and len(payload["sample_rows"]) == 4
    assert set(payload["metrics"]) == set(METRICS)
    assert all(0 <= m["score"] <= 100 and len(m["ci95"]) == 2 for m in payload["metrics"].values())
    assert set(payload["timings"]) == {
        "generation_seconds", "scoring_seconds", "tokens_per_second", "prompt_tokens", "output_tokens"
    }  # fmt: skip
    assert payload["timings"]["output_tokens"] == sum(s.output_tokens for s in loaded.samples)
    assert payload["settings"]["max_new_tokens"] == 4 and payload["settings"]["dtype_used"] == "float32"
    assert payload["model_fingerprint"] == model_fingerprint(tiny.info.folder)


def test_a_model_answering_every_reference_scores_100(tiny, qa_file: Path, monkeypatch) -> None:
    eval_set = read_eval_set(qa_file)
    answers = [Generation(item.references[0], 10, 2, 0.1) for item in eval_set.items]
    monkeypatch.setattr(generate, "generate_answers", lambda *args, **kwargs: answers)
    result = run_eval(tiny, eval_set.items, settings_for(eval_set))
    assert result.score("f1") == pytest.approx(100) and result.score("exact_match") == pytest.approx(100)
    assert all(sample.scores["f1"] == pytest.approx(100) for sample in result.samples)
    assert result.timings["prompt_tokens"] == 40 and result.timings["output_tokens"] == 8


def test_runs_are_listed_newest_first_and_only_eval_runs(tiny, qa_file: Path, monkeypatch) -> None:
    store = open_store()
    eval_set = read_eval_set(qa_file)
    monkeypatch.setattr(generate, "generate_answers", lambda *a, **k: [Generation("x", 1, 1, 0.0)] * 4)
    first = save_eval_run(store, run_eval(tiny, eval_set.items, settings_for(eval_set)))
    other = insert_eval_run(store, "perplexity", "tiny", "t.txt", {"perplexity": 3.0}, {})
    second = save_eval_run(store, run_eval(tiny, eval_set.items, settings_for(eval_set)))
    assert [run.id for run in eval_runs(store)] == [second, first]
    with pytest.raises(InputError, match="is a perplexity run, not an eval run"):
        load_eval_run(store, other.id)
    with pytest.raises(InputError, match="no stored run #999"):
        load_eval_run(store, 999)


def test_the_fingerprint_tells_different_weights_apart(tiny_model_dir: str, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert model_fingerprint(copy) == model_fingerprint(tiny_model_dir)  # same weights, other folder
    weights = next(copy.glob("*.safetensors"))
    tensors = load_file(weights)
    tensors = {name: tensor + 0.01 if tensor.is_floating_point() else tensor for name, tensor in tensors.items()}
    save_file(tensors, weights, metadata={"format": "pt"})  # a "fine-tune": same names, shapes and size
    assert model_fingerprint(copy) != model_fingerprint(tiny_model_dir)
    assert len(model_fingerprint(copy)) == 16 and torch.is_tensor(next(iter(tensors.values())))


class StoppedContext:
    """A job context whose stop arrives after the answers and scores, just before storing."""

    def __init__(self, store):
        self.store, self.messages = store, []

    def progress(self, done: int, total: int, message: str = "") -> None:
        self.messages.append(message)

    def check(self) -> None:
        raise JobCancelled(1, "nothing was stored")


def test_a_run_stopped_or_failing_half_way_stores_nothing(tiny_model_dir: str, qa_file: Path, monkeypatch) -> None:
    from lib.evaluation.jobs_eval import eval_run_job, eval_run_params

    store = open_store()
    digest = read_eval_set(qa_file).sha256
    params = eval_run_params(qa_file, digest, qa_file.name, tiny_model_dir, "float32", 4, 2, ["f1"], None, 50)
    context = StoppedContext(store)
    with pytest.raises(JobCancelled):
        eval_run_job(context, **params)
    assert "answered 4 of 4" in context.messages and eval_runs(store) == []

    real, calls = generate._generate_batch, []

    def dies_on_the_second_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the machine fell over")
        return real(*args)

    monkeypatch.setattr(generate, "_generate_batch", dies_on_the_second_batch)
    with pytest.raises(RuntimeError):
        eval_run_job(StoppedContext(store), **params)
    assert eval_runs(store) == []
    with store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM eval_samples").fetchone()[0] == 0


def test_the_job_records_progress_and_returns_the_stored_run(tiny_model_dir: str, qa_file: Path) -> None:
    from lib.evaluation.jobs_eval import eval_run_params

    digest = read_eval_set(qa_file).sha256
    params = eval_run_params(qa_file, digest, "qa4.jsonl", tiny_model_dir, "float32", 3, 3, ["f1", "bleu"], None, 50)
    seen = []
    outcome = run_here("eval-run", params, "Eval run (test)", on_progress=lambda d, t: seen.append((d, t)))
    run = load_eval_run(open_store(), outcome["eval_run"])
    assert (3, 4) in seen and seen[-1] == (4, 4)
    assert list(run.metrics) == ["f1", "bleu"] and len(run.samples) == 4 and run.dataset == "qa4.jsonl"
    (job,) = list_jobs(open_store(), kind="eval-run")
    assert job.state == "succeeded" and job.progress_message == "answered 4 of 4"


def test_eval_run_from_the_terminal(tiny_model_dir: str, qa_file: Path, tmp_path: Path) -> None:
    done = cli_in_process(
        "eval", "run", "--model", tiny_model_dir, "--dataset", str(qa_file), "--max-new-tokens", "3",
        "--dtype", "float32", "--resamples", "50", "--fail-below", "f1=101", "--fail-below", "chrf=0", "--json",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    payload = json.loads(done.stdout)
    assert payload["samples"] == 4 and set(payload["metrics"]) == set(METRICS)
    assert "f1 is 0.00, below the required 101" in done.stderr and "chrf" not in done.stderr
    stored = load_eval_run(open_store(), payload["run_id"])  # the same PITWALL_HOME as the command
    assert stored.metrics == payload["metrics"] and len(stored.samples) == 4

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "no question here"}) + "\n", encoding="utf-8")
    refused = cli_in_process("eval", "run", "--model", tiny_model_dir, "--dataset", str(bad), "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert_one_sentence_error(refused.stderr)
    assert "no prompt column" in refused.stderr
