"""Streamed records: PutEvents events and PutItems / PutUsers properties as dataset rows."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from data_helpers import avro, field

from personalize_mock.data import RecordError, event_to_row, parse_schema, properties_to_row, record_id_field
from personalize_mock.data.records import ANONYMOUS_KEY, EVENT_ID_KEY, SESSION_KEY


@pytest.fixture
def rich_interactions():
    return parse_schema(avro("Interactions", [
        field("USER_ID", "string"), field("ITEM_ID", "string"), field("TIMESTAMP", "long"),
        field("EVENT_TYPE", "string"), field("EVENT_VALUE", ["null", "float"]),
        field("IMPRESSION", ["null", "string"]), field("RECOMMENDATION_ID", ["null", "string"]),
        field("EVENT_ATTRIBUTION_SOURCE", ["null", "string"]),
        field("NUM_RATINGS", ["null", "int"]), field("DEVICE", ["null", "string"], categorical=True),
    ]))


def test_event_fields_and_camel_case_properties(rich_interactions):
    event = {
        "eventId": "e-1", "eventType": "watch", "eventValue": 0.75, "itemId": "m1",
        "sentAt": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        "properties": json.dumps({"numRatings": "5", "device": "Tablet"}),
        "recommendationId": "rec-9", "impression": ["m1", "m2", "m3"],
        "metricAttribution": {"eventAttributionSource": "email"},
    }
    row = event_to_row(event, rich_interactions, user_id="u1", session_id="s1")
    assert row == {
        "USER_ID": "u1", "ITEM_ID": "m1", "TIMESTAMP": 1704067200, "EVENT_TYPE": "watch",
        "EVENT_VALUE": 0.75, "IMPRESSION": "m1|m2|m3", "RECOMMENDATION_ID": "rec-9",
        "EVENT_ATTRIBUTION_SOURCE": "email", "NUM_RATINGS": 5, "DEVICE": "Tablet",
        SESSION_KEY: "s1", EVENT_ID_KEY: "e-1", ANONYMOUS_KEY: False,
    }


def test_defaults_for_optional_event_fields(rich_interactions):
    row = event_to_row({"eventType": "click", "itemId": "m1", "sentAt": 1700000000.9},
                       rich_interactions, session_id="anon-session")
    assert row["USER_ID"] == "anon-session" and row[ANONYMOUS_KEY] is True
    assert row["TIMESTAMP"] == 1700000000
    assert row["EVENT_VALUE"] is None and row["NUM_RATINGS"] is None
    assert row["EVENT_ATTRIBUTION_SOURCE"] == "SOURCE_NAME_UNDEFINED"
    resolved = event_to_row({"eventType": "click", "itemId": "m1", "sentAt": 1}, rich_interactions,
                            user_id="u", session_id="s", attribution_source="campaign-a")
    assert resolved["EVENT_ATTRIBUTION_SOURCE"] == "campaign-a"


def test_legacy_item_id_and_event_value_inside_properties(interactions_schema):
    row = event_to_row({"eventType": "rating", "sentAt": 10,
                        "properties": json.dumps({"itemId": "m7", "eventValue": "4.5"})},
                       interactions_schema, user_id="u", session_id="s")
    assert row["ITEM_ID"] == "m7" and row["EVENT_VALUE"] == 4.5


@pytest.mark.parametrize("event, message", [
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": '{"userId": "x"}'},
     "properties key 'userId' is reserved"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": '{"Timestamp": 5}'},
     "properties key 'Timestamp' is reserved"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": '{"color": "red"}'},
     "properties key 'color' does not match a field of the Interactions schema \\(allowed keys: "
     "numRatings, device\\)"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": '{"numRatings": "many"}'},
     "The value 'many' for property numRatings is not an int"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "eventValue": "high"},
     "The value 'high' for eventValue is not a float"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": "{bad json"},
     "properties is not valid JSON"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m", "properties": "[1, 2]"},
     "properties must be a JSON object"),
    ({"eventType": "c", "sentAt": 1}, "The event has no itemId"),
    ({"eventType": "c", "itemId": "m"}, "The event has no sentAt"),
    ({"eventType": "c", "sentAt": "yesterday", "itemId": "m"}, "sentAt must be a timestamp"),
    ({"eventType": "c", "sentAt": 1, "itemId": "m" * 257}, "ids can have at most 256"),
])
def test_bad_events_raise_record_error(rich_interactions, event, message):
    with pytest.raises(RecordError, match=message):
        event_to_row(event, rich_interactions, user_id="u", session_id="s")


def test_event_needs_a_user_or_session(interactions_schema):
    with pytest.raises(RecordError, match="userId or a sessionId"):
        event_to_row({"eventType": "c", "sentAt": 1, "itemId": "m"}, interactions_schema)


def test_required_metadata_must_be_present():
    schema = parse_schema(avro("Interactions", [
        field("USER_ID", "string"), field("ITEM_ID", "string"), field("TIMESTAMP", "long"),
        field("DEVICE", "string", categorical=True),
    ]))
    with pytest.raises(RecordError, match="property device is required"):
        event_to_row({"eventType": "c", "sentAt": 1, "itemId": "m"}, schema, user_id="u",
                     session_id="s")


def test_action_interactions():
    schema = parse_schema(avro("ActionInteractions", [
        field("USER_ID", "string"), field("ACTION_ID", "string"), field("TIMESTAMP", "long"),
        field("EVENT_TYPE", "string"),
    ]))
    row = event_to_row({"actionId": "a1", "sessionId": "s", "userId": "u", "timestamp": 42,
                        "eventType": "Taken"}, schema)
    assert (row["USER_ID"], row["ACTION_ID"], row["TIMESTAMP"], row["EVENT_TYPE"]) == \
        ("u", "a1", 42, "Taken")


def test_put_items_properties(items_schema):
    row = properties_to_row("ITEM_ID", "i1", json.dumps({
        "genres": "Comedy|Drama", "price": 12, "creationTimestamp": 1596238243,
        "description": "A film", "title": "Title",
    }), items_schema)
    assert row == {"ITEM_ID": "i1", "GENRES": "Comedy|Drama", "PRICE": 12.0,
                   "CREATION_TIMESTAMP": 1596238243, "DESCRIPTION": "A film", "TITLE": "Title"}
    assert record_id_field(items_schema) == "ITEM_ID"
    # the key may also be written like the column itself
    assert properties_to_row("ITEM_ID", "i2", '{"CREATION_TIMESTAMP": "7"}',
                             items_schema)["CREATION_TIMESTAMP"] == 7


def test_put_users_properties_and_errors(users_schema):
    row = properties_to_row("USER_ID", "u1", '{"age": "31", "membership": "gold"}', users_schema)
    assert row == {"USER_ID": "u1", "AGE": 31, "MEMBERSHIP": "gold"}
    with pytest.raises(RecordError, match="'country' does not match a field of the Users schema "
                                          "\\(allowed keys: age, membership\\)"):
        properties_to_row("USER_ID", "u1", '{"country": "NL"}', users_schema)
    with pytest.raises(RecordError, match="'userId' does not match"):
        properties_to_row("USER_ID", "u1", '{"userId": "u2"}', users_schema)
    with pytest.raises(RecordError, match="not an int"):
        properties_to_row("USER_ID", "u1", '{"age": 31.5}', users_schema)


def test_booleans_and_required_properties():
    schema = parse_schema(avro("Users", [field("USER_ID", "string"), field("VIP", "boolean"),
                                         field("SCORE", ["null", "double"])]))
    assert properties_to_row("USER_ID", "u", '{"vip": true}', schema)["VIP"] is True
    assert properties_to_row("USER_ID", "u", '{"vip": "false"}', schema)["VIP"] is False
    with pytest.raises(RecordError, match="not a boolean"):
        properties_to_row("USER_ID", "u", '{"vip": 1}', schema)
    with pytest.raises(RecordError, match="property vip is required"):
        properties_to_row("USER_ID", "u", '{"score": 1}', schema)
