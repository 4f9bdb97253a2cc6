"""DatasetRecords: FULL vs INCREMENTAL imports, puts, export views, schema updates, deletion."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from data_helpers import avro, csv_bytes, field

from personalize_mock.data import (
    DatasetRecords,
    RecordError,
    SchemaError,
    event_to_row,
    parse_schema,
    properties_to_row,
    read_csv_records,
)
from personalize_mock.data.records import ANONYMOUS_KEY, EVENT_ID_KEY, SESSION_KEY
from personalize_mock.data.store import SEQ

ITEM_HEADER = ["ITEM_ID", "GENRES", "PRICE", "CREATION_TIMESTAMP"]


def items_frame(schema, rows):
    return read_csv_records([("items.csv", csv_bytes(ITEM_HEADER, rows))], schema, "Items")


def interactions_frame(schema, rows):
    header = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
    return read_csv_records([("i.csv", csv_bytes(header, rows))], schema, "Interactions")


def put_item(schema, item_id, props):
    import json
    return properties_to_row("ITEM_ID", item_id, json.dumps(props), schema)


def test_full_import_replaces_bulk_records_and_keeps_put_records(items_schema):
    store = DatasetRecords(items_schema)
    assert not store.has_bulk_import and len(store) == 0
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10], ["b", "Y", 2.0, 20]]), "FULL")
    store.put([put_item(items_schema, "p", {"genres": "Z"})])
    store.import_bulk(items_frame(items_schema, [["c", "X", 3.0, 30]]), "FULL")
    assert store.has_bulk_import
    assert store.frame("BULK")["ITEM_ID"].tolist() == ["c"]
    assert store.frame("PUT")["ITEM_ID"].tolist() == ["p"]
    assert store.frame("ALL")["ITEM_ID"].tolist() == ["p", "c"]  # arrival order
    assert (store.bulk_count, store.put_count, len(store)) == (1, 1, 2)


def test_incremental_import_appends_and_newer_records_replace_older_ids(items_schema):
    store = DatasetRecords(items_schema)
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10], ["b", "Y", 2.0, 20]]))
    store.put([put_item(items_schema, "b", {"genres": "PUT", "price": 5})])
    store.import_bulk(items_frame(items_schema, [["a", "NEW", 9.0, 11], ["c", "Z", 3.0, 30]]),
                      "INCREMENTAL")
    everything = store.frame("ALL").set_index("ITEM_ID")
    assert sorted(everything.index) == ["a", "b", "c"]
    assert everything.loc["a", "GENRES"] == "NEW"  # the later import replaced it
    assert everything.loc["b", "GENRES"] == "PUT"  # the put was newer than the first import
    # BULK / PUT alone keep every record, repeated ids included
    assert store.frame("BULK")["ITEM_ID"].tolist() == ["a", "b", "a", "c"]
    assert store.frame("PUT")["ITEM_ID"].tolist() == ["b"]


def test_records_since_a_mark_are_the_new_or_changed_records(items_schema):
    store = DatasetRecords(items_schema)
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10], ["b", "Y", 2.0, 20]]))
    mark = store.mark
    assert store.records_since(mark).empty
    store.put([put_item(items_schema, "b", {"genres": "PUT"}), put_item(items_schema, "n", {"genres": "N"})])
    store.put([put_item(items_schema, "b", {"genres": "LATER"})])
    since = store.records_since(mark)
    assert since["ITEM_ID"].tolist() == ["n", "b"]  # newest record per id, in arrival order
    assert since.set_index("ITEM_ID").loc["b", "GENRES"] == "LATER"
    assert list(since.columns) == store.schema.field_names
    assert store.records_since(store.mark).empty
    assert store.records_since(0).equals(store.frame("ALL"))
    later = store.mark
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10]]), "FULL")
    assert store.records_since(later)["ITEM_ID"].tolist() == ["a"]  # an import re-sends its records


def test_exact_duplicates_are_kept_once_and_interactions_keep_repeats(interactions_schema):
    store = DatasetRecords(interactions_schema)
    rows = [["u1", "i1", 1, "click"], ["u1", "i1", 1, "click"], ["u1", "i1", 2, "click"]]
    store.import_bulk(interactions_frame(interactions_schema, rows))
    assert store.frame("BULK")["TIMESTAMP"].tolist() == [1, 2]
    event = {"eventType": "click", "sentAt": 2, "itemId": "i1"}
    store.put([event_to_row(event, interactions_schema, user_id="u1", session_id="s")])
    store.put([event_to_row({**event, "sentAt": 3}, interactions_schema, user_id="u1",
                            session_id="s")])
    everything = store.frame("ALL")
    assert everything["TIMESTAMP"].tolist() == [1, 2, 3]  # the put equal to a bulk row is dropped
    assert store.frame("PUT")["TIMESTAMP"].tolist() == [2, 3]
    assert list(everything.columns) == interactions_schema.field_names


def test_frame_is_a_copy_and_modes_are_validated(items_schema):
    store = DatasetRecords(items_schema)
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10]]))
    view = store.frame()
    view.loc[0, "GENRES"] = "changed"
    view["EXTRA"] = 1
    assert store.frame()["GENRES"].tolist() == ["X"]
    assert "EXTRA" not in store.frame().columns
    with pytest.raises(ValueError, match="ingestion mode"):
        store.frame("SOME")
    with pytest.raises(ValueError, match="import mode"):
        store.import_bulk(view, "PARTIAL")


def test_internal_columns_of_streamed_events(interactions_schema):
    store = DatasetRecords(interactions_schema)
    store.import_bulk(interactions_frame(interactions_schema, [["u1", "i1", 1, "click"]]))
    store.put([event_to_row({"eventType": "click", "sentAt": 5, "itemId": "i2", "eventId": "e1"},
                            interactions_schema, session_id="s9")])
    df = store.frame("ALL", internal=True)
    assert df[SESSION_KEY].tolist()[1] == "s9" and df[SESSION_KEY].isna()[0]
    assert df[EVENT_ID_KEY].tolist()[1] == "e1"
    assert df[ANONYMOUS_KEY].tolist() == [False, True]
    assert df[SEQ].tolist() == [0, 1]
    assert df["USER_ID"].tolist() == ["u1", "s9"]


def test_failed_mutations_leave_the_data_untouched(items_schema):
    store = DatasetRecords(items_schema)
    store.import_bulk(items_frame(items_schema, [["a", "X", 1.0, 10]]))
    before = store.frame("ALL")
    with pytest.raises(RecordError, match="not in the Items schema: COLOR"):
        store.put([{"ITEM_ID": "ok"}, {"ITEM_ID": "b", "COLOR": "red"}])
    with pytest.raises(RecordError, match="not nullable"):
        store.put([{"ITEM_ID": "ok"}, {"GENRES": "X"}])
    with pytest.raises(SchemaError, match="no ITEM_ID column"):
        store.import_bulk(pd.DataFrame({"GENRES": ["X"]}), "FULL")
    pd.testing.assert_frame_equal(store.frame("ALL"), before)
    assert store.put_count == 0


def test_put_accepts_plain_dicts_with_string_values(items_schema):
    store = DatasetRecords(items_schema)
    store.put([{"ITEM_ID": "a", "PRICE": "2.5", "CREATION_TIMESTAMP": "100"}])
    row = store.frame().iloc[0]
    assert row["PRICE"] == 2.5 and row["CREATION_TIMESTAMP"] == 100 and row["GENRES"] is None


def test_replace_schema_adds_nullable_columns(users_schema):
    store = DatasetRecords(users_schema)
    frame = read_csv_records([("u.csv", csv_bytes(["USER_ID", "AGE", "MEMBERSHIP"],
                                                  [["u1", 30, "gold"]]))], users_schema, "Users")
    store.import_bulk(frame)
    store.put([{"USER_ID": "u2", "AGE": 40}])
    wider = parse_schema(avro("Users", [
        field("USER_ID", "string"), field("AGE", ["null", "int"]),
        field("MEMBERSHIP", ["null", "string"], categorical=True),
        field("SCORE", ["null", "double"]), field("VIP", ["null", "boolean"]),
    ]))
    store.replace_schema(wider)
    df = store.frame()
    assert list(df.columns) == wider.field_names
    assert df["SCORE"].isna().all() and df["VIP"].isna().all()
    assert str(df["VIP"].dtype) == "boolean"
    store.put([{"USER_ID": "u3", "SCORE": 1.5}])
    assert store.frame()["SCORE"].tolist()[-1] == 1.5

    narrower = parse_schema(avro("Users", [field("USER_ID", "string"), field("AGE", ["null", "int"])]))
    with pytest.raises(SchemaError, match="MEMBERSHIP is missing"):
        store.replace_schema(narrower)
    assert store.schema is wider


def test_delete_users_removes_their_records_and_anonymous_sessions(interactions_schema):
    store = DatasetRecords(interactions_schema)
    store.import_bulk(interactions_frame(interactions_schema, [
        ["u1", "i1", 1, "click"], ["u2", "i1", 2, "click"], ["u1", "i2", 3, "click"]]))
    event = {"eventType": "click", "itemId": "i3", "sentAt": 10}
    store.put([event_to_row(event, interactions_schema, session_id="s1"),
               event_to_row({**event, "sentAt": 11}, interactions_schema, user_id="u1",
                            session_id="s1"),
               event_to_row({**event, "sentAt": 12}, interactions_schema, user_id="u2",
                            session_id="s2")])
    removed = store.delete_users(["u1"])
    assert removed == 4
    assert store.frame()["USER_ID"].tolist() == ["u2", "u2"]


def test_large_frames_stay_columnar(minimal_interactions_schema):
    n = 50_000
    frame = pd.DataFrame({
        "USER_ID": pd.Series([f"u{i % 500}" for i in range(n)], dtype=object),
        "ITEM_ID": pd.Series([f"i{i % 977}" for i in range(n)], dtype=object),
        "TIMESTAMP": np.arange(n, dtype=np.int64),
    })
    store = DatasetRecords(minimal_interactions_schema)
    store.import_bulk(frame)
    store.put([{"USER_ID": "u1", "ITEM_ID": "i1", "TIMESTAMP": n}])
    df = store.frame()
    assert len(df) == n + 1 and df["TIMESTAMP"].is_monotonic_increasing
    assert df["TIMESTAMP"].dtype == np.int64
