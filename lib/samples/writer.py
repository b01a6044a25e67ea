"""Write the demo data to a folder: chat JSONL, CSV, the QA set, a text, and a manifest of planted problems."""

from __future__ import annotations

import csv
import fcntl
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lib.errors import InputError
from lib.files import write_atomically
from lib.samples.evalset import help_centre_text, qa_eval_rows
from lib.samples.support import SYSTEM_PROMPT, SupportRow, generate_support_dataset

CSV_COLUMNS = ["id", "created_at", "channel", "topic", "user_message", "assistant_reply", "response_seconds", "csat"]


@dataclass(frozen=True)
class SamplesManifest:
    """What was written: the files, the row count, and how many rows carry each planted problem."""

    folder: str
    files: dict[str, str]
    conversations: int
    qa_items: int
    planted: dict[str, int]
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def write_samples(folder: Path | str, seed: int = 7) -> SamplesManifest:
    """Write every demo file into `folder` (created if needed); the same seed writes the same bytes."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"Cannot create the folder {folder} ({error.strerror}); choose a writable folder.") from error
    data = generate_support_dataset(seed)
    qa = qa_eval_rows()
    files = {
        "conversations_jsonl": folder / "support_conversations.jsonl",
        "conversations_csv": folder / "support_conversations.csv",
        "qa_eval": folder / "qa_eval.jsonl",
        "perplexity_text": folder / "help_centre.txt",
        "manifest": folder / "manifest.json",
    }
    manifest = {
        "seed": seed,
        "rows": len(data.rows),
        "row_index": "0-based line of the JSONL file and data row of the CSV (same order)",
        "planted": data.planted,
        "duplicate_of": {str(k): v for k, v in data.duplicate_of.items()},
    }
    contents = {
        "conversations_jsonl": "".join(
            json.dumps({"messages": _messages(r)}, ensure_ascii=False) + "\n" for r in data.rows
        ),
        "conversations_csv": _csv_text(data.rows),
        "qa_eval": "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in qa),
        "perplexity_text": help_centre_text(seed),
        "manifest": json.dumps(manifest, indent=2),  # last: it describes the files written before it
    }
    try:
        # One writer at a time per folder (two users pressing Load demo data together), so the files
        # always come from one writer's seed; each file is still replaced atomically for readers.
        with open(folder / ".samples.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name, text in contents.items():
                write_atomically(files[name], text)
    except OSError as error:
        raise InputError(
            f"Could not write the demo data into {folder} ({error.strerror or error}); choose a writable folder."
        ) from error
    return SamplesManifest(
        folder=str(folder),
        files={name: str(path) for name, path in files.items()},
        conversations=len(data.rows),
        qa_items=len(qa),
        planted={name: len(rows) for name, rows in data.planted.items()},
        seed=seed,
    )


def _csv_text(rows: list[SupportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([
            row.id, row.created_at, row.channel, row.topic, row.user, row.assistant,
            row.response_seconds, "" if row.csat is None else row.csat,
        ])  # fmt: skip
    return out.getvalue()


def _messages(row: SupportRow) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": row.user},
        {"role": "assistant", "content": row.assistant},
    ]
