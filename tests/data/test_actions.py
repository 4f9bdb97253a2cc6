"""build_action_data: the Actions and Action interactions datasets as ActionData."""
from __future__ import annotations

import numpy as np
import pytest
from data_helpers import avro, csv_bytes, field

from personalize_mock.data import DatasetRecords, event_to_row, parse_schema, properties_to_row, read_csv_records
from personalize_mock.data.actions import build_action_data, canonical_action_event_type
from personalize_mock.recipes.base import ActionData, TrainingData


@pytest.fixture
def actions_schema():
    return parse_schema(avro("Actions", [
        field("ACTION_ID", "string"),
        field("VALUE", ["null", "long"]),
        field("ACTION_EXPIRATION_TIMESTAMP", ["null", "long"]),
        field("REPEAT_FREQUENCY", ["null", "long"]),
        field("CREATION_TIMESTAMP", ["null", "long"]),
        field("TIER", ["null", "string"], categorical=True),
    ]))


@pytest.fixture
def action_interactions_schema():
    return parse_schema(avro("ActionInteractions", [
        field("USER_ID", "string"), field("ACTION_ID", "string"), field("TIMESTAMP", "long"),
        field("EVENT_TYPE", "string"),
    ]))


def _actions(schema, rows):
    header = ["ACTION_ID", "VALUE", "ACTION_EXPIRATION_TIMESTAMP", "REPEAT_FREQUENCY", "CREATION_TIMESTAMP", "TIER"]
    store = DatasetRecords(schema)
    store.import_bulk(read_csv_records([("a.csv", csv_bytes(header, rows))], schema, "Actions"))
    return store


def _interactions(schema, rows):
    store = DatasetRecords(schema)
    store.import_bulk(read_csv_records([("ai.csv", csv_bytes(["USER_ID", "ACTION_ID", "TIMESTAMP", "EVENT_TYPE"], rows))],
                                       schema, "Action_Interactions"))
    return store


@pytest.mark.parametrize("spelling, canonical", [
    ("Taken", "TAKEN"), ("TAKEN", "TAKEN"), (" taken ", "TAKEN"),
    ("Not Taken", "NOT_TAKEN"), ("NOT_TAKEN", "NOT_TAKEN"), ("not-taken", "NOT_TAKEN"), ("NotTaken", "NOT_TAKEN"),
    ("Viewed", "VIEWED"), ("VIEWED", "VIEWED"),
    ("Clicked", "Clicked"), (None, ""),
])
def test_event_type_spellings(spelling, canonical):
    assert canonical_action_event_type(spelling) == canonical


def test_actions_and_interactions(actions_schema, action_interactions_schema):
    actions = _actions(actions_schema, [
        ["a1", 10, 2000, 7, 100, "gold"],
        ["a2", "", "", "", "", ""],
        ["a3", 3, "", 30, 50, "basic"],
    ])
    interactions = _interactions(action_interactions_schema, [
        ["u2", "a2", 20, "Not Taken"],
        ["u1", "a1", 10, "Taken"],
        ["u1", "zz", 20, "Viewed"],  # an action missing from the Actions dataset
        ["u3", "a1", 5, "Clicked"],
    ])
    data = build_action_data(actions, interactions)
    assert isinstance(data, ActionData)
    assert data.action_ids.tolist() == ["a1", "a2", "a3", "zz"]
    assert data.cataloged.tolist() == [True, True, True, False]
    assert data.values[0] == 10.0 and data.values[2] == 3.0
    assert np.isnan(data.values[1]) and np.isnan(data.values[3])
    assert data.expiration_timestamps.tolist() == [2000, -1, -1, -1]
    assert data.repeat_frequencies.tolist() == [7, -1, 30, -1]
    assert data.creation_timestamps.tolist() == [100, -1, 50, -1]
    assert data.expiration_timestamps.dtype == np.int64 and data.values.dtype == np.float64
    # time order, ties in arrival order; users numbered by first appearance in that order
    assert data.timestamps.tolist() == [5, 10, 20, 20]
    assert data.user_ids.tolist() == ["u3", "u1", "u2"]
    assert data.users.tolist() == [0, 1, 2, 1]
    assert data.actions.tolist() == [0, 0, 1, 3]
    assert data.event_types.tolist() == ["Clicked", "TAKEN", "NOT_TAKEN", "VIEWED"]
    assert data.users.dtype == np.int32 and data.actions.dtype == np.int32 and data.timestamps.dtype == np.int64
    assert data.n_actions == 4 and data.n_interactions == 4 and data.action_index["a3"] == 2

    late = data.subset(data.timestamps >= 10)
    assert late.n_interactions == 3 and late.action_ids.tolist() == data.action_ids.tolist()
    assert late.users.tolist() == [1, 2, 1] and late.user_ids.tolist() == data.user_ids.tolist()


def test_streamed_records_and_missing_datasets(actions_schema, action_interactions_schema):
    actions = _actions(actions_schema, [["a1", 1, "", "", "", ""]])
    actions.put([properties_to_row("ACTION_ID", "a1", '{"value": "8"}', actions_schema),
                 properties_to_row("ACTION_ID", "a9", '{"repeatFrequency": 3}', actions_schema)])
    interactions = _interactions(action_interactions_schema, [["u1", "a1", 10, "TAKEN"]])
    rows = [
        event_to_row({"actionId": "a9", "sessionId": "s1", "timestamp": 30, "eventType": "Viewed",
                      "eventId": "e1"}, action_interactions_schema),  # anonymous, tied to u5 below
        event_to_row({"actionId": "a9", "sessionId": "s1", "userId": "u5", "timestamp": 31,
                      "eventType": "Taken", "eventId": "e2"}, action_interactions_schema),
        event_to_row({"actionId": "a1", "sessionId": "s1", "userId": "u5", "timestamp": 32,
                      "eventType": "Taken", "eventId": "e2"}, action_interactions_schema),  # repeated eventId
        event_to_row({"actionId": "a1", "sessionId": "s7", "timestamp": 33, "eventType": "Taken"},
                     action_interactions_schema),  # anonymous session never tied to a user
    ]
    interactions.put(rows)
    data = build_action_data(actions, interactions)
    assert data.action_ids.tolist() == ["a1", "a9"]  # PutActions replaced a1 and added a9
    assert data.values.tolist() == [8.0, pytest.approx(np.nan, nan_ok=True)]
    assert data.repeat_frequencies.tolist() == [-1, 3]
    assert data.timestamps.tolist() == [10, 30, 31]
    assert data.user_ids[data.users].tolist() == ["u1", "u5", "u5"]
    assert data.event_types.tolist() == ["TAKEN", "VIEWED", "TAKEN"]

    no_interactions = build_action_data(actions, None)
    assert no_interactions.n_actions == 2 and no_interactions.n_interactions == 0
    assert no_interactions.users.dtype == np.int32 and no_interactions.event_types.dtype == object
    no_actions = build_action_data(None, interactions)
    assert no_actions.action_ids.tolist() == ["a1", "a9"] and not no_actions.cataloged.any()
    nothing = build_action_data(None, None)
    assert nothing.n_actions == 0 and nothing.n_interactions == 0


def test_training_data_carries_no_actions_by_default():
    data = TrainingData(user_ids=np.array([], dtype=object), item_ids=np.array([], dtype=object),
                        users=np.array([], dtype=np.int32), items=np.array([], dtype=np.int32),
                        timestamps=np.array([], dtype=np.int64))
    assert data.actions is None
    assert data.subset(np.array([], dtype=bool)).actions is None
