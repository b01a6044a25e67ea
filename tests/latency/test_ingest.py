"""Request logs from files: OTel GenAI and plain column names, units, feedback, re-ingest, mappings, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.latency.ingest import ingest_file, records_from_payload
from lib.latency.ingest_mapping import detect_mapping
from lib.store import open_store


def stored() -> dict[str, dict]:
    """Every stored production request by its position in the file (ordered by start time)."""
    with open_store().read() as conn:
        rows = conn.execute("SELECT * FROM latency_requests ORDER BY started_at").fetchall()
    return {index: dict(row) for index, row in enumerate(rows)}


OTEL_ROWS = [
    {"timestamp": "2026-03-01T10:00:00Z", "gen_ai.request.model": "llama", "gen_ai.response.model": "llama-3.1-8b",
     "server.address": "gw.internal", "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 51,
     "gen_ai.server.time_to_first_token": 0.25, "gen_ai.client.operation.duration": 1.25, "thumbs": "up"},
    {"timestamp": "2026-03-01T10:00:05+00:00", "gen_ai.response.model": "llama-3.1-8b",
     "gen_ai.client.operation.duration": 30.0, "error.type": "timeout"},
    {"timestamp": "2026-03-01T10:00:09Z", "gen_ai.response.model": "llama-3.1-8b",
     "gen_ai.server.time_to_first_token": 0.5, "gen_ai.client.operation.duration": 2.0, "thumbs": "down"},
    {"timestamp": "2026-03-01T10:00:12Z", "gen_ai.response.model": "llama-3.1-8b",
     "gen_ai.client.operation.duration": 0.1, "error.type": "503"},
]  # fmt: skip


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_an_otel_named_jsonl_log_is_read_in_milliseconds_with_feedback(tmp_path: Path) -> None:
    result = ingest_file(open_store(), write_jsonl(tmp_path / "spans.jsonl", OTEL_ROWS))
    assert (result.rows, result.stored, result.duplicates, result.skipped) == (4, 4, 0, 0)
    assert result.mapping["model"] == "gen_ai.response.model"  # the model that answered, not the one asked for
    assert result.mapping["e2el_ms"] == "gen_ai.client.operation.duration"
    ok, timeout, slow, unavailable = stored().values()
    assert ok["started_at"] == pytest.approx(1772359200.0)  # 2026-03-01T10:00:00Z
    assert (ok["ttft_ms"], ok["e2el_ms"], ok["tpot_ms"]) == pytest.approx((250.0, 1250.0, 20.0))
    assert (ok["model"], ok["endpoint"], ok["input_tokens"], ok["output_tokens"]) == ("llama-3.1-8b", "gw.internal",
                                                                                       100, 51)  # fmt: skip
    assert (ok["ok"], ok["feedback"], slow["feedback"]) == (1, 1.0, 0.0)
    assert (timeout["ok"], timeout["error_kind"], timeout["e2el_ms"]) == (0, "timeout", 30000.0)
    assert (unavailable["ok"], unavailable["error_kind"]) == (0, "http_5xx")


def test_a_plain_csv_maps_common_names_and_skips_rows_without_a_time(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv"
    log.write_text(
        "Request_ID,timestamp,Model,latency_ms,TTFT_ms,prompt_tokens,completion_tokens,status_code,rating,user_id\n"
        "a1,1772359200000,m1,900,100,10,5,200,5,alice\n"
        "a2,1772359201000,m1,1200,300,10,9,500,,bob\n"
        "a3,,m1,800,100,10,5,200,3,carol\n"
        "a4,1772359203500,m2,,,10,5,200,1,dave\n",
        encoding="utf-8",
    )
    result = ingest_file(open_store(), log)
    assert result.mapping == {
        "started_at": "timestamp", "e2el_ms": "latency_ms", "ttft_ms": "TTFT_ms", "input_tokens": "prompt_tokens",
        "output_tokens": "completion_tokens", "model": "Model", "status_code": "status_code", "score": "rating",
        "user": "user_id", "request_id": "Request_ID",
    }  # fmt: skip
    assert (result.rows, result.stored, result.skipped) == (4, 2, 2)
    assert result.problems == [
        "row 4: no start time (the time column is empty or not a date); left out",
        "row 5: no latency (the latency columns are empty or not numbers); left out",
    ]
    first, failed = stored().values()
    assert (first["request_id"], first["started_at"]) == ("a1", 1772359200.0)
    assert (first["e2el_ms"], first["ttft_ms"]) == (900.0, 100.0)
    assert (first["feedback"], first["user"], first["ok"]) == (1.0, "alice", 1)
    assert (failed["ok"], failed["status_code"], failed["error_kind"], failed["feedback"]) == (0, 500, "http_5xx", None)


def test_ingesting_the_same_file_twice_stores_nothing_new(tmp_path: Path) -> None:
    rows = [*OTEL_ROWS, OTEL_ROWS[0]]  # an identical row is a request
    log = write_jsonl(tmp_path / "spans.jsonl", rows)
    first = ingest_file(open_store(), log)
    again = ingest_file(open_store(), log)
    assert (first.stored, again.stored, again.duplicates) == (5, 0, 5)
    write_jsonl(log, [*rows, {**OTEL_ROWS[2], "timestamp": "2026-03-01T11:00:00Z"}])  # the log grew by one
    assert ingest_file(open_store(), log).stored == 1
    assert len(stored()) == 6


def test_a_mapping_file_overrides_the_automatic_choice(tmp_path: Path) -> None:
    log = tmp_path / "odd.csv"
    log.write_text("when,took,latency_ms\n2026-03-01 10:00:00,1.5,999\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("started_at: when\ne2el_ms: {column: took, unit: s}\n", encoding="utf-8")
    result = ingest_file(open_store(), log, mapping)
    assert result.mapping == {"started_at": "when", "e2el_ms": "took"}
    [row] = stored().values()
    assert (row["started_at"], row["e2el_ms"]) == (1772359200.0, 1500.0)


def test_a_bad_mapping_file_is_one_sentence_naming_what_is_wrong(tmp_path: Path) -> None:
    log = tmp_path / "odd.csv"
    log.write_text("when,took\n2026-03-01 10:00:00,1.5\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"latencyy": "took", "e2el_ms": "duration"}), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        ingest_file(open_store(), log, mapping)
    message = str(raised.value)
    assert "\n" not in message and message.endswith("fix the mapping.")
    assert "unknown fields latencyy" in message and "does not have: duration" in message and "when, took" in message
    assert stored() == {}


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("spans.csv", b"host,region\nweb-1,eu\n", "has no column for a start time or a latency (columns found: host"),
        ("empty.jsonl", b"", "empty.jsonl is empty"),
        ("blank.csv", b"  \n\n", "blank.csv is empty"),
        ("dump.csv", bytes(range(256)) * 4, "dump.csv looks like a binary file"),
        ("log.csv", b"PK\x03\x04" + bytes(100), "log.csv is a ZIP archive"),
    ],
)
def test_an_unusable_file_is_one_sentence_and_stores_nothing(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        ingest_file(open_store(), path)
    assert says in str(raised.value) and "\n" not in str(raised.value)
    assert stored() == {}


def test_names_match_whatever_their_case_dots_or_prefix() -> None:
    mapping = detect_mapping(
        ["@timestamp", "attributes.gen_ai.usage.output_tokens", "GEN_AI_CLIENT_OPERATION_DURATION"]
    )
    assert mapping == {
        "started_at": "@timestamp",
        "e2el_ms": "GEN_AI_CLIENT_OPERATION_DURATION",
        "output_tokens": "attributes.gen_ai.usage.output_tokens",
    }


def test_a_payload_keeps_track_records_and_reads_feedback() -> None:
    records, feedback, problems = records_from_payload(
        {
            "records": [
                {"started_at": 1772359200.5, "ok": True, "e2el_ms": 80.0, "request_id": "r1", "source": "track"},
                {"timestamp": 1772359201, "latency": 0.2, "success": False, "span_id": "r2"},
                "not a record",
            ],
            "feedback": [{"request_id": "r1", "feedback": 0.5}, {"request_id": "r2", "score": 5}, {"feedback": 1}],
        }
    )
    assert [(r.request_id, r.source, r.ok, r.e2el_ms) for r in records] == [("r1", "track", True, 80.0),
                                                                            ("r2", "http", False, 200.0)]  # fmt: skip
    assert feedback == [("r1", 0.5), ("r2", 1.0)]
    assert problems == ["record 3: not an object; left out",
                        "feedback 3: needs request_id and feedback 0-1 (or thumbs_up, or score); left out"]  # fmt: skip
    with pytest.raises(InputError):
        records_from_payload({"rows": []})


def test_logs_numbering_their_rows_by_id_or_sharing_trace_ids_keep_every_request(tmp_path: Path) -> None:
    first, second = tmp_path / "b.csv", tmp_path / "a.csv"
    first.write_text("id,timestamp,latency_ms\n1,1772359200,100\n2,1772359201,200\n", encoding="utf-8")
    second.write_text("id,timestamp,latency_ms\n1,1772359300,300\n2,1772359301,400\n", encoding="utf-8")
    assert [ingest_file(open_store(), log).stored for log in (first, second)] == [2, 2]
    trace = write_jsonl(tmp_path / "trace.jsonl", [
        {"trace_id": "t1", "timestamp": 1772359400, "latency_ms": 50},
        {"trace_id": "t1", "timestamp": 1772359401, "latency_ms": 60},
    ])  # fmt: skip
    assert (ingest_file(open_store(), trace).stored, ingest_file(open_store(), trace).stored) == (2, 0)
    assert [row["e2el_ms"] for row in stored().values()] == [100.0, 200.0, 300.0, 400.0, 50.0, 60.0]


def test_an_error_column_saying_no_error_leaves_the_row_succeeded(tmp_path: Path) -> None:
    rows = [{"timestamp": 1772359200 + i, "latency_ms": 100, "error": value}
            for i, value in enumerate([False, 0, "none", "", "no", "false", "rate limited", True])]  # fmt: skip
    assert ingest_file(open_store(), write_jsonl(tmp_path / "log.jsonl", rows)).stored == 8
    outcomes = [(row["ok"], row["error_kind"], row["error"]) for row in stored().values()]
    assert outcomes == [(1, "", "")] * 6 + [(0, "app_error", "rate limited"), (0, "app_error", "")]


@pytest.mark.parametrize("scale", ["abc", "5", "[5, 1]", "[1, two]"])
def test_a_mapping_with_a_bad_score_scale_is_one_sentence(tmp_path: Path, scale: str) -> None:
    log = tmp_path / "log.csv"
    log.write_text("timestamp,latency_ms,stars\n1772359200,100,4\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(f"score: {{column: stars, scale: {scale}}}\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        ingest_file(open_store(), log, mapping)
    message = str(raised.value)
    assert "score (scale" in message and "such as [1, 5]" in message and "\n" not in message
    assert stored() == {}
    mapping.write_text("score: {column: stars, scale: [0, 10]}\n", encoding="utf-8")
    ingest_file(open_store(), log, mapping)
    assert [row["feedback"] for row in stored().values()] == [0.4]
