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
from tests.helpers import assert_one_sentence_error, cli_in_process


def guide(loaded, text: str, max_length: int, stride: int):
    return guide_perplexity(loaded.model, loaded.tokenizer(text, return_tensors="pt").input_ids, max_length, stride)


TEXT = help_centre_text(entries=8)
LONG_TEXT = help_centre_text(entries=24)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: str):
    """The 2-layer random Llama in float32: for everything where real weights are not the point."""
    from lib.models import load_model

    return load_model(tiny_model_dir, dtype="float32")


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


def test_windows_tokens_and_progress_add_up(tiny) -> None:
    calls = []
    result = compute_perplexity(
        tiny, TEXT, 128, 64, batch_size=3, progress=lambda done, total: calls.append((done, total))
    )
    n = len(result.windows)
    assert calls == [(min(i, n), n) for i in range(3, n + 3, 3)]  # one call a batch, windows done so far
    assert [w.index for w in result.windows] == list(range(n))
    assert result.tokens == len(tiny.tokenizer(TEXT).input_ids) - 1
    assert result.tokens_processed == sum(w.end - w.begin for w in result.windows)
    assert result.seconds > 0 and result.tokens_per_second > 0
    assert result.batch_size == 3 and result.compiled is False and result.mfu is None  # no MFU off CUDA


def test_the_downloadable_result_has_every_window(tiny) -> None:
    result = compute_perplexity(tiny, TEXT, 128, 64)
    exported = json.loads(json.dumps(result.to_dict(with_windows=True)))
    assert [w["end"] for w in exported["windows"]] == [w.end for w in result.windows]
    assert all(math.isfinite(w["perplexity"]) for w in exported["windows"])
    assert "windows" not in result.to_dict()  # the CLI's --json stays a flat summary


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(tiny, text: str) -> None:
    with pytest.raises(InputError, match="empty"):
        compute_perplexity(tiny, text)


def test_one_token_is_refused(tiny) -> None:
    assert len(tiny.tokenizer("Hello").input_ids) == 1
    with pytest.raises(InputError, match="only 1 token"):
        compute_perplexity(tiny, "Hello")


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


