"""Reading a dataset (CSV, TSV, JSONL, JSON, Parquet or plain text) into one frame with its text column chosen.

One entry point, `read_dataset`, for an upload's bytes or a path. Every file that cannot be used gets an
InputError with one sentence naming the file and what to do; a malformed record is left out and listed in
`Dataset.skipped` while the rest is read. Nothing is written anywhere.

Decisions worth knowing:
- Format: by extension, then by content. Content wins where the two disagree in an unambiguous way: a Parquet
  file (magic `PAR1`) is Parquet whatever its name; a `.txt`, `.csv`, `.tsv` or unnamed file whose first lines
  are all JSON objects is read as JSONL (with a warning); a `.json` file holding one object per line is read as
  JSONL (with a warning); a `.csv` whose header has more tabs than commas is TSV (`;` and `|` are found too).
  Without a known extension: JSON if it starts with `[` or `{`, TSV or CSV if every line of the head has the
  same number of fields, else plain text. A `.jsonl` that is not JSON gets a sentence, not a guess.
- Encoding: UTF-8 (BOM or not), UTF-16/UTF-32 with a BOM or BOM-less UTF-16 recognised by its NUL pattern;
  anything else is decoded as Windows-1252 (where its bytes 0x80-0x9F occur and decode) or latin-1, with a
  warning. Bytes that look binary even then are refused.
- Speed: JSONL goes through pyarrow's multithreaded reader in 16 MB blocks, CSV through pandas' C parser and
  text through Arrow's splitter; only when those refuse the file (a malformed line or row) is it walked record
  by record in Python, which is what finds each bad record's line number. The raw bytes are held in memory
  once (the SHA-256 needs every byte anyway, and the parsers read blocks of them), so the size limit is
  checked from the file's size before a byte is read. Measured on a 2-core machine: 100,000 JSONL rows of
  80 words (53 MiB) in 0.3 s, 1,000,000 (536 MiB) in 3.3-4 s; CSV 0.26 s and 1.6 s.
- Values: CSV cells stay text except whole-number/decimal columns (pandas' inference; no date parsing, and
  "NA"/"None" stay words); empty cells are "" in text columns, NaN in number columns. JSON values keep their
  JSON types; ISO dates stay strings. The text column is pandas' `str` dtype, missing values NaN.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError, first_line
from lib.files import read_file_bytes

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "text")
CHAT_MODES = ("conversation", "message")
CHAT_COLUMN = "messages"
FLAT_TEXT = "text"
HEAD_BYTES = 64 * 1024
MAX_SKIPPED_LISTED = 1_000  # a file of a million bad lines reports the count, not a million entries
MB = 2**20  # Streamlit's upload limit counts MB the same way

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
    ".text": "text",
}
_SUPPORTED = "a CSV, TSV, JSONL, JSON, Parquet or text file"
_DECOMPRESS = "decompress it and choose the file inside"
_MAGIC: list[tuple[bytes, str, str]] = [  # (leading bytes, what the file is, what to do)
    (b"\x89PNG\r\n\x1a\n", "a PNG image", f"choose {_SUPPORTED}"),
    (b"\xff\xd8\xff", "a JPEG image", f"choose {_SUPPORTED}"),
    (b"GIF87a", "a GIF image", f"choose {_SUPPORTED}"),
    (b"GIF89a", "a GIF image", f"choose {_SUPPORTED}"),
    (b"%PDF-", "a PDF document", f"choose {_SUPPORTED}"),
    (b"PK\x03\x04", "a ZIP archive", _DECOMPRESS),
    (b"PK\x05\x06", "an empty ZIP archive", f"choose {_SUPPORTED}"),
    (b"\x1f\x8b", "a gzip-compressed file", _DECOMPRESS),
    (b"\xfd7zXZ\x00", "an xz-compressed file", _DECOMPRESS),
    (b"(\xb5/\xfd", "a zstd-compressed file", _DECOMPRESS),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", _DECOMPRESS),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls, .doc)", "save it as CSV and choose that"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV or Parquet"),
    (b"ARROW1", "an Arrow/Feather file", "save it as Parquet"),
    (b"\x7fELF", "a program", f"choose {_SUPPORTED}"),
]
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")
_OFFICE_ZIP = (".xlsx", ".xlsm", ".docx", ".pptx", ".ods", ".odt")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls that text never needs
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\S*)?$")
_LEADING_BLANK = re.compile(rb"[ \t\r]*\n")
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # two patterns: one with \A| in it is several times slower
_SEQUENCE = (list, tuple, np.ndarray)  # how a JSON list arrives: list from json, ndarray from pyarrow
_CSV_LIMIT_LOCK = threading.Lock()
_PROFILE_SAMPLE = 20_000  # rows looked at per column when ranking text columns


@dataclass
class Dataset:
    """A dataset as read: the frame, the column to profile, and where every row came from."""

    frame: pd.DataFrame  # one row per record (or per message), index 0..n-1, every column kept
    text_column: str  # the column to profile: pandas' str dtype, missing values NaN
    format: str  # "csv" | "tsv" | "jsonl" | "json" | "parquet" | "text"
    encoding: str | None  # "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"...; None for Parquet
    name: str  # the file's name as the user knows it
    size_bytes: int
    sha256: str  # of the raw bytes
    row_numbers: list[int]  # per row: its file line (jsonl, text) or record number (csv, tsv, json, parquet)
    # [{"line": N, "reason": ...}], the first 1,000: N is the file line (jsonl; csv: where the record starts)
    # or the record number (json)
    skipped: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user should know: encoding guessed, format...
    chat: str | None = None  # None, "conversation" or "message": how a `messages` column was flattened
    text_columns: list[str] = field(default_factory=list)  # candidate text columns, best first, for a picker
    delimiter: str | None = None  # CSV and TSV: the field separator found, so an export writes the same

    def to_dict(self) -> dict:
        """Everything but the frame and the row numbers, for `--json` and the stored run."""
        return {
            "name": self.name,
            "format": self.format,
            "encoding": self.encoding,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "rows": len(self.frame),
            "text_column": self.text_column,
            "chat": self.chat,
            "text_columns": self.text_columns,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


@dataclass
class _Table:
    """What a format reader hands back before the text column is chosen."""

    frame: pd.DataFrame
    row_numbers: list[int]
    skipped: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    format: str | None = None  # set when the content overruled the name (a .json file that is JSONL)


# ---------------------------------------------------------------------------------------------- entry point


def read_dataset(
    source: Path | str | bytes,
    name: str | None = None,
    text_column: str | None = None,
    chat: str = "conversation",
    max_bytes: int | None = None,
) -> Dataset:
    """Read a path or an upload's bytes into a Dataset; an unusable file raises InputError with one sentence."""
    if chat not in CHAT_MODES:
        raise InputError(f"Chat data is flattened per 'conversation' or per 'message', not '{chat}'; choose one.")
    limit = _max_bytes() if max_bytes is None else max_bytes
    data, name = _load(source, name, limit)
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        raise InputError(f"{name} is empty (0 bytes); choose a file with records in it.")
    fmt, note = _detect(name, data[:HEAD_BYTES])
    notes = [note] if note else []
    if fmt == "parquet":
        table, encoding = _read_parquet(data, name), None
    else:
        payload, encoding, decode_warnings = _decode(data, name)
        notes += decode_warnings
        if not re.search(rb"\S", payload):
            raise InputError(f"{name} is empty: it holds only whitespace; choose a file with records in it.")
        table = _read_text_format(fmt, payload, name)
    fmt = table.format or fmt
    delimiter = None
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else _delimiter(str(payload[:HEAD_BYTES], "utf-8", errors="ignore"))
    if not len(table.frame):
        raise InputError(f"{name} is empty: it has no records; choose a file with records in it.")
    chosen = _choose_text(table, name, text_column, chat)
    skipped = _drop_oversized(chosen, name, _max_row_bytes()) + table.skipped
    return Dataset(
        frame=chosen.frame,
        text_column=chosen.text_column,
        format=fmt,
        encoding=encoding,
        name=name,
        size_bytes=len(data),
        sha256=digest,
        row_numbers=chosen.row_numbers,
        skipped=sorted(skipped, key=lambda entry: entry["line"])[:MAX_SKIPPED_LISTED],
        warnings=notes + table.warnings + chosen.warnings,
        chat=chosen.chat,
        text_columns=chosen.text_columns,
        delimiter=delimiter,
    )


