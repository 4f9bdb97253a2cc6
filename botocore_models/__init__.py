"""Pinned botocore service models of personalize, personalize-runtime and personalize-events.

The one source of truth for request parsing, input checks, response serialisation and the
API-coverage test (see personalize_mock.protocol.models)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent
