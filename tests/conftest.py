"""Shared fixtures: generated data, the standalone server, response capture for conformance."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import personalize_mock  # noqa: F401  (registers the plugin before any mock starts)
from personalize_mock.protocol import dispatch
from personalize_mock.protocol.models import find_operation

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def unset_transitions():
    """State-manager transitions survive moto resets: undo the ones a test sets."""
    from moto.moto_api import state_manager

    names: list[str] = []
    yield names
    for name in names:
        state_manager.unset_transition(name)


@pytest.fixture
def captured_responses(monkeypatch):
    """Every (service, operation, status, body) the protocol layer answered during the test."""
    seen: list[tuple[str, str, int, dict]] = []
    original = dispatch.respond

    def respond(call):
        status, headers, body = original(call)
        operation = find_operation(call.service, call.method, call.path, call.target)
        if operation is not None:
            seen.append((call.service, operation.name, status, json.loads(body) if body else {}))
        return status, headers, body

    monkeypatch.setattr(dispatch, "respond", respond)
    return seen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    """`python server.py` on a free port, as a user starts it."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(REPO / "server.py"), "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode())
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("server did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