def read_dataset_bytes(path: Path) -> bytes:
    """A dataset file's bytes, refused in one sentence when missing, a folder, unreadable or over the size limit."""
    return _load(path, None, _max_bytes())[0]


def _max_bytes() -> int:
    return int(_setting("quality.max_file_mb") * MB)


def _max_row_bytes() -> int:
    return int(_setting("quality.max_row_mb") * MB)


def _setting(key: str) -> float:
    from lib.settings import load_settings_or_defaults

    settings, _problem = load_settings_or_defaults()  # a broken settings file must not stop a read
    return float(settings[key])


def _drop_oversized(chosen: _Chosen, name: str, limit: int) -> list[dict]:
    """Leave out rows whose text is over `limit` bytes (one 50 MB "row" is a dump, not a document); list them.

    A file with nothing else in it is refused: there is no document left to profile.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = pc.binary_length(pa.array(chosen.frame[chosen.text_column], type=pa.large_string(), from_pandas=True))
    over = np.flatnonzero(pc.fill_null(pc.greater(sizes, limit), False).to_numpy(zero_copy_only=False))
    if not over.size:
        return []
    allowed = _size_text(limit)
    if over.size == len(chosen.frame):
        what = "its only row is" if over.size == 1 else f"each of its {over.size:,} rows is"
        raise InputError(
            f"{name} cannot be profiled: {what} over the {allowed} per-row limit (quality.max_row_mb); split it "
            "into one document per row, or raise the limit."
        )
    sizes_np = sizes.to_numpy(zero_copy_only=False)
    limit_text = f"over the {allowed} per-row limit (quality.max_row_mb)"
    skipped = [
        {"line": chosen.row_numbers[row], "reason": f"a row of {_size_text(int(sizes_np[row]))}, {limit_text}"}
        for row in over
    ]
    keep = np.ones(len(chosen.frame), dtype=bool)
    keep[over] = False
    chosen.frame = chosen.frame[keep].reset_index(drop=True)
    chosen.row_numbers = [number for number, kept in zip(chosen.row_numbers, keep, strict=True) if kept]
    chosen.warnings.append(f"{over.size:,} rows over the {allowed} per-row limit were left out (see skipped)")
    return skipped


def _load(source: Path | str | bytes, name: str | None, limit: int) -> tuple[bytes, str]:
    """The raw bytes and the name to show, refusing a file over `limit` before reading it."""
    if isinstance(source, bytes | bytearray | memoryview):
        name = name or "the upload"
        _check_size(len(source), limit, name)
        return bytes(source), name
    path = Path(source).expanduser()
    name = name or path.name or str(path)
    return read_file_bytes(path, "a dataset file", lambda size: _check_size(size, limit, name)), name


def _check_size(size: int, limit: int, name: str) -> None:
    if size > limit:
        shown, allowed = _size_text(size), _size_text(limit)
        if shown == allowed:  # 500.3 MB against 500 MB: say it in bytes rather than "500 MB, over 500 MB"
            shown, allowed = f"{size:,} bytes", f"{limit:,}-byte"
        raise InputError(
            f"{name} is {shown}, over the {allowed} limit (quality.max_file_mb); raise the limit or split the file."
        )


def _size_text(size: int) -> str:
    if size >= 10 * MB:
        return f"{size / MB:,.0f} MB"
    if size >= MB // 10:
        return f"{size / MB:.1f} MB"
    return f"{size:,} bytes"


# ---------------------------------------------------------------------------------------------- format


def detect_format(name: str, head: bytes) -> str:
    """The format of a file from its name and first bytes; binary files raise InputError saying what they are."""
    return _detect(name, head)[0]


def _detect(name: str, head: bytes) -> tuple[str, str | None]:
    """The format, and a warning when the content overruled the name."""
    if head.startswith(b"PAR1"):
        return "parquet", None
    _refuse_binary(name, head)
    suffix = Path(name).suffix.lower()
    by_name = _EXTENSIONS.get(suffix)
    if by_name in ("parquet", "jsonl", "json"):
        return by_name, None  # a .json holding JSON Lines is caught while parsing, where it is certain
    text = _head_text(head)
    if _looks_like_jsonl(text):
        if by_name is None:
            return "jsonl", None
        return "jsonl", f"read {name} as JSONL: its lines are JSON objects, whatever its {suffix} name says"
    if by_name == "tsv":
        return "tsv", None
    if by_name == "csv":
        return ("tsv" if _delimiter(text) == "\t" else "csv"), None
    if by_name == "text":
        return "text", None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "json", None
    if _consistent_fields(text, "\t"):
        return "tsv", None
    if _consistent_fields(text, ",", min_lines=3):  # prose has commas too, but rarely the same count in every line
        return "csv", None
    return "text", None  # unknown extension, text inside: one document per line is the safest reading


def _refuse_binary(name: str, head: bytes) -> None:
    for magic, what, todo in _MAGIC:
        if head.startswith(magic):
            if magic == b"PK\x03\x04" and name.lower().endswith(_OFFICE_ZIP):
                what, todo = "an Office document (a ZIP archive)", "save it as CSV and choose that"
            raise InputError(f"{name} is {what}, not a dataset; {todo}.")
    if _BZIP2.match(head):
        raise InputError(f"{name} is a bzip2-compressed file, not a dataset; {_DECOMPRESS}.")
    wide = _bom_encoding(head) in ("utf-16", "utf-32") or _utf16_without_bom(head) is not None
    if b"\x00" in head and not wide:
        raise InputError(f"{name} looks like a binary file, not text (it has NUL bytes); choose {_SUPPORTED}.")


def _head_text(head: bytes) -> str:
    encoding = _bom_encoding(head) or _utf16_without_bom(head) or "utf-8"
    return head.decode(encoding, errors="ignore").lstrip("\ufeff")


def _complete_lines(text: str, limit: int = 5) -> list[str]:
    """Up to `limit` non-blank lines of a file's head, leaving out a last line the head may have cut."""
    lines = text.split("\n")[:-1] if "\n" in text else []
    return [line for line in lines if line.strip()][:limit]


