"""Write the demo data to a folder: chat JSONL, CSV, the QA set, a text, and a manifest of planted problems.

The manifest lists each planted problem's rows and, under `expected`, what `quality profile --json` reports on
the demo files (tests/quality/test_profile.py holds the profiler to it).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from lib.errors import InputError
from lib.files import write_atomically
from lib.samples.evalset import help_centre_text, qa_eval_rows
from lib.samples.support import SYSTEM_PROMPT, SupportDataset, SupportRow, generate_support_dataset

# The profiler's PII kinds (lib.quality.pii.PII_TYPES), named here so writing the demo needs no pyarrow.
PII_KINDS = ("email", "phone", "credit_card", "iban", "ip", "ssn", "secret")

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
        "expected": expected_profiles(data),
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


def expected_profiles(data: SupportDataset) -> dict[str, dict]:
    """What `quality profile --json` reports on the JSONL and on the CSV's user messages, from what was planted.

    Counts use the CLI's keys. No two clean rows are alike (see lib.samples.support), so each count is a planted
    problem's rows, and `findings` names the planted lists whose rows each finding lists (the CLI gives them as
    1-based file rows). Near-duplicate clusters include each exact copy with its source, as the profiler counts
    them. In the CSV's user messages the near-duplicate copies are exact duplicates (only their reply was
    edited), and only the empty rows whose user message was blanked are empty.
    """
    planted = {name: len(rows) for name, rows in data.planted.items()}
    total, copies = len(data.rows), planted["exact_duplicate"] + planted["near_duplicate"]
    foreign = dict(Counter(data.languages.values()))
    blank_users = sum(1 for row in data.rows if not row.user.strip())
    pii = dict.fromkeys(PII_KINDS, 0)
    pii.update(email=planted["email"], phone=planted["phone"], credit_card=planted["card_number"])
    findings = {
        "pii_email": ["email"],
        "pii_phone": ["phone"],
        "pii_credit_card": ["card_number"],
        "length_outliers": ["very_long"],
    }
    conversations = {
        "command": "python -m lib quality profile support_conversations.jsonl --no-tokens --json",
        "rows": total,
        "text_column": "text",
        "chat": "conversation",
        "empty": 0,
        "empty_parts": planted["empty"],
        "exact_duplicates": planted["exact_duplicate"],
        "near_duplicates": planted["near_duplicate"],
        "near_duplicate_clusters": planted["near_duplicate"],  # each near copy has its own source row
        "pii": pii,
        "markup": {"html": planted["html"], "control_characters": 0, "mojibake": 0},
        "length_outliers": planted["very_long"],
        "numeric_outliers": {},
        "languages": {"en": total - sum(foreign.values())} | foreign,
        "non_english": sum(foreign.values()),
        "findings": findings
        | {
            "empty_parts": ["empty"],
            "exact_duplicates": ["exact_duplicate"],
            "near_duplicates": ["near_duplicate"],
            "markup_html": ["html"],
        },
    }
    user_messages = {
        "command": "python -m lib quality profile support_conversations.csv --text-column user_message --no-tokens "
        "--json",
        "rows": total,
        "text_column": "user_message",
        "chat": None,
        "empty": blank_users,
        "empty_parts": 0,
        "exact_duplicates": copies,
        "near_duplicates": 0,
        "near_duplicate_clusters": 0,  # the copies' user messages are exact: exact groups, not near clusters
        "pii": pii,
        "markup": {"html": 0, "control_characters": 0, "mojibake": 0},
        "length_outliers": planted["very_long"],
        "numeric_outliers": {"response_seconds": planted["response_time_outlier"]},
        "languages": {"en": total - blank_users - sum(foreign.values())} | foreign,
        "non_english": sum(foreign.values()),
        "findings": findings
        | {
            "exact_duplicates": ["exact_duplicate", "near_duplicate"],
            "outlier_response_seconds": ["response_time_outlier"],
        },
    }
    return {"support_conversations.jsonl": conversations, "support_conversations.csv": user_messages}


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
