"""build_training_data, the training minimums and the per-import minimum."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from data_helpers import avro, csv_bytes, field

from personalize_mock import settings
from personalize_mock.data import (
    DatasetRecords,
    ImportFailure,
    TrainingDataError,
    build_item_records,
    build_training_data,
    check_import_minimum,
    check_training_minimums,
    event_to_row,
    parse_schema,
    properties_to_row,
    read_csv_records,
)
from personalize_mock.data import training as training_module
from personalize_mock.recipes.base import TrainingData


def interactions_store(schema, rows):
    header = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"][: len(rows[0])]
    store = DatasetRecords(schema)
    store.import_bulk(read_csv_records([("i.csv", csv_bytes(header, rows))], schema, "Interactions"))
    return store


def items_store(schema, rows):
    header = ["ITEM_ID", "GENRES", "PRICE", "CREATION_TIMESTAMP", "DESCRIPTION", "TITLE"]
    store = DatasetRecords(schema)
    store.import_bulk(read_csv_records([("items.csv", csv_bytes(header, rows))], schema, "Items"))
    return store


def test_codes_follow_time_order_with_ties_in_arrival_order(interactions_schema):
    store = interactions_store(interactions_schema, [
        ["u2", "b", 20, "click", ""],
        ["u1", "a", 10, "click", "1.5"],
        ["u1", "c", 20, "view", ""],
        ["u3", "a", 5, "click", "2"],
    ])
    data = build_training_data(store)
    assert isinstance(data, TrainingData)
    assert data.timestamps.tolist() == [5, 10, 20, 20]
    assert data.user_ids.tolist() == ["u3", "u1", "u2"]
    assert data.item_ids.tolist() == ["a", "b", "c"]
    assert data.users.tolist() == [0, 1, 2, 1]
    assert data.items.tolist() == [0, 0, 1, 2]  # (u2, b) arrived before (u1, c): same second
    assert data.users.dtype == np.int32 and data.items.dtype == np.int32
    assert data.timestamps.dtype == np.int64
    assert data.event_types.tolist() == ["click", "click", "click", "view"]
    assert data.event_values.dtype == np.float32
    assert data.event_values[0] == 2.0 and np.isnan(data.event_values[2])
    assert data.item_features is None and data.user_features is None
    assert data.item_creation_timestamps is None


def test_no_interactions_left_after_filtering(monkeypatch, interactions_schema):
    monkeypatch.delenv(settings.TRAINING_MINIMUMS_ENV, raising=False)
    store = interactions_store(interactions_schema, [["u", "a", 1, "click", "1"]])
    data = build_training_data(store, event_type="purchase")
    assert (data.n_interactions, data.n_users, data.n_items) == (0, 0, 0)
    with pytest.raises(TrainingDataError, match="fewer than 1000 interactions after filtering by "
                                                "event type: purchase"):
        check_training_minimums(data, event_type="purchase")
    empty = build_training_data(DatasetRecords(interactions_schema))
    assert empty.n_interactions == 0 and empty.event_types.tolist() == []


def test_without_event_columns(minimal_interactions_schema):
    store = interactions_store(minimal_interactions_schema, [["u", "i", 1]])
    data = build_training_data(store)
    assert data.event_types is None and data.event_values is None


def test_event_type_and_threshold_filters(interactions_schema):
    store = interactions_store(interactions_schema, [
        ["u1", "a", 1, "click", "0.2"],
        ["u1", "b", 2, "watch", "0.9"],
        ["u2", "c", 3, "watch", "0.4"],
        ["u2", "d", 4, "watch", ""],
    ])
    watched = build_training_data(store, event_type="watch")
    assert watched.item_ids.tolist() == ["b", "c", "d"]
    assert set(watched.event_types) == {"watch"}
    engaged = build_training_data(store, event_type="watch", event_value_threshold="0.5")
    assert engaged.item_ids.tolist() == ["b"]  # blanks never pass a threshold
    no_type = build_training_data(store, event_value_threshold=0.3)
    assert no_type.item_ids.tolist() == ["b", "c"]
    with pytest.raises(TrainingDataError, match="eventValueThreshold 'high' is not a number"):
        build_training_data(store, event_value_threshold="high")


def test_events_config_event_parameters(interactions_schema):
    store = interactions_store(interactions_schema, [
        ["u1", "a", 1, "click", "0.2"],
        ["u1", "b", 2, "watch", "0.9"],
        ["u2", "c", 3, "watch", "0.4"],
        ["u2", "d", 4, "buy", ""],
    ])
    data = build_training_data(store, event_parameters=[
        {"eventType": "watch", "eventValueThreshold": 0.5, "weight": 0.7},
        {"eventType": "click", "weight": 0.3},
    ])
    assert data.item_ids.tolist() == ["a", "b"]


def test_filters_need_their_columns(minimal_interactions_schema):
    store = interactions_store(minimal_interactions_schema, [["u", "i", 1]])
    with pytest.raises(TrainingDataError, match="no EVENT_TYPE column"):
        build_training_data(store, event_type="click")
    with pytest.raises(TrainingDataError, match="needs an EVENT_VALUE column"):
        build_training_data(store, event_value_threshold=1)
    with pytest.raises(TrainingDataError, match="eventsConfig lists event types"):
        build_training_data(store, event_parameters=[{"eventType": "click"}])


def test_item_catalogue_and_metadata_matrix(minimal_interactions_schema, items_schema):
    store = interactions_store(minimal_interactions_schema, [
        ["u1", "i2", 1], ["u2", "i9", 2], ["u1", "i1", 3],
    ])
    items = items_store(items_schema, [
        ["i1", "Comedy|Drama", "10.0", 100, '"funny drama, funny"', "T1"],
        ["i2", "Drama", "", "", "", "T2"],
        ["i3", "Comedy | Horror", "30.0", 300, "scary", "T3"],
    ])
    data = build_training_data(store, items)
    # items with interactions first (time order), then items only in the Items dataset
    assert data.item_ids.tolist() == ["i2", "i9", "i1", "i3"]
    assert data.item_creation_timestamps.tolist() == [-1, -1, 100, 300]

    features = data.item_features
    assert features.values.dtype == np.float32
    assert features.values.shape[0] == 4
    columns = features.columns
    assert columns[:3] == ["GENRES=Comedy", "GENRES=Drama", "GENRES=Horror"]  # by count, then name
    assert "PRICE" in columns and "CREATION_TIMESTAMP" not in columns and "TITLE" not in columns
    text_columns = [c for c in columns if c.startswith("DESCRIPTION#")]
    assert len(text_columns) == training_module.TEXT_DIMS
    frame = pd.DataFrame(features.values, columns=columns, index=data.item_ids)
    assert frame.loc["i1", ["GENRES=Comedy", "GENRES=Drama", "GENRES=Horror"]].tolist() == [1, 1, 0]
    assert frame.loc["i3", ["GENRES=Comedy", "GENRES=Drama", "GENRES=Horror"]].tolist() == [1, 0, 1]
    assert (frame.loc["i9"] == 0).all()  # not in the Items dataset
    assert frame.loc["i1", "PRICE"] == pytest.approx(-1.0)  # standardized over known prices
    assert frame.loc["i3", "PRICE"] == pytest.approx(1.0)
    assert frame.loc["i2", "PRICE"] == 0.0  # blank
    text = frame.loc["i1", text_columns].to_numpy()
    assert np.linalg.norm(text) == pytest.approx(1.0, abs=1e-6)
    assert (frame.loc["i2", text_columns] == 0).all()


def test_item_texts_keep_the_raw_text_of_the_title_and_textual_fields(minimal_interactions_schema, items_schema):
    store = interactions_store(minimal_interactions_schema, [["u1", "i2", 1], ["u2", "i9", 2]])
    items = items_store(items_schema, [
        ["i1", "Comedy", "", "", '"Funny, dry"', "Title one"],
        ["i2", "Drama", "", "", "", "Title two"],
    ])
    data = build_training_data(store, items)
    assert data.item_ids.tolist() == ["i2", "i9", "i1"]
    assert list(data.item_texts) == ["DESCRIPTION"]  # TITLE is a plain string, not textual
    texts = data.item_texts["DESCRIPTION"]
    assert texts.dtype == object and texts.tolist() == [None, None, "Funny, dry"]  # aligned with item_ids
    assert build_training_data(store, items, excluded_columns={"ITEMS": ["DESCRIPTION"]}).item_texts is None
    assert build_training_data(store, items, included_columns={"ITEMS": ["GENRES"]}).item_texts is None
    blank = items_store(items_schema, [["i1", "Comedy", "", "", "", "t"]])
    assert build_training_data(store, blank).item_texts is None  # a textual field without text
    plain_schema = parse_schema(avro("Items", [field("ITEM_ID", "string"),
                                               field("GENRES", "string", categorical=True)]))
    plain = DatasetRecords(plain_schema)
    plain.import_bulk(read_csv_records([("p.csv", csv_bytes(["ITEM_ID", "GENRES"], [["i1", "A"]]))],
                                       plain_schema, "Items"))
    assert build_training_data(store, plain).item_texts is None
    # the itemName field (the title) is text too, first
    titled_schema = parse_schema(avro("Items", [field("ITEM_ID", "string"), field("NAME", "string", itemName=True),
                                                field("DESCRIPTION", ["null", "string"], textual=True)]))
    titled = DatasetRecords(titled_schema)
    titled.import_bulk(read_csv_records([("t.csv", csv_bytes(["ITEM_ID", "NAME", "DESCRIPTION"],
                                                             [["i1", "Alien", "Space horror"]]))], titled_schema, "Items"))
    texts = build_training_data(store, titled).item_texts
    assert list(texts) == ["NAME", "DESCRIPTION"] and texts["NAME"].tolist() == [None, None, "Alien"]
    assert list(build_item_records(titled.frame("ALL"), titled_schema).texts) == ["NAME", "DESCRIPTION"]


def test_item_records_for_incremental_updates(items_schema):
    frame = items_store(items_schema, [
        ["n1", "Comedy | Drama|Comedy", "", "", '"New, words"', "t"],
        ["n2", "", "", "", "", "t"],
    ]).frame()
    records = build_item_records(frame, items_schema)
    assert records.item_ids.tolist() == ["n1", "n2"]
    assert list(records.texts) == ["DESCRIPTION"]
    assert records.texts["DESCRIPTION"].tolist() == ["New, words", None]
    # the column names of TrainingData.item_features, split and trimmed as there
    pairs = sorted(zip(records.category_records.tolist(), records.category_columns.tolist()))
    assert pairs == [(0, "GENRES=Comedy"), (0, "GENRES=Comedy"), (0, "GENRES=Drama")]


def test_excluded_and_included_columns(minimal_interactions_schema, items_schema):
    store = interactions_store(minimal_interactions_schema, [["u1", "i1", 1]])
    items = items_store(items_schema, [["i1", "A", "1.0", 5, "text", "t"]])
    data = build_training_data(store, items, excluded_columns={"Items": ["GENRES", "DESCRIPTION",
                                                                         "CREATION_TIMESTAMP"]})
    assert data.item_features.columns == ["PRICE"]
    assert data.item_creation_timestamps is None
    data = build_training_data(store, items, included_columns={"ITEMS": ["GENRES"]})
    assert data.item_features.columns == ["GENRES=A"]
    data = build_training_data(store, items, excluded_columns={"ITEMS": ["GENRES", "PRICE",
                                                                         "DESCRIPTION"]})
    assert data.item_features is None


def test_excluding_event_columns(interactions_schema):
    store = interactions_store(interactions_schema, [["u", "a", 1, "click", "1"],
                                                     ["u", "b", 2, "view", "1"]])
    data = build_training_data(store, event_type="view",
                               excluded_columns={"INTERACTIONS": ["EVENT_TYPE", "EVENT_VALUE"]})
    assert data.event_types is None and data.event_values is None
    assert data.item_ids.tolist() == ["b"]


def test_vocabulary_is_capped(monkeypatch, minimal_interactions_schema, items_schema):
    monkeypatch.setattr(training_module, "MAX_CATEGORY_VALUES", 2)
    store = interactions_store(minimal_interactions_schema, [["u", "i0", 1]])
    rows = [[f"i{k}", "|".join(["common"] + (["mid"] if k % 2 else []) + [f"rare{k}"]), "", "", "",
             ""] for k in range(6)]
    data = build_training_data(store, items_store(items_schema, rows))
    assert data.item_features.columns == ["GENRES=common", "GENRES=mid"]  # blank fields: no columns


def test_user_features(minimal_interactions_schema, users_schema):
    store = interactions_store(minimal_interactions_schema, [["u1", "a", 1], ["u2", "a", 2],
                                                             ["u3", "b", 3]])
    users = DatasetRecords(users_schema)
    users.put([properties_to_row("USER_ID", "u1", '{"age": 20, "membership": "gold"}', users_schema),
               properties_to_row("USER_ID", "u2", '{"age": 40}', users_schema),
               properties_to_row("USER_ID", "ghost", '{"age": 99, "membership": "gold"}',
                                 users_schema)])
    data = build_training_data(store, users=users)
    assert data.user_ids.tolist() == ["u1", "u2", "u3"]  # users without interactions are left out
    frame = pd.DataFrame(data.user_features.values, columns=data.user_features.columns,
                         index=data.user_ids)
    assert list(frame.columns) == ["AGE", "MEMBERSHIP=gold"]
    assert frame["MEMBERSHIP=gold"].tolist() == [1, 0, 0]
    assert frame.loc["u1", "AGE"] < 0 < frame.loc["u2", "AGE"]
    assert frame.loc["u3", "AGE"] == 0


def test_streamed_events_rules(minimal_interactions_schema):
    store = interactions_store(minimal_interactions_schema, [["u1", "a", 1]])
    event = {"eventType": "click", "itemId": "b"}
    store.put([
        event_to_row({**event, "sentAt": 2, "eventId": "e1"}, minimal_interactions_schema,
                     session_id="s1"),                    # anonymous, later tied to u7
        event_to_row({**event, "sentAt": 3, "eventId": "e2"}, minimal_interactions_schema,
                     user_id="u7", session_id="s1"),
        event_to_row({**event, "sentAt": 4, "eventId": "e2", "itemId": "c"},
                     minimal_interactions_schema, user_id="u7", session_id="s1"),  # repeated id
        event_to_row({**event, "sentAt": 5}, minimal_interactions_schema, session_id="lonely"),
    ])
    data = build_training_data(store)
    assert data.timestamps.tolist() == [1, 2, 3]
    assert [data.user_ids[u] for u in data.users] == ["u1", "u7", "u7"]
    assert "lonely" not in data.user_ids.tolist()
    assert "c" not in data.item_ids.tolist()


def test_action_interactions_use_actions_as_items():
    ai_schema = parse_schema(avro("ActionInteractions", [
        field("USER_ID", "string"), field("ACTION_ID", "string"), field("TIMESTAMP", "long"),
        field("EVENT_TYPE", "string")]))
    actions_schema = parse_schema(avro("Actions", [field("ACTION_ID", "string"),
                                                   field("VALUE", ["null", "int"])]))
    ai = DatasetRecords(ai_schema)
    ai.put([event_to_row({"actionId": "x", "userId": "u", "sessionId": "s", "timestamp": 1,
                          "eventType": "Taken"}, ai_schema)])
    actions = DatasetRecords(actions_schema)
    actions.put([{"ACTION_ID": "x", "VALUE": 5}, {"ACTION_ID": "y", "VALUE": 10}])
    data = build_training_data(ai, actions)
    assert data.item_ids.tolist() == ["x", "y"]
    assert data.item_features.columns == ["VALUE"]


def synthetic_data(n_users: int, per_user: int) -> TrainingData:
    users = np.repeat(np.arange(n_users), per_user).astype(np.int32)
    items = (np.arange(n_users * per_user) % 50).astype(np.int32)
    return TrainingData(
        user_ids=np.array([f"u{i}" for i in range(n_users)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(50)], dtype=object),
        users=users, items=items, timestamps=np.arange(len(users), dtype=np.int64))


def test_aws_minimums(monkeypatch):
    monkeypatch.delenv(settings.TRAINING_MINIMUMS_ENV, raising=False)
    check_training_minimums(synthetic_data(25, 40))
    with pytest.raises(TrainingDataError) as err:
        check_training_minimums(synthetic_data(24, 50))
    assert err.value.reason == ("Create failed. Dataset has fewer than 25 users with at least 2 "
                                "interactions each.")
    with pytest.raises(TrainingDataError, match="^Create failed. Dataset has fewer than 1000 "
                                                "interactions.$"):
        check_training_minimums(synthetic_data(30, 33))
    with pytest.raises(TrainingDataError, match="^Dataset has fewer than 1000 interactions after "
                                                "filtering by event type: Purchase$"):
        check_training_minimums(synthetic_data(30, 33), event_type="Purchase")


def test_relaxed_minimums(monkeypatch):
    monkeypatch.setenv(settings.TRAINING_MINIMUMS_ENV, "relaxed")
    check_training_minimums(synthetic_data(2, 5))
    with pytest.raises(TrainingDataError, match="fewer than 10 interactions"):
        check_training_minimums(synthetic_data(3, 3))
    with pytest.raises(TrainingDataError, match="fewer than 2 users with at least 2"):
        check_training_minimums(synthetic_data(1, 12))


def test_import_minimum(monkeypatch, minimal_interactions_schema):
    monkeypatch.delenv(settings.TRAINING_MINIMUMS_ENV, raising=False)
    small = pd.DataFrame({"USER_ID": ["u"] * 999, "ITEM_ID": ["i"] * 999, "TIMESTAMP": range(999)})
    with pytest.raises(ImportFailure) as err:
        check_import_minimum(small, "INTERACTIONS")
    assert err.value.reason == ("Failed to create a data import job for Interactions dataset. The "
                                "input has 999 interaction records; an import job into an "
                                "interactions dataset needs at least 1000.")
    with pytest.raises(ImportFailure, match="Action interactions dataset"):
        check_import_minimum(small, "Action_Interactions")
    check_import_minimum(small.iloc[:1], "Items")  # only interactions datasets have a minimum
    check_import_minimum(pd.concat([small, small.iloc[:1]]), "Interactions")
    monkeypatch.setenv(settings.TRAINING_MINIMUMS_ENV, "relaxed")
    check_import_minimum(small.iloc[:1], "Interactions")


def test_training_minimums_setting(monkeypatch):
    monkeypatch.delenv(settings.TRAINING_MINIMUMS_ENV, raising=False)
    assert settings.training_minimums() == settings.AWS_MINIMUMS
    assert (settings.AWS_MINIMUMS.interactions, settings.AWS_MINIMUMS.users_with_two_interactions,
            settings.AWS_MINIMUMS.interactions_per_import) == (1000, 25, 1000)
    monkeypatch.setenv(settings.TRAINING_MINIMUMS_ENV, " Relaxed ")
    assert settings.training_minimums().mode == "relaxed"
    assert settings.training_minimums().interactions_per_import == 0
    monkeypatch.setenv(settings.TRAINING_MINIMUMS_ENV, "tiny")
    with pytest.raises(ValueError, match="PERSONALIZE_MOCK_TRAINING_MINIMUMS='tiny' is not a valid"):
        settings.training_minimums()


def test_end_to_end_from_csv_to_trainable_data(monkeypatch, interactions_schema):
    monkeypatch.delenv(settings.TRAINING_MINIMUMS_ENV, raising=False)
    rng = np.random.default_rng(7)
    n = 3000
    rows = [[f"u{u}", f"i{i}", 1_600_000_000 + t, "click" if e else "watch", f"{v:.2f}"]
            for u, i, t, e, v in zip(rng.integers(0, 100, n), rng.integers(0, 300, n),
                                     rng.integers(0, 10**6, n), rng.random(n) < 0.5, rng.random(n))]
    frame = read_csv_records([("i.csv", csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE",
                                                   "EVENT_VALUE"], rows))],
                             interactions_schema, "Interactions")
    check_import_minimum(frame, "Interactions")
    store = DatasetRecords(interactions_schema)
    store.import_bulk(frame)
    data = build_training_data(store)
    check_training_minimums(data)
    assert data.n_interactions == len(store.frame())
    assert np.all(np.diff(data.timestamps) >= 0)
    indptr, history = data.user_histories()
    assert indptr[-1] == data.n_interactions and len(history) == data.n_interactions
    filtered = build_training_data(store, event_type="watch", event_value_threshold=0.9)
    with pytest.raises(TrainingDataError, match="after filtering by event type: watch"):
        check_training_minimums(filtered, event_type="watch")
    assert json.dumps(filtered.item_ids.tolist())  # plain strings