def _looks_like_jsonl(text: str) -> bool:
    lines = _complete_lines(text)
    if not lines:
        return False
    for line in lines:
        try:
            if not isinstance(json.loads(line), dict):
                return False
        except ValueError:
            return False
    return True


def _delimiter(text: str) -> str:
    """The separator of a delimited file's header line: the most frequent of , ; tab and | (comma on ties)."""
    header = text.split("\n", 1)[0]
    header = re.sub(r'"[^"]*"', "", header)  # a quoted header name may hold any of them
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _consistent_fields(text: str, sep: str, min_lines: int = 2) -> bool:
    """True when the head's complete lines all split into the same number (two or more) of fields."""
    lines = _complete_lines(text)
    if len(lines) < min_lines:
        return False
    counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
    return len(counts) == 1 and counts.pop() >= 2


# ---------------------------------------------------------------------------------------------- encoding


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16: it starts the same
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without a BOM: mostly-ASCII text leaves a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls > 0.4 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.4 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _decode(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """The file as UTF-8 bytes without a BOM (what every parser here reads), its encoding and any warning."""
    head = data[:HEAD_BYTES]
    wide = _bom_encoding(head)
    if wide in ("utf-16", "utf-32") or (wide is None and (wide := _utf16_without_bom(head))):
        try:
            text = data.decode(wide)
        except UnicodeDecodeError as error:
            raise InputError(
                f"{name} looks like {wide.upper()} but is damaged at byte {error.start:,}; "
                "save it as UTF-8 and try again."
            ) from error
        return text.lstrip("\ufeff").encode("utf-8"), wide, []
    raw = data[3:] if wide == "utf-8-sig" else data  # one copy for a BOM, none without
    bad = _first_invalid_utf8(raw)
    if bad is None:
        return raw, wide or "utf-8", []
    encoding = "latin-1"
    if re.search(rb"[\x80-\x9f]", raw):  # where Windows-1252 and latin-1 differ: curly quotes, dashes
        try:
            text, encoding = raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw.decode("latin-1")
    sample = text[:HEAD_BYTES]
    if len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        raise InputError(
            f"{name} is not text in UTF-8, UTF-16 or latin-1 (it looks binary); save it as UTF-8 and try again."
        )
    line = raw.count(b"\n", 0, bad) + 1
    warning = (
        f"decoded {name} as {encoding}: it is not valid UTF-8 or UTF-16 (first bad byte on line {line:,}); "
        "check accented characters"
    )
    return text.encode("utf-8"), encoding, [warning]


def _first_invalid_utf8(data: bytes) -> int | None:
    """The offset of the first byte that is not UTF-8, or None for valid UTF-8.

    ASCII is checked a word at a time and everything else by Arrow's vectorised validator (a 500 MB file in
    well under a second); only a file that fails is decoded in Python, in chunks, to find where.
    """
    if data.isascii() or _arrow_valid_utf8(data):
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = 16 * MB
    for start in range(0, len(data), chunk):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(data[start : start + chunk], final=start + chunk >= len(data))
        except UnicodeDecodeError as error:
            return max(0, start - pending + error.start)
    return None


def _arrow_valid_utf8(data: bytes) -> bool:
    import pyarrow as pa

    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, _offsets(len(data)), pa.py_buffer(data)])
    try:
        blob.cast(pa.large_string())  # a safe cast validates every byte
    except pa.ArrowInvalid:
        return False
    return True