def test_the_cli_prints_json_and_stores_the_run(tiny, tiny_model_dir: str, tmp_path: Path) -> None:
    text_file = tmp_path / "article.txt"
    text_file.write_text(TEXT)
    result = cli_in_process(
        "eval", "perplexity", "--model", tiny_model_dir, "--file", str(text_file), "--max-length", "128",
        "--dtype", "float32", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {
        "perplexity", "tokens", "bits_per_byte", "word_perplexity", "seconds", "tokens_per_second", "dtype", "device",
    }  # fmt: skip
    expected = compute_perplexity(tiny, TEXT, 128)
    assert out["perplexity"] == pytest.approx(expected.perplexity, rel=1e-4)
    assert out["bits_per_byte"] == pytest.approx(expected.bits_per_byte, rel=1e-4)
    listed = json.loads(cli_in_process("eval", "runs", "--json").stdout)
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
    tiny_model_dir: str, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = cli_in_process("eval", "perplexity", "--model", tiny_model_dir, "--file", str(bad))
    assert result.returncode == 1
    assert message in result.stderr
    assert_one_sentence_error(result.stderr)
    assert json.loads(cli_in_process("eval", "runs", "--json").stdout) == []  # nothing half-stored


def test_a_tokenizer_that_does_not_fit_the_model_is_one_sentence(tiny, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, LlamaConfig

    small = AutoModelForCausalLM.from_config(
        LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    )
    small.save_pretrained(tmp_path / "tiny")
    tiny.tokenizer.save_pretrained(tmp_path / "tiny")  # 49,152 tokens for a 100-token model
    from lib.models import load_model

    with pytest.raises(ModelError, match="tokenizer does not belong"):
        compute_perplexity(load_model(str(tmp_path / "tiny"), dtype="float32"), TEXT)


def test_running_out_of_memory_is_one_sentence(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.evaluation import perplexity

    def exhausted(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(perplexity, "_decoder_forward", exhausted)
    # The batch is halved down to one window first; only then is it an error.
    with pytest.raises(ModelError, match="machine ran out of memory on a window of 128 tokens"):
        compute_perplexity(tiny, TEXT, 128, 64, batch_size=4)


def test_the_cli_reads_standard_input_and_shows_a_stored_run(tiny_model_dir: str) -> None:
    import subprocess
    import sys

    from tests.helpers import ROOT

    scored = subprocess.run(
        [sys.executable, "-m", "lib", "eval", "perplexity", "--model", tiny_model_dir, "--file", "-",
         "--max-length", "64", "--json", "--windows"],
        input=TEXT, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    out = json.loads(scored.stdout)
    assert len(out["windows"]) > 1
    run_id = json.loads(cli_in_process("eval", "runs", "--json").stdout)[0]["id"]
    shown = json.loads(cli_in_process("eval", "show", str(run_id), "--json").stdout)
    assert shown["source"] == "standard input"
    assert shown["perplexity"] == pytest.approx(out["perplexity"])
    assert [w["end"] for w in shown["windows"]] == [w["end"] for w in out["windows"]]
    missing = cli_in_process("eval", "show", str(run_id + 1))
    assert missing.returncode == 1 and "no stored run" in missing.stderr


def test_the_cli_refuses_a_zero_window() -> None:
    result = cli_in_process("eval", "perplexity", "--file", __file__, "--max-length", "0")
    assert result.returncode == 1
    assert "at least 2 tokens" in result.stderr
    assert_one_sentence_error(result.stderr)


def test_token_ids_outside_the_vocabulary_never_reach_the_model(tiny, monkeypatch) -> None:
    # On a GPU such an id is a device-side assert that poisons the CUDA context for the whole server,
    # so it must be refused before the forward pass, not caught after it.
    import torch

    from lib.evaluation.perplexity import score_token_ids

    calls = []
    monkeypatch.setattr(tiny.model, "forward", lambda *a, **k: calls.append(1))
    ids = torch.tensor([1, 2, 3, 49_152, 5])  # the vocabulary has 49,152 ids: 0 to 49,151
    with pytest.raises(ModelError, match="beyond the model's vocabulary of 49,152"):
        score_token_ids(tiny, ids, 4, 2)
    assert calls == []


def test_a_loss_that_overflows_is_refused_not_stored_as_infinity(tiny, monkeypatch) -> None:
    import torch

    from lib.evaluation import perplexity

    monkeypatch.setattr(perplexity, "_nll_per_row", lambda head, rows, target, index, n: torch.full((n,), torch.inf))
    with pytest.raises(ModelError, match=r"not a finite number .* score again in float32"):
        compute_perplexity(tiny, TEXT, 128, 64)


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


def test_a_terminal_run_is_a_job_whose_result_is_the_stored_run(tiny_model_dir: str, tmp_path: Path) -> None:
    text_file = tmp_path / "article.txt"
    text_file.write_text(TEXT)
    scored = cli_in_process(
        "eval", "perplexity", "--model", tiny_model_dir, "--file", str(text_file), "--max-length", "128", "--json"
    )
    assert scored.returncode == 0, scored.stderr
    jobs = json.loads(cli_in_process("jobs", "list", "--json").stdout)
    assert [(j["kind"], j["state"], j["runner"]) for j in jobs] == [("perplexity", "succeeded", "cli")]
    run = json.loads(cli_in_process("eval", "show", str(jobs[0]["result"]["eval_run"]), "--json").stdout)
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
        active = json.loads(cli_in_process("jobs", "list", "--active", "--json").stdout)
        if active and active[0]["progress_done"] > 0:
            break
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.3)
    assert active[0]["runner"] == "cli" and active[0]["progress_done"] < active[0]["progress_total"]
    assert cli_in_process("jobs", "cancel", str(active[0]["id"])).returncode == 0
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 4
    assert_one_sentence_error(stderr)
    assert f"Job #{active[0]['id']} was stopped" in stderr
    assert json.loads(cli_in_process("eval", "runs", "--json").stdout) == []
    assert json.loads(cli_in_process("jobs", "show", str(active[0]["id"]), "--json").stdout)["state"] == "cancelled"


# ------------------------------------------------------------------------ batching, documents, new figures


def test_batched_equals_unbatched_equals_the_guide(tiny) -> None:
    ids = tiny.tokenizer(TEXT, return_tensors="pt").input_ids
    assert (ids.shape[1] - 128) % 48 != 0  # the last window is a short one, padded in its batch
    losses = guide_perplexity(tiny.model, ids, 128, 48).window_losses
    results = [compute_perplexity(tiny, TEXT, 128, 48, batch_size=b, compile=False) for b in (1, 3, 8)]
    assert len(results[0].windows) > 8 and results[0].windows[-1].end - results[0].windows[-1].begin < 128
    for result in results:
        assert [w.nll_sum / w.scored_tokens for w in result.windows] == pytest.approx(losses, rel=1e-4)
        assert result.perplexity == pytest.approx(results[0].perplexity, rel=1e-6)
    assert [r.batch_size for r in results] == [1, 3, 8]


def test_one_static_shape_with_dummy_rows_gives_the_same_numbers(tiny, monkeypatch, caplog) -> None:
    # What torch.compile runs (every batch padded to full width and full batch) without paying for a compile;
    # then a compiler that fails: the run goes on eagerly and says so in the log.
    import torch

    eager = compute_perplexity(tiny, TEXT, 128, 48, batch_size=3, compile=False)
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: module)
    static = compute_perplexity(tiny, TEXT, 128, 48, batch_size=3, compile=True)
    assert static.compiled is True
    assert static.perplexity == pytest.approx(eager.perplexity, rel=1e-6)

    def broken(*args, **kwargs):
        raise AssertionError("inductor could not lower aten.whatever")

    from lib.evaluation import perplexity

    perplexity._COMPILED.clear()
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: broken)
    fallen_back = compute_perplexity(tiny, TEXT, 128, 48, batch_size=3, compile=True)
    assert fallen_back.compiled is False
    assert fallen_back.perplexity == pytest.approx(eager.perplexity, rel=1e-6)
    assert "torch.compile failed" in caplog.text


def test_compile_auto_compiles_only_when_it_pays() -> None:
    from lib.evaluation.perplexity import _compile_pays

    assert not _compile_pays("cuda", 20.0)  # the compile (~35 s) would cost more than it saves
    assert _compile_pays("cuda", 3600.0)
    assert not _compile_pays("cpu", 3600.0)  # compiled was not faster on this project's CPUs (see COMPILE_COST)


def test_running_out_of_gpu_memory_halves_the_batch_and_goes_on(tiny, monkeypatch, caplog) -> None:
    import torch

    from lib.evaluation import perplexity

    expected = compute_perplexity(tiny, TEXT, 128, 48, batch_size=8, compile=False)
    real, failed = perplexity._decoder_forward, []

    def once_too_big(runner, ids):
        if ids.shape[0] > 2 and not failed:
            failed.append(ids.shape[0])
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(runner, ids)

    monkeypatch.setattr(perplexity, "_decoder_forward", once_too_big)
    result = compute_perplexity(tiny, TEXT, 128, 48, batch_size=8, compile=False)
    assert failed == [8] and result.batch_size == 4
    assert result.perplexity == pytest.approx(expected.perplexity, rel=1e-6)
    assert "retrying with 4" in caplog.text


def test_running_out_of_gpu_memory_at_batch_one_is_one_sentence(tiny, monkeypatch) -> None:
    import torch

    from lib.evaluation import perplexity

    def exhausted(runner, ids):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(perplexity, "_decoder_forward", exhausted)
    with pytest.raises(ModelError, match=r"^The GPU ran out of memory on a window of 128 tokens; lower"):
        compute_perplexity(tiny, TEXT, 128, 64, batch_size=2)


def test_bits_per_byte_and_word_perplexity_follow_lm_evaluation_harness(tiny) -> None:
    text = "Naïve café owners ☕ serve crème brûlée.\nTwo lines, some   spaces."
    result = compute_perplexity(tiny, text)
    nll = sum(w.nll_sum for w in result.windows)
    assert result.bytes == len(text.encode("utf-8")) > len(text)  # bytes, not characters
    assert result.words == len(text.split()) == 11
    assert result.bits_per_byte == pytest.approx(nll / result.bytes / math.log(2), rel=1e-12)
    assert result.word_perplexity == pytest.approx(math.exp(nll / result.words), rel=1e-12)
    assert result.perplexity == pytest.approx(math.exp(nll / result.tokens), rel=1e-12)


DOCUMENTS = [
    help_centre_text(entries=3),  # longer than the window: slides within itself
    "Hi",  # one token: skipped
    "The printer on the third floor is out of toner again.",
    help_centre_text(entries=1)[:300],
    "",  # no tokens: skipped
    "Reset your password from the sign-in page.",
]


# Overlapping windows, and back-to-back ones (where every later window's first token goes unscored).
@pytest.mark.parametrize(("max_length", "stride"), [(128, 64), (64, 64)])
def test_documents_are_scored_each_on_its_own_and_padding_changes_nothing(tiny, max_length, stride) -> None:
    from lib.evaluation.perplexity import score_documents

    scored = score_documents(tiny, DOCUMENTS, max_length, stride, batch_size=4, compile=False)
    assert scored.skipped == [1, 4]
    assert [d.index for d in scored.documents] == [0, 2, 3, 5]
    assert len(tiny.tokenizer(DOCUMENTS[0]).input_ids) > 128
    for document in scored.documents:
        alone = compute_perplexity(tiny, DOCUMENTS[document.index], max_length, stride, batch_size=1, compile=False)
        assert document.tokens == alone.tokens
        assert document.nll_sum == pytest.approx(sum(w.nll_sum for w in alone.windows), rel=1e-6)
        assert (document.bytes, document.words) == (alone.bytes, alone.words)
    nll = sum(d.nll_sum for d in scored.documents)
    assert scored.tokens == sum(d.tokens for d in scored.documents)
    assert scored.perplexity == pytest.approx(math.exp(nll / scored.tokens))
    assert scored.bits_per_byte == pytest.approx(nll / sum(d.bytes for d in scored.documents) / math.log(2))
    assert scored.word_perplexity == pytest.approx(math.exp(nll / sum(d.words for d in scored.documents)))
    summary = scored.to_dict()
    assert (summary["documents_scored"], summary["documents_skipped"], summary["skipped"]) == (4, 2, [1, 4])


def test_documents_that_are_all_too_short_are_refused(tiny) -> None:
    from lib.evaluation.perplexity import score_documents

    with pytest.raises(InputError, match="None of the 3 documents is at least 2 tokens long"):
        score_documents(tiny, ["Hi", "", "Hello"])


def test_two_models_side_by_side(tiny, tiny_model_dir: str) -> None:
    from lib.evaluation.perplexity import compare_models
    from lib.models import load_model

    other = load_model(tiny_model_dir, dtype="float32")
    first, second = compare_models([tiny, other], TEXT, 128, 64)
    assert (first.max_length, first.stride) == (second.max_length, second.stride) == (128, 64)
    assert first.perplexity == pytest.approx(second.perplexity, rel=1e-6)
    assert first.bits_per_byte == pytest.approx(second.bits_per_byte, rel=1e-6)
    with pytest.raises(InputError, match="no models"):
        compare_models([], TEXT)


def test_the_cli_scores_a_dataset_as_a_stored_job(tiny, tiny_model_dir: str, tmp_path: Path) -> None:
    from lib.evaluation.perplexity import score_documents

    dataset = tmp_path / "tickets.jsonl"
    dataset.write_text("\n".join(json.dumps({"id": i, "body": text}) for i, text in enumerate(DOCUMENTS)))
    scored = cli_in_process(
        "eval", "perplexity", "--model", tiny_model_dir, "--dataset", str(dataset), "--text-column", "body",
        "--max-length", "128", "--dtype", "float32", "--batch-size", "3", "--json",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    out = json.loads(scored.stdout)
    assert set(out) >= {
        "perplexity", "tokens", "bits_per_byte", "word_perplexity", "seconds", "tokens_per_second", "dtype",
        "device", "documents_scored", "documents_skipped", "batch_size",
    }  # fmt: skip
    expected = score_documents(tiny, [d for d in DOCUMENTS if d.strip()], 128)
    assert out["perplexity"] == pytest.approx(expected.perplexity, rel=1e-5)
    assert (out["documents_scored"], out["documents_skipped"], out["batch_size"]) == (4, 1, 3)
    run_id = json.loads(cli_in_process("eval", "runs", "--json").stdout)[0]["id"]
    shown = json.loads(cli_in_process("eval", "show", str(run_id), "--json").stdout)
    assert shown["source"] == "tickets.jsonl" and shown["mode"] == "documents"
    assert len(shown["documents"]) == 4 and shown["skipped"] == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "{dir}/docs.csv", "--text-column", "body"], "has no column 'body'; choose one of: id, text"),
        (["--dataset", "{dir}/short.txt"], "None of the 2 documents is at least 2 tokens long"),
        (["--file", "{dir}/short.txt", "--dataset", "{dir}/docs.csv"], "not allowed with argument"),
        (["--file", "{dir}/short.txt", "--text-column", "text"], "--text-column names a column of a --dataset"),
        (["--dataset", "{dir}/docs.csv", "--model", "nobody/no-such-model-here"], "no-such-model-here"),
    ],
)
def test_the_cli_explains_bad_datasets_in_one_sentence(
    tiny_model_dir: str, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "docs.csv").write_text("id,text\n1,The printer is out of toner.\n2,Reset your password.\n")
    (tmp_path / "short.txt").write_text("Hi\n\nHello\n")
    argv = [arg.format(dir=tmp_path) for arg in args]
    model = [] if "--model" in argv else ["--model", tiny_model_dir]
    result = cli_in_process("eval", "perplexity", *model, *argv, "--json")  # HF_HUB_OFFLINE=1 is set for every test
    assert result.returncode in (1, 2), result.stderr  # 2: argparse's own usage error
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        assert_one_sentence_error(result.stderr)
    assert json.loads(cli_in_process("eval", "runs", "--json").stdout) == []


def test_a_documents_run_stored_by_this_version_opens_as_both_kinds_of_result(tiny) -> None:
    from lib.evaluation.perplexity import score_documents
    from lib.evaluation.runs import documents_from_run, perplexity_from_run, save_documents_run
    from lib.store import open_store
    from lib.store.eval_runs import get_eval_run

    scored = score_documents(tiny, DOCUMENTS, 128, 64)
    store = open_store()
    run = get_eval_run(store, save_documents_run(store, scored, "docs.jsonl", "c" * 64).id)
    back = documents_from_run(run)
    assert back.perplexity == pytest.approx(scored.perplexity)
    assert [(d.index, d.tokens) for d in back.documents] == [(d.index, d.tokens) for d in scored.documents]
    assert back.skipped == scored.skipped
    assert perplexity_from_run(run).perplexity == pytest.approx(scored.perplexity)  # history lists still open it
