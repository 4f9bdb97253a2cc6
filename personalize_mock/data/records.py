"""Streamed records (personalize-events) as dataset rows (recipes-runtime spec §5.2-5.3).

PutEvents / PutActionInteractions events and PutItems / PutUsers / PutActions records carry their
metadata in a JSON `properties` string whose keys are camelCase versions of the schema's columns
(NUM_RATINGS -> numRatings, CREATION_TIMESTAMP -> creationTimestamp). Keys are matched to columns
the way Personalize compares field names: ignoring case and non-alphanumerics, so numRatings,
NUM_RATINGS and num_ratings all name NUM_RATINGS (field names are unique under that comparison, see
schema.parse_schema). Rows are dicts keyed by column name, ready for DatasetRecords.put(); a record
that does not fit raises RecordError, which the events API reports as InvalidInputException.

Interaction rows also carry three internal keys (names no Avro field can have) that training uses:
SESSION_KEY (the sessionId), EVENT_ID_KEY (the eventId, None when absent) and ANONYMOUS_KEY (True
when the event had no userId: USER_ID then holds the sessionId until an event ties the session to a
user).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any

from personalize_mock.data.errors import RecordError
from personalize_mock.data.schema import (
    ID_FIELDS,
    PersonalizeSchema,
    SchemaField,
    camel_case,
    normalized_name,
)

SESSION_KEY = "@session_id"
EVENT_ID_KEY = "@event_id"
ANONYMOUS_KEY = "@anonymous"
INTERNAL_KEYS = (SESSION_KEY, EVENT_ID_KEY, ANONYMOUS_KEY)

MAX_ID_CHARS = 256
MAX_CATEGORICAL_CHARS = 1000
MAX_TEXTUAL_CHARS = 20_000
ID_COLUMNS = frozenset({"USER_ID", "ITEM_ID", "ACTION_ID"})
UNDEFINED_ATTRIBUTION_SOURCE = "SOURCE_NAME_UNDEFINED"

# PutEvents properties may not use these keys (case-insensitive): they are the event's own fields.
RESERVED_PROPERTY_KEYS = {
    normalized_name(k): k
    for k in ("userId", "sessionId", "eventType", "timestamp", "recommendationId", "impression")
}
# Columns filled from an event's own fields, never from properties.
_EVENT_COLUMNS = frozenset({"USER_ID", "ITEM_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE",
                            "IMPRESSION", "RECOMMENDATION_ID", "EVENT_ATTRIBUTION_SOURCE"})


def coerce_value(f: SchemaField, value: Any, what: str | None = None) -> Any:
    """A Python value for column f (str / int / float / bool / None), or RecordError.

    Accepts JSON-natural values and their string spellings ("100" for a numeric column, "true" for
    a boolean); an empty string is a blank value. `what` names the value in messages.
    """
    what = what or f"column {f.name}"
    if isinstance(value, str) and value == "":
        value = None
    if value is None:
        if f.nullable:
            return None
        raise RecordError(f"A value for {what} is required: the field is not nullable.")
    if f.type == "string":
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            raise RecordError(f"The value for {what} must be a string, not {type(value).__name__}.")
        if f.name in ID_COLUMNS and len(value) > MAX_ID_CHARS:
            raise RecordError(f"The value for {what} has {len(value)} characters; ids can have at "
                              f"most {MAX_ID_CHARS}.")
        if (f.categorical or f.name == "IMPRESSION") and len(value) > MAX_CATEGORICAL_CHARS:
            raise RecordError(f"The value for {what} has {len(value)} characters; the maximum is "
                              f"{MAX_CATEGORICAL_CHARS}.")
        if f.textual and len(value) > MAX_TEXTUAL_CHARS:
            value = value[:MAX_TEXTUAL_CHARS]
        return value
    if f.type in ("int", "long"):
        number: Any = value
        if isinstance(value, bool):
            number = None
        elif isinstance(value, float):
            number = int(value) if value.is_integer() else None
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                number = None
        elif not isinstance(value, int):
            number = None
        if number is None:
            raise RecordError(f"The value {value!r} for {what} is not {_article(f.type)}.")
        bits = 31 if f.type == "int" else 63
        if not -(2**bits) <= number < 2**bits:
            raise RecordError(f"The value {value!r} for {what} is out of range for "
                              f"{_article(f.type)}.")
        return int(number)
    if f.type in ("float", "double"):
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise RecordError(f"The value {value!r} for {what} is not {_article(f.type)}.")
        return number
    # boolean
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RecordError(f"The value {value!r} for {what} is not a boolean (true or false).")


def parse_properties(properties: Any) -> dict[str, Any]:
    """The properties of a streamed record: a JSON object given as a string (None or "" -> {})."""
    if properties is None or properties == "":
        return {}
    if isinstance(properties, dict):
        return properties
    if not isinstance(properties, str):
        raise RecordError("properties must be a string holding a JSON object.")
    try:
        parsed = json.loads(properties)
    except ValueError as exc:
        raise RecordError(f"properties is not valid JSON: {exc}.") from None
    if not isinstance(parsed, dict):
        raise RecordError("properties must be a JSON object, such as {\"numRatings\": \"5\"}.")
    return parsed


def epoch_seconds(value: Any, what: str = "sentAt") -> int:
    """Whole epoch seconds from a datetime, a number or a numeric / ISO-8601 string."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(math.floor(value.timestamp()))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return int(math.floor(value))
    if isinstance(value, str):
        try:
            return int(math.floor(float(value)))
        except ValueError:
            pass
        try:
            return epoch_seconds(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")), what)
        except ValueError:
            pass
    raise RecordError(f"{what} must be a timestamp (epoch seconds), not {value!r}.")


def event_to_row(event: dict, schema: PersonalizeSchema, *, user_id: str | None = None,
                 session_id: str | None = None, attribution_source: str | None = None) -> dict:
    """One PutEvents event (Interactions schema) or PutActionInteractions record (Action
    interactions schema) as a row for DatasetRecords.put().

    event: the request's event dict (eventType, sentAt | timestamp, itemId | actionId, eventId,
    eventValue, properties, recommendationId, impression, metricAttribution{eventAttributionSource};
    an action interaction also carries userId / sessionId itself). user_id / session_id: PutEvents'
    request-level userId and sessionId. attribution_source: the source the control plane resolved
    from recommendationId (a campaign or recommender); the event's own eventAttributionSource wins,
    and without either EVENT_ATTRIBUTION_SOURCE is SOURCE_NAME_UNDEFINED.
    """
    columns = {f.name: f for f in schema.fields}
    is_action = schema.dataset_type == "ACTION_INTERACTIONS"
    target_key, target_col = ("actionId", "ACTION_ID") if is_action else ("itemId", "ITEM_ID")
    props = parse_properties(event.get("properties"))

    user_id = event.get("userId", user_id) or None
    session_id = event.get("sessionId", session_id) or None
    target = event.get(target_key)
    event_value = event.get("eventValue")
    extra: dict[str, Any] = {}
    by_norm = {normalized_name(name): f for name, f in columns.items()}
    for key, value in props.items():
        norm = normalized_name(str(key))
        if norm in RESERVED_PROPERTY_KEYS:
            raise RecordError(f"The properties key '{key}' is reserved: pass "
                              f"{RESERVED_PROPERTY_KEYS[norm]} as a field of the event instead.")
        if norm == normalized_name(target_key):  # older clients put itemId in properties
            target = target if target is not None else value
            continue
        if norm == "eventvalue":  # likewise eventValue
            event_value = event_value if event_value is not None else value
            continue
        f = by_norm.get(norm)
        if f is None or f.name in _EVENT_COLUMNS:
            raise RecordError(_unknown_key_message(key, schema, _EVENT_COLUMNS))
        extra[f.name] = value

    if user_id is None and session_id is None:
        raise RecordError("An event needs a userId or a sessionId.")
    row: dict[str, Any] = {}
    for name, f in columns.items():
        if name == "USER_ID":
            row[name] = coerce_value(f, user_id if user_id is not None else session_id, "userId")
        elif name == target_col:
            if target is None:
                raise RecordError(f"The event has no {target_key}; the {schema.name} dataset "
                                  f"requires {target_col}.")
            row[name] = coerce_value(f, target, target_key)
        elif name == "TIMESTAMP":
            stamp = event.get("timestamp" if is_action else "sentAt", event.get("sentAt"))
            if stamp is None:
                raise RecordError(f"The event has no {'timestamp' if is_action else 'sentAt'}.")
            row[name] = coerce_value(f, epoch_seconds(stamp), "the event's timestamp")
        elif name == "EVENT_TYPE":
            row[name] = coerce_value(f, event.get("eventType"), "eventType")
        elif name == "EVENT_VALUE":
            row[name] = coerce_value(f, event_value, "eventValue")
        elif name == "IMPRESSION":
            impression = event.get("impression")
            if isinstance(impression, (list, tuple)):
                impression = "|".join(str(i) for i in impression)
            row[name] = coerce_value(f, impression, "impression")
        elif name == "RECOMMENDATION_ID":
            row[name] = coerce_value(f, event.get("recommendationId"), "recommendationId")
        elif name == "EVENT_ATTRIBUTION_SOURCE":
            source = (event.get("metricAttribution") or {}).get("eventAttributionSource")
            source = source or attribution_source or UNDEFINED_ATTRIBUTION_SOURCE
            row[name] = coerce_value(f, source, "metricAttribution.eventAttributionSource")
        else:
            row[name] = coerce_value(f, extra.get(name), f"property {camel_case(name)}")
    row[SESSION_KEY] = session_id
    row[EVENT_ID_KEY] = event.get("eventId") or None
    row[ANONYMOUS_KEY] = user_id is None
    return row


def properties_to_row(id_field: str, id_value: Any, properties_json: Any,
                      schema: PersonalizeSchema) -> dict:
    """One PutItems / PutUsers / PutActions record as a row for DatasetRecords.put()."""
    columns = {f.name: f for f in schema.fields}
    if id_field not in columns:
        raise RecordError(f"The {schema.name} schema has no {id_field} field.")
    props = parse_properties(properties_json)
    by_norm = {normalized_name(name): f for name, f in columns.items()}
    values: dict[str, Any] = {}
    for key, value in props.items():
        f = by_norm.get(normalized_name(str(key)))
        if f is None or f.name == id_field:
            raise RecordError(_unknown_key_message(key, schema, {id_field}))
        if f.name in values:
            raise RecordError(f"The properties name column {f.name} more than once.")
        values[f.name] = value
    row = {id_field: coerce_value(columns[id_field], id_value, camel_case(id_field))}
    for name, f in columns.items():
        if name != id_field:
            row[name] = coerce_value(f, values.get(name), f"property {camel_case(name)}")
    return row


def record_id_field(schema: PersonalizeSchema) -> str:
    """ITEM_ID / USER_ID / ACTION_ID: the id column of an Items / Users / Actions schema."""
    field = ID_FIELDS.get(schema.dataset_type or "")
    if field is None:
        raise RecordError(f"The {schema.name} schema does not describe items, users or actions.")
    return field


def _unknown_key_message(key: Any, schema: PersonalizeSchema, excluded) -> str:
    allowed = [camel_case(f.name) for f in schema.fields if f.name not in excluded]
    hint = ", ".join(allowed) if allowed else "none"
    return (f"The properties key '{key}' does not match a field of the {schema.name} schema "
            f"(allowed keys: {hint}).")


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name == "int" else f"a {type_name}"