# ---------------------------------------------------------------------------------------------- formats


def _read_text_format(fmt: str, payload: bytes, name: str) -> _Table:
    if fmt == "jsonl":
        return _read_jsonl(payload, name)
    if fmt == "json":
        return _read_json(payload, name)
    if fmt in ("csv", "tsv"):
        head = str(payload[:HEAD_BYTES], "utf-8", errors="ignore")
        return _read_csv(payload, name, "\t" if fmt == "tsv" else _delimiter(head))
    return _read_lines(payload)


def _read_lines(payload: bytes) -> _Table:
    """Plain text: one document per line, empty lines kept as rows (the profiler counts them as empty).

    Split on "\n" only, as editors number lines (str.splitlines would also break on \x0b, \x1c, U+2028...),
    by Arrow over the bytes as they are: a million lines in a fraction of a second, no Python string each.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, _offsets(len(payload)), pa.py_buffer(payload)])
    lines = pc.split_pattern(whole, "\n").values
    if payload.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)  # the last newline ends a line; it does not start an empty one
    if payload.find(b"\r") >= 0:
        lines = pc.utf8_rtrim(lines, characters="\r")  # Windows line ends
    frame = pa.table({FLAT_TEXT: lines}).to_pandas()
    return _Table(frame, list(range(1, len(frame) + 1)))


def _offsets(length: int) -> Any:
    """The offsets buffer of a one-value Arrow (large) binary array spanning `length` bytes."""
    import pyarrow as pa

    return pa.array([0, length], pa.int64()).buffers()[1]


def _read_jsonl(payload: bytes, name: str) -> _Table:
    """JSON Lines: pyarrow's block reader, or line by line when it refuses a line (to find and report it)."""
    fast = _jsonl_with_arrow(payload)
    if fast is not None:
        return fast
    records, numbers, skipped = [], [], []
    for number, line in enumerate(io.BytesIO(payload), start=1):
        if not line.strip():
            continue  # a blank line is not a record; the row numbers keep the real line numbers
        value, reason = _parse_record(line)
        if reason:
            skipped.append({"line": number, "reason": reason})
        else:
            records.append(value)
            numbers.append(number)
    if not records:
        first = skipped[0]
        raise InputError(
            f"None of the {len(skipped):,} lines of {name} is a JSON object (line {first['line']}: "
            f"{first['reason']}); check that it is JSON Lines, one object per line."
        )
    return _Table(pd.DataFrame(records), numbers, skipped, _skipped_warning(skipped, "lines"))


