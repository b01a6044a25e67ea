"""The dashboard's `POST /api/latency/ingest` route: applications' records and feedback, behind a Bearer token.

Body: `{"records": [{...}], "feedback": [{"request_id": ..., "feedback": 0-1}]}` (what track()'s HTTP sender
sends; any client may). Answers are JSON: 200 `{"stored", "duplicates", "feedback", "problems"}`; 503 while no
token is set (the route is off), 401 for a wrong or missing token, 413 over 5 MB, 400 for a body that is not
such JSON. A retried batch stores nothing twice: the store skips request ids it already has.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.errors import InputError, PitwallError, first_line

log = logging.getLogger("pitwall.latency")
MAX_BODY_BYTES = 5 * 2**20
TOKEN_KEY = "latency.ingest_token"
OFF = "Ingest is off: create a token with `python -m lib latency token`."


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def ingest_route(request: Request) -> Response:
    """Store the records and feedback of one authenticated JSON batch; every answer is JSON, never a traceback."""
    try:
        return await _ingest(request)
    except Exception as error:  # a route must answer in a sentence, whatever went wrong
        log.exception("Latency ingest failed")
        return _error(500, f"Ingest failed ({type(error).__name__}: {first_line(error)}); see the dashboard's log.")


async def _ingest(request: Request) -> Response:
    from lib.settings import SettingsError, load_settings

    try:
        expected = str(load_settings()[TOKEN_KEY] or "")
    except SettingsError as error:
        return _error(503, str(error))
    if not expected:
        return _error(503, OFF)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return _error(401, "Wrong or missing token; send `Authorization: Bearer <latency.ingest_token>`.")
    body = await _body(request)
    if body is None:
        return _error(413, f"The body is over {MAX_BODY_BYTES // 2**20} MB; send smaller batches.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        return _error(400, f'The body is not JSON ({first_line(error)}); send {{"records": [...], "feedback": [...]}}.')
    try:
        answer = await asyncio.to_thread(_store, data)  # SQLite writes block: keep the event loop free
    except PitwallError as error:
        return _error(400 if isinstance(error, InputError) else 503, str(error))
    return JSONResponse(answer)


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it passes MAX_BODY_BYTES (checked as it streams in, not after)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _store(data: object) -> dict:
    """Store one batch (records first, so feedback may name a record of the same batch); the route's answer."""
    from lib.latency.ingest import records_from_payload
    from lib.latency.records import save_records, set_feedback
    from lib.latency.watch import check_soon
    from lib.store import open_store

    records, feedback, problems = records_from_payload(data)
    store = open_store()
    stored = save_records(store, records)
    applied = 0
    for request_id, value in feedback:
        if set_feedback(store, request_id, value):
            applied += 1
        elif len(problems) < 100:
            problems.append(f"feedback for {request_id[:64]}: no stored request has that id; left out")
    if stored:
        check_soon(store)  # on its own thread: the answer never waits for the alerts
    return {"stored": stored, "duplicates": len(records) - stored, "feedback": applied, "problems": problems}


def ensure_ingest_token(rotate: bool = False) -> str:
    """The ingest token, creating one (or a new one when rotating) in secrets.toml when there is none."""
    from lib.settings import load_settings, set_setting

    entry = load_settings().entries[TOKEN_KEY]
    if entry.value and not rotate:
        return str(entry.value)
    if entry.source == "environment":
        raise PitwallError(f"The ingest token is set by ${entry.env_var}; change it there to rotate it.")
    return str(set_setting(TOKEN_KEY, secrets.token_urlsafe(32)).value)
