"""Fixtures of the stream tests; the helpers live in stream_kit.py (this folder goes on sys.path)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nanolive.stream.server import Server  # noqa: E402
from stream_kit import Client, loopback_config  # noqa: E402


@pytest.fixture
def running(tmp_path) -> Iterator:
    """Yield ``start(engine=None, **sections) -> (server, client)``; stops everything after."""
    started: list[tuple[Server, Client]] = []

    def start(engine=None, **sections):
        server = Server(loopback_config(tmp_path, **sections), engine=engine)
        server.start()
        client = Client(server)
        started.append((server, client))
        return server, client

    yield start
    for server, client in started:
        client.close()
        server.stop()
