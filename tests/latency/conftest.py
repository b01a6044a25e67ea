"""Latency fixtures: one stub OpenAI-compatible server per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixture: the GPU machine's python3 has no uvicorn, and needs no stub
    from tests.latency.stub_server import StubServer


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    """The stub server (its `stats` count requests and the most in flight)."""
    from tests.latency.stub_server import StubServer

    server = StubServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stub_url(stub: StubServer) -> str:
    """The stub's base URL, http://127.0.0.1:PORT."""
    return stub.url
