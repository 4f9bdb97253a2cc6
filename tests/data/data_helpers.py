"""Builders shared by the data-layer tests (all test data is generated, never read from files)."""
from __future__ import annotations

import json

NS = "com.amazonaws.personalize.schema"


def avro(name: str, fields: list[dict], **extra) -> str:
    return json.dumps({"type": "record", "name": name, "namespace": NS, "fields": fields,
                       "version": "1.0", **extra})


def field(name: str, type_, **attrs) -> dict:
    return {"name": name, "type": type_, **attrs}


INTERACTIONS_FIELDS = [
    field("USER_ID", "string"),
    field("ITEM_ID", "string"),
    field("TIMESTAMP", "long"),
    field("EVENT_TYPE", "string"),
    field("EVENT_VALUE", ["null", "float"]),
]


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()
