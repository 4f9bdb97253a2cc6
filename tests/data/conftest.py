"""Fixtures of the data-layer tests."""
from __future__ import annotations

import pytest
from data_helpers import INTERACTIONS_FIELDS, avro, field

from personalize_mock.data import parse_schema


@pytest.fixture
def interactions_schema():
    return parse_schema(avro("Interactions", INTERACTIONS_FIELDS))


@pytest.fixture
def minimal_interactions_schema():
    return parse_schema(avro("Interactions", INTERACTIONS_FIELDS[:3]))


@pytest.fixture
def items_schema():
    return parse_schema(avro("Items", [
        field("ITEM_ID", "string"),
        field("GENRES", ["null", "string"], categorical=True),
        field("PRICE", ["null", "double"]),
        field("CREATION_TIMESTAMP", ["null", "long"]),
        field("DESCRIPTION", ["null", "string"], textual=True),
        field("TITLE", ["null", "string"]),
    ]))


@pytest.fixture
def users_schema():
    return parse_schema(avro("Users", [
        field("USER_ID", "string"),
        field("AGE", ["null", "int"]),
        field("MEMBERSHIP", ["null", "string"], categorical=True),
    ]))