def _jsonl_with_arrow(payload: bytes) -> _Table | None:
    """The fast path: None when pyarrow refuses the file (a bad line, mixed types), so lines are read one by one."""
    import pyarrow as pa
    import pyarrow.json as pa_json

    def read(block_size: int, schema: Any = None) -> Any:
        options = pa_json.ReadOptions(block_size=block_size)
        parse = pa_json.ParseOptions(explicit_schema=schema) if schema is not None else None
        return pa_json.read_json(pa.BufferReader(pa.py_buffer(payload)), read_options=options, parse_options=parse)

    block = 16 * MB
    try:
        try:
            table = read(block)
        except pa.ArrowInvalid as error:
            if "straddl" not in str(error):
                return None
            block = min(len(payload) + 1, 2**31 - 1)  # one record longer than a block: read it in one
            table = read(block)
        fixed = _strings_for_dates(table.schema)
        if fixed is not None:  # pyarrow guesses timestamps from ISO strings; keep them as written
            table = read(block, fixed)
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    numbers = _nonblank_line_numbers(payload, table.num_rows)
    if len(numbers) != table.num_rows:
        return None  # two objects on one line, say: let the line-by-line reader say which
    return _Table(table.to_pandas(), numbers)


def _strings_for_dates(schema: Any) -> Any:
    """The schema with every timestamp, date or time field as a string, or None when there is none."""
    import pyarrow as pa

    def fix(kind: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
            return pa.string()
        if pa.types.is_list(kind):
            return pa.list_(fix(kind.value_type))
        if pa.types.is_struct(kind):
            return pa.struct([kind.field(i).with_type(fix(kind.field(i).type)) for i in range(kind.num_fields)])
        return kind

    fixed = pa.schema([schema.field(i).with_type(fix(schema.field(i).type)) for i in range(len(schema))])
    return None if fixed.equals(schema) else fixed


def _nonblank_line_numbers(payload: bytes, expected: int) -> list[int]:
    """The 1-based numbers of the non-blank lines (pyarrow skips blank ones); simply 1..expected when none is blank.

    Counting newlines is a memchr-speed scan; walking the lines is only needed where blank lines shift the
    numbering (or where the counts disagree: two objects on one line, which the line-by-line reader reports).
    """
    lines = payload.count(b"\n") + (not payload.endswith(b"\n"))
    blank = _LEADING_BLANK.match(payload) or _BLANK_LINE.search(payload)
    if lines == expected and not blank:
        return list(range(1, expected + 1))
    return [number for number, line in enumerate(io.BytesIO(payload), start=1) if line.strip()]


def _parse_record(line: bytes) -> tuple[dict | None, str | None]:
    """One JSONL line as a record, or the reason it is not one."""
    try:
        value = json.loads(line)
    except ValueError as error:
        return None, _json_error(error)
    if not isinstance(value, dict):
        return None, f"not a JSON object (a {_json_kind(value)})"
    if b"\\u" in line and not _encodable(value):
        return None, "holds a lone surrogate escape (\\ud800-\\udfff), which is not text"
    return value, None


def _json_error(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg} at column {error.colno})"
    return f"not valid JSON ({first_line(error)})"


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return kinds.get(type(value), "null")


def _encodable(value: Any) -> bool:
    """False when a string somewhere in the value holds a lone surrogate, which pandas cannot store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    return True


def _read_json(payload: bytes, name: str) -> _Table:
    """A JSON array of records (or of strings), or an object holding one such array, or columns of equal length."""
    try:
        value = json.loads(payload)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and payload[:HEAD_BYTES].lstrip().startswith(b"{"):
            table = _read_jsonl(payload, name)
            table.format = "jsonl"
            table.warnings.insert(0, f"read {name} as JSONL: it holds one JSON object per line, not one JSON value")
            return table
        raise InputError(
            f"{name} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "fix it or save it as JSON Lines."
        ) from error
    notes: list[str] = []
    if isinstance(value, dict):
        value, notes = _records_in_object(value, name)
    if not isinstance(value, list):
        raise InputError(
            f"{name} holds a single JSON {_json_kind(value)}, not a list of records; "
            "save the records as a JSON array or as JSON Lines."
        )
    if not value:
        raise InputError(f"{name} is empty: its JSON list has no records; choose a file with records in it.")
    if all(isinstance(item, str) for item in value) and _encodable(value):
        return _Table(pd.DataFrame({FLAT_TEXT: pd.array(value, dtype="str")}), list(range(1, len(value) + 1)))
    records, numbers, skipped = [], [], []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            skipped.append({"line": number, "reason": f"record {number} is not a JSON object (a {_json_kind(item)})"})
        elif not _encodable(item):
            skipped.append({"line": number, "reason": f"record {number} holds a lone surrogate escape"})
        else:
            records.append(item)
            numbers.append(number)
    if not records:
        raise InputError(
            f"None of the {len(value):,} items in {name} is a JSON object ({skipped[0]['reason']}); "
            "save the records as objects with named fields."
        )
    return _Table(pd.DataFrame(records), numbers, skipped, notes + _skipped_warning(skipped, "records"))


def _records_in_object(value: dict, name: str) -> tuple[Any, list[str]]:
    """The records inside a top-level object: its one list of objects, or its columns when all are equal lists."""
    lists = {key: item for key, item in value.items() if isinstance(item, list)}
    of_objects = [key for key, item in lists.items() if item and all(isinstance(x, dict) for x in item)]
    if len(of_objects) == 1:
        key = of_objects[0]
        return value[key], [f"read the records under '{key}' in {name}"]
    lengths = {len(item) for item in lists.values()}
    if lists and len(lists) == len(value) and len(lengths) == 1 and lengths.pop() > 0:
        columns = list(value)
        return [dict(zip(columns, row, strict=True)) for row in zip(*value.values(), strict=True)], []
    return value, []


def _read_csv(payload: bytes, name: str, sep: str) -> _Table:
    """CSV or TSV: pandas' C parser, or record by record when a row is malformed (to report its line)."""
    if _first_record_too_wide(payload, sep):  # pandas would drop every row's last field without a word
        return _read_csv_by_record(str(payload, "utf-8"), name, sep, unclosed=False)
    try:
        frame = _pandas_csv(io.BytesIO(payload), sep)
        return _Table(frame, list(range(1, len(frame) + 1)))
    except pd.errors.EmptyDataError as error:
        raise InputError(f"{name} is empty: it has no header or records; choose a file with records in it.") from error
    except pd.errors.ParserError as error:
        unclosed = "EOF inside string" in str(error)
    return _read_csv_by_record(str(payload, "utf-8"), name, sep, unclosed)


def _first_record_too_wide(payload: bytes, sep: str) -> bool:
    """True when the first record has more fields than the header, which pandas' C parser does not report."""
    head = str(payload[:HEAD_BYTES], "utf-8", errors="ignore")
    rows = [row for row in csv.reader(io.StringIO(head, newline=""), delimiter=sep) if row][:2]
    return len(rows) == 2 and len(rows[1]) > len(rows[0])


def _pandas_csv(buffer: io.IOBase, sep: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mixed-type and parser chatter; the outcome is reported by us
        frame = pd.read_csv(
            buffer,
            sep=sep,
            encoding="utf-8",
            index_col=False,  # a row with one field too many is an error, not a silent index column
            keep_default_na=False,  # "NA", "None", "null" in a text column are words, not missing values
            na_values=[""],
            low_memory=False,
            on_bad_lines="error",
        )
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column].dtype):
            frame[column] = frame[column].fillna("")  # a CSV cell cannot be missing, only empty
    return frame


@dataclass
class _CsvRecord:
    first: int  # the file line it starts on (1-based)
    last: int  # the file line it ends on (a quoted cell may hold newlines)
    fields: int


def _read_csv_by_record(text: str, name: str, sep: str, unclosed: bool) -> _Table:
    """Walk the records with Python's csv module, leave out the malformed ones, and re-parse the rest with pandas.

    The kept records are cut from the original text and parsed again, so they get exactly the values and types
    the fast path would have given them. A row with fewer fields than the header is kept, its missing cells
    empty, as pandas and spreadsheets do; one with more cannot be matched to the columns and is left out.
    """
    with _CSV_LIMIT_LOCK:  # the limit is process-wide: raise it for this walk only, one walk at a time
        limit = csv.field_size_limit(2**31 - 1)  # a single 50 MB cell is data, not an attack
        try:
            records, line_starts, broken = _csv_records(text, sep)
        finally:
            csv.field_size_limit(limit)
    if not records:
        reason = broken["reason"] if broken else "no header"
        raise InputError(f"{name} cannot be read as CSV ({reason}); check the delimiter and the quoting.")
    header, body = records[0], records[1:]
    skipped = [broken] if broken else []
    if unclosed and body:  # Python's reader runs an unclosed quote to the end of the file; pandas refuses it
        skipped.append({"line": body.pop().first, "reason": "a quoted field opened here is never closed"})
    kept, numbers = [header], []
    for number, record in enumerate(body, start=1):
        if record.fields > header.fields:
            reason = f"{record.fields} fields where the header has {header.fields}"
            skipped.append({"line": record.first, "reason": reason})
        else:
            kept.append(record)
            numbers.append(number)
    skipped.sort(key=lambda entry: entry["line"])
    if not numbers and skipped:
        first = skipped[0]
        raise InputError(
            f"Every record of {name} is malformed (line {first['line']}: {first['reason']}); "
            "check the delimiter and the quoting."
        )
    cut = "".join(text[line_starts[r.first - 1] : line_starts[r.last]] for r in kept)
    frame = _pandas_csv(io.StringIO(cut), sep)
    if len(frame) != len(numbers):
        raise InputError(f"{name} cannot be read as a consistent table; check its quoting and save it again.")
    return _Table(frame, numbers, skipped, _skipped_warning(skipped, "records"))


def _csv_records(text: str, sep: str) -> tuple[list[_CsvRecord], list[int], dict | None]:
    """Every non-blank record (the header first), where each file line starts, and a record that broke the parse."""
    line_starts = [0]  # line_starts[n - 1] is where line n starts in `text`

    def lines() -> Any:
        for line in io.StringIO(text, newline=""):
            line_starts.append(line_starts[-1] + len(line))
            yield line

    reader = csv.reader(lines(), delimiter=sep)
    records: list[_CsvRecord] = []
    first = 1
    try:
        for row in reader:
            span = text[line_starts[first - 1] : line_starts[reader.line_num]]
            if span.strip():  # blank and whitespace-only lines are not records, as in pandas
                records.append(_CsvRecord(first, reader.line_num, len(row)))
            first = reader.line_num + 1
    except csv.Error as error:
        return records, line_starts, {"line": first, "reason": f"cannot be parsed ({error}); the rest is left out"}
    return records, line_starts, None


def _read_parquet(data: bytes, name: str) -> _Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as error:
        reason = first_line(error)[:160]
        raise InputError(f"{name} is not a readable Parquet file ({reason}); export it again.") from error
    if frame.empty and not len(frame.columns):
        raise InputError(f"{name} is empty: the Parquet file has no columns; choose a file with records in it.")
    frame = frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex))  # a stored index becomes a column
    return _Table(frame, list(range(1, len(frame) + 1)))


def _skipped_warning(skipped: list[dict], unit: str) -> list[str]:
    if len(skipped) <= MAX_SKIPPED_LISTED:
        return []
    return [f"{len(skipped):,} malformed {unit} were left out; the first {MAX_SKIPPED_LISTED:,} are listed"]


# ---------------------------------------------------------------------------------------------- text column


@dataclass
class _Chosen:
    frame: pd.DataFrame
    text_column: str
    row_numbers: list[int]
    text_columns: list[str]
    chat: str | None = None
    warnings: list[str] = field(default_factory=list)


def _choose_text(table: _Table, name: str, text_column: str | None, chat: str) -> _Chosen:
    """Pick (or check) the text column, flattening chat messages when that is what is to be profiled."""
    frame = table.frame
    columns = [str(column) for column in frame.columns]
    has_chat = _is_chat_column(frame)
    own_text = FLAT_TEXT in frame.columns
    if has_chat and (text_column in (None, CHAT_COLUMN) or (text_column == FLAT_TEXT and not own_text)):
        return _flatten(table, chat, name)
    candidates = candidate_text_columns(frame)
    if has_chat:
        candidates = [CHAT_COLUMN, *candidates]
    if text_column is not None:
        if text_column not in frame.columns:
            raise InputError(f"{name} has no column '{text_column}'; choose one of: {_listing(columns)}.")
        chosen, notes = text_column, []
    elif candidates:
        chosen, notes = candidates[0], []
        if _column_profile(frame[chosen]).low:  # type: ignore[union-attr]
            notes.append(f"profiling '{chosen}', which looks like identifiers or labels; choose the text column")
    else:
        raise InputError(f"{name} has no text column (columns found: {_listing(columns)}); choose a file with text.")
    text, converted = _as_text(frame[chosen], name, chosen)
    if text is not None:
        frame[chosen] = text  # the reader's own frame: no copy needed
    if converted:
        notes.append(f"{converted:,} values of '{chosen}' were not text and are profiled as their JSON text")
    return _Chosen(frame, chosen, table.row_numbers, candidates, None, notes)


def _listing(columns: list[str], limit: int = 20) -> str:
    if not columns:
        return "none"
    more = f" and {len(columns) - limit} more" if len(columns) > limit else ""
    return ", ".join(columns[:limit]) + more


def _as_text(series: pd.Series, name: str, column: str) -> tuple[pd.Series | None, int]:
    """The column as pandas' str dtype (None when it is one already), and how many values were not text.

    Missing values stay NaN; a column with no text in it at all is refused.
    """
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return None, 0
    present = series[series.notna()] if series.dtype != object else series[[not _missing(v) for v in series]]
    strings = sum(isinstance(value, str) for value in present)
    if len(present) and not strings:
        raise InputError(f"Column '{column}' of {name} holds no text ({series.dtype} values); choose a column of text.")
    values = [np.nan if _missing(value) else value if isinstance(value, str) else _json_text(value) for value in series]
    return pd.Series(pd.array(values, dtype="str"), index=series.index), len(present) - strings


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _json_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _is_chat_column(frame: pd.DataFrame) -> bool:
    """True when `messages` holds lists of {role, content} objects (OpenAI's chat fine-tuning format)."""
    if CHAT_COLUMN not in frame.columns:
        return False
    for value in frame[CHAT_COLUMN].head(100):
        if isinstance(value, _SEQUENCE) and len(value):
            return any(isinstance(item, dict) and ("content" in item or "role" in item) for item in value)
    return False


def _flatten(table: _Table, chat: str, name: str) -> _Chosen:
    """Chat records as one text per conversation ("role: content" lines) or one row per message."""
    frame, notes = table.frame, []
    conversations = [_messages(value) for value in frame[CHAT_COLUMN]]
    without = sum(1 for value in frame[CHAT_COLUMN] if not isinstance(value, _SEQUENCE))
    if without:
        notes.append(f"{without:,} records of {name} have no messages list; they count as empty rows")
    if chat == "message":
        rows = [(index, role, text) for index, messages in enumerate(conversations) for role, text in messages]
        flat = pd.DataFrame(
            {
                "conversation": pd.array([row[0] for row in rows], dtype="int64"),
                "role": pd.array([row[1] for row in rows], dtype="str"),
                FLAT_TEXT: pd.array([row[2] for row in rows], dtype="str"),
            }
        )
        numbers = [table.row_numbers[row[0]] for row in rows]
        return _Chosen(flat, FLAT_TEXT, numbers, [FLAT_TEXT], "message", notes)
    texts = [_joined(messages) for messages in conversations]
    flat = frame  # the reader's own frame: the text column is added in place, the other columns kept
    if FLAT_TEXT in flat.columns:
        notes.append(f"the file's own '{FLAT_TEXT}' column is replaced by the flattened messages")
    flat[FLAT_TEXT] = pd.array(texts, dtype="str")
    others = [column for column in candidate_text_columns(frame) if column != FLAT_TEXT]
    return _Chosen(flat, FLAT_TEXT, table.row_numbers, [FLAT_TEXT, *others], "conversation", notes)


def _messages(value: Any) -> list[tuple[str, str]]:
    """(role, text) for each message of one conversation; a non-list is no messages."""
    if not isinstance(value, _SEQUENCE):
        return []
    out = []
    for message in value:
        if isinstance(message, dict):
            role, content = message.get("role"), message.get("content")
            text = content_text(content)
            out.append((role if isinstance(role, str) else "", text))
        elif isinstance(message, str):
            out.append(("", message))
    return out


def flatten_messages(value: Any) -> str:
    """One conversation as a row of text: its messages as "role: content" lines (a non-list: "")."""
    return _joined(_messages(value))


def _joined(messages: list[tuple[str, str]]) -> str:
    return "\n".join(f"{role}: {text}" if role else text for role, text in messages)


def content_text(content: Any) -> str:
    """A message's text: a string as it is, the text parts of a list of parts joined by newlines, else empty."""
    if isinstance(content, str):
        return content
    if isinstance(content, _SEQUENCE):
        parts = [part.get("text") for part in content if isinstance(part, dict)]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


@dataclass
class _ColumnProfile:
    low: bool  # identifiers, dates, codes or a short categorical: kept as candidates, ranked last
    score: float  # median length of the non-empty strings times the share of rows that have one


def candidate_text_columns(frame: pd.DataFrame) -> list[str]:
    """String columns, best text first: long typical values filled in most rows; ids, dates, labels last."""
    ranked = []
    for position, column in enumerate(frame.columns):
        profile = _column_profile(frame[column])
        if profile is not None:
            ranked.append((profile.low, -profile.score, position, column))
    return [column for *_, column in sorted(ranked)]


def _column_profile(series: pd.Series) -> _ColumnProfile | None:
    """How text-like a column is, from an even sample of its rows; None when it is not a string column.

    The median length, not the mean, ranks columns, so a few pasted logs cannot make a column of short
    messages look like the main text: in the demo CSV ten 30,000-character logs lift `user_message`'s mean to
    167 characters, near `assistant_reply`'s 185, while its median stays at 80 against 184.
    """
    categorical = isinstance(series.dtype, pd.CategoricalDtype)  # Parquet written from a pandas category
    if not (categorical or pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
        return None
    if len(series) > _PROFILE_SAMPLE:  # 20 evenly spaced runs: slices are free, a scattered take copies the column
        run = _PROFILE_SAMPLE // 20
        starts = np.linspace(0, len(series) - run, 20).astype(int)
        series = pd.concat([series.iloc[start : start + run] for start in starts])
    if categorical or series.dtype == object:
        present = [value for value in series if not _missing(value)]
        strings = [value for value in present if isinstance(value, str) and _encodable(value)]
        if not strings or len(strings) < 0.5 * len(present):
            return None  # lists, numbers or objects (a `messages` column is handled as chat instead)
        texts = pd.Series(strings, dtype="str")
    else:
        texts = series.dropna()
    filled = texts[texts.str.strip() != ""]
    if filled.empty:
        return _ColumnProfile(low=True, score=0.0)
    spaced = filled.str.contains(r"\s", regex=True).mean()
    dates = filled.str.strip().str.fullmatch(_DATE_LIKE.pattern).mean()
    labels = len(filled) >= 20 and filled.nunique() <= 0.05 * len(filled)
    score = float(filled.str.len().median()) * len(filled) / len(series)
    return _ColumnProfile(low=bool(spaced < 0.5 or dates > 0.8 or labels), score=score)
