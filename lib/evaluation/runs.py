"""Storing and reloading evaluation runs, so results outlive the process that made them."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from lib.evaluation.perplexity import DocumentScore, DocumentsResult, PerplexityResult, Window
from lib.store import Store
from lib.store.eval_runs import EvalRun, insert_eval_run, list_eval_runs

PERPLEXITY = "perplexity"


def save_perplexity_run(store: Store, result: PerplexityResult, source: str, text_sha256: str | None) -> EvalRun:
    """Store a perplexity result, keyed by the scored text's hash; its windows go into the run's detail."""
    detail = {"windows": [vars(w) for w in result.windows]}
    summary = result.to_dict() | {"mode": "text"}
    return insert_eval_run(store, PERPLEXITY, result.model, source, summary, detail, text_sha256)


PREVIEW_CHARACTERS = 120


def save_documents_run(
    store: Store, result: DocumentsResult, source: str, file_sha256: str | None, texts: list[str] | None = None
) -> EvalRun:
    """Store a documents-mode result (a perplexity run with mode "documents"); per-document scores go in the detail,
    with the start of each scored document's text when `texts` are given (so the page can say which one it was)."""
    summary = result.to_dict() | {"mode": "documents"}
    summary.pop("skipped")  # the indices can be many: they live in the detail, the count in the summary
    detail = {"documents": [vars(d) for d in result.documents], "skipped": list(result.skipped)}
    if texts is not None:
        detail["previews"] = {
            str(d.index): " ".join(texts[d.index].split())[:PREVIEW_CHARACTERS] for d in result.documents
        }
    return insert_eval_run(store, PERPLEXITY, result.model, source, summary, detail, file_sha256)


def document_previews(run: EvalRun) -> dict[int, str]:
    """The start of each scored document's text, by index (empty for runs stored without them)."""
    return {int(index): text for index, text in (run.detail.get("previews") or {}).items()}


def is_documents_run(run: EvalRun) -> bool:
    """Whether a stored perplexity run scored documents one by one (runs before documents mode did not)."""
    return run.summary.get("mode") == "documents"


def perplexity_from_run(run: EvalRun) -> PerplexityResult:
    """Rebuild the result (with windows, if the run was loaded with its detail) from a stored run.

    Fields a newer Pitwall added are ignored and fields an older one lacked take their defaults,
    so runs stored by any version still open. A documents run opens too, without windows.
    """
    windows = [Window(**known_fields(Window, w)) for w in run.detail.get("windows", [])]
    return PerplexityResult(**known_fields(PerplexityResult, run.summary), windows=windows)


def documents_from_run(run: EvalRun) -> DocumentsResult:
    """Rebuild a documents-mode result, with every document's score when the detail was loaded."""
    documents = [DocumentScore(**known_fields(DocumentScore, d)) for d in run.detail.get("documents", [])]
    skipped = list(run.detail.get("skipped", []))
    kept = known_fields(DocumentsResult, run.summary, skip=("documents", "skipped"))
    return DocumentsResult(**kept, documents=documents, skipped=skipped)


def known_fields(cls: type, stored: dict[str, Any], skip: tuple[str, ...] = ("windows",)) -> dict[str, Any]:
    """The entries of `stored` that the dataclass `cls` has fields for (but those in `skip`); a field it lacks
    that has no default is None."""
    kept = {}
    for spec in fields(cls):
        if spec.name in skip:
            continue
        if spec.name in stored:
            kept[spec.name] = stored[spec.name]
        elif spec.default is MISSING and spec.default_factory is MISSING:
            kept[spec.name] = None
    return kept


def perplexity_runs(store: Store) -> list[EvalRun]:
    """Stored perplexity runs, newest first."""
    return list_eval_runs(store, PERPLEXITY)
