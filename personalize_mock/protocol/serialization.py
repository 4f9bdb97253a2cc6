"""Request bodies in, response bodies out, both walked along the model's shapes."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from botocore.model import Shape

from .errors import SerializationException


def _to_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        raise SerializationException(f"Invalid timestamp value: {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            return _to_datetime(float(value))
        except ValueError:
            try:
                return _to_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                pass
    raise SerializationException(f"Invalid timestamp value: {value!r}")


def parse_body(body: bytes | str | None, shape: Shape | None) -> dict:
    """JSON body -> params with timestamps as aware datetimes. Unknown members are kept so the
    validator can name them."""
    if not body:
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationException(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise SerializationException("Request body must be a JSON object")
    return _decode(params, shape) if shape is not None else params


def _decode(value, shape: Shape):
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: (_decode(v, shape.members[k]) if k in shape.members else v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_decode(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _decode(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _to_datetime(value)
    return value


_AS_IS = ("string", "boolean")  # most values: written as they are


def serialize(value, shape: Shape | None):
    """Project a result onto the output shape: members not in the shape and None values are
    dropped; timestamps become epoch seconds (json and rest-json both use them)."""
    if shape is None or value is None:
        return {} if shape is None else None
    kind = shape.type_name
    if kind in _AS_IS:
        return value
    if kind == "structure":
        members = shape.members
        # a dict: its own keys (results leave most optional members out); an object: its attributes
        named = ((name, value[name]) for name in value if name in members) if isinstance(value, dict) \
            else ((name, getattr(value, name, None)) for name in members)
        out = {}
        for name, item in named:
            if item is not None:
                member = members[name]
                out[name] = item if member.type_name in _AS_IS else serialize(item, member)
        return out
    if kind == "list":
        return [serialize(v, shape.member) for v in value]
    if kind == "map":
        return {k: serialize(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return round(_to_datetime(value).timestamp(), 3)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    return value
