"""Bulk CSV import: formats, typing, and failure reasons naming file, row and column."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from data_helpers import avro, csv_bytes, field

from personalize_mock.data import (
    ImportFailure,
    parse_schema,
    read_csv_records,
    read_user_ids,
    write_csv_records,
)

PREFIX = "Failed to create a data import job for Interactions dataset. "


@pytest.fixture
def typed_schema():
    return parse_schema(avro("Items", [
        field("ITEM_ID", "string"),
        field("RANK", "int"),
        field("VIEWS", ["null", "long"]),
        field("PRICE", "double"),
        field("RATING", ["null", "float"]),
        field("IN_STOCK", "boolean"),
        field("ON_SALE", ["null", "boolean"]),
        field("GENRES", ["null", "string"], categorical=True),
        field("DESCRIPTION", ["null", "string"], textual=True),
    ]))


def read(schema, data: bytes, name="s3://bucket/data.csv", label="Items"):
    return read_csv_records([(name, data)], schema, label)


def test_types_nulls_and_column_order(typed_schema):
    data = (b"DESCRIPTION,ON_SALE,IN_STOCK,RATING,PRICE,VIEWS,RANK,GENRES,ITEM_ID\n"
            b'"A film, with a comma",true,false,4.5,9.99,120,1,Comedy|Drama,i1\n'
            b",,true,,0,,-3,,i2\n")
    df = read(typed_schema, data)
    assert list(df.columns) == typed_schema.field_names
    assert df["ITEM_ID"].tolist() == ["i1", "i2"]
    assert df["RANK"].dtype == np.int64 and df["RANK"].tolist() == [1, -3]
    assert str(df["VIEWS"].dtype) == "Int64" and df["VIEWS"][0] == 120 and df["VIEWS"].isna()[1]
    assert df["PRICE"].dtype == np.float64 and df["PRICE"].tolist() == [9.99, 0.0]
    assert df["RATING"][0] == 4.5 and np.isnan(df["RATING"][1])
    assert df["IN_STOCK"].dtype == bool and df["IN_STOCK"].tolist() == [False, True]
    assert str(df["ON_SALE"].dtype) == "boolean" and df["ON_SALE"][0] and df["ON_SALE"].isna()[1]
    assert df["GENRES"].tolist() == ["Comedy|Drama", None]  # multi-values kept as the raw string
    assert df["DESCRIPTION"].tolist() == ["A film, with a comma", None]
    assert df["GENRES"].dtype == object


def test_quoting_and_backslash_escapes(typed_schema):
    data = (b"ITEM_ID,RANK,PRICE,IN_STOCK,DESCRIPTION\n"
            b'i1,1,1.0,true,"He said ""hi"""\n'
            b'i2,2,1.0,true,"She said \\"bye\\" and C:\\\\temp"\n'
            b'i3,3,1.0,true,"two\nlines"\n')
    df = read(typed_schema, data)
    assert df["DESCRIPTION"].tolist() == ['He said "hi"', 'She said "bye" and C:\\temp', "two\nlines"]


def test_bom_crlf_blank_lines_case_insensitive_header_and_extra_columns(minimal_interactions_schema):
    data = ("\ufeffuser_id,Item_Id,TIMESTAMP,UNUSED\r\n"
            "u1,i1,1596238243,x\r\n"
            "\r\n"
            "u2,i2,1596238244,y\r\n").encode()
    df = read(minimal_interactions_schema, data, label="INTERACTIONS")
    assert list(df.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    assert df.values.tolist() == [["u1", "i1", 1596238243], ["u2", "i2", 1596238244]]


def test_nullable_columns_may_be_absent_from_the_file(interactions_schema):
    df = read(interactions_schema, csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"],
                                             [["u", "i", 5, "click"]]))
    assert np.isnan(df["EVENT_VALUE"][0])


def test_missing_columns_use_aws_wording(interactions_schema):
    with pytest.raises(ImportFailure) as err:
        read(interactions_schema, csv_bytes(["USER_ID", "EVENT_TYPE"], [["u", "click"]]),
             label="INTERACTIONS")
    assert err.value.reason == (
        PREFIX + "Input CSV is missing the following columns:[ITEM_ID, TIMESTAMP]. "
        "(s3://bucket/data.csv)"
    )
    assert err.value.file == "s3://bucket/data.csv"


@pytest.mark.parametrize("row, column, detail", [
    (["i1", "x", "1.0", "true"], "RANK", "value 'x' is not an int."),
    (["i1", "1.5", "1.0", "true"], "RANK", "value '1.5' is not an int."),
    (["i1", "3000000000", "1.0", "true"], "RANK", "value '3000000000' is out of range for an int."),
    (["i1", "1", "cheap", "true"], "PRICE", "value 'cheap' is not a double."),
    (["i1", "1", "nan", "true"], "PRICE", "value 'nan' is not a double."),
    (["i1", "1", "1.0", "True"], "IN_STOCK", "value 'True' is not a boolean (use lower-case true "
                                             "or false)."),
    (["i1", "1", "", "true"], "PRICE", "the value is empty but the field is not nullable."),
    (["", "1", "1.0", "true"], "ITEM_ID", "the value is empty but the field is not nullable."),
    (["x" * 257, "1", "1.0", "true"], "ITEM_ID", "the value has 257 characters; an id can have at "
                                                 "most 256."),
])
def test_bad_values_name_file_row_and_column(typed_schema, row, column, detail):
    rows = [["i0", "0", "0.5", "false"]] * 15 + [row]
    with pytest.raises(ImportFailure) as err:
        read(typed_schema, csv_bytes(["ITEM_ID", "RANK", "PRICE", "IN_STOCK"], rows))
    assert err.value.reason == ("Failed to create a data import job for Items dataset. Invalid data "
                                f"in s3://bucket/data.csv, row 17, column {column}: {detail}")
    assert (err.value.row, err.value.column) == (17, column)


def test_long_values(minimal_interactions_schema):
    ok = read(minimal_interactions_schema, csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP"],
                                                     [["u", "i", 9223372036854775807]]))
    assert ok["TIMESTAMP"][0] == 2**63 - 1
    with pytest.raises(ImportFailure, match="row 2, column TIMESTAMP: value 'abc' is not a long"):
        read(minimal_interactions_schema, csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP"],
                                                    [["u", "i", "abc"]]))
    with pytest.raises(ImportFailure, match="row 3, column TIMESTAMP: value '9223372036854775808' "
                                            "is out of range for a long"):
        read(minimal_interactions_schema, csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP"],
                                                    [["u", "i", 1], ["u", "i", 2**63]]))


def test_categorical_length_limit_fails_and_textual_is_truncated(typed_schema):
    header = ["ITEM_ID", "RANK", "PRICE", "IN_STOCK", "GENRES", "DESCRIPTION"]
    long_genres = "|".join(["abcd"] * 201)  # 1004 characters, separators included
    with pytest.raises(ImportFailure, match="column GENRES: the value has 1004 characters; a "
                                            "categorical value can have at most 1000"):
        read(typed_schema, csv_bytes(header, [["i", 1, 1.0, "true", long_genres, ""]]))
    text = "w" * 25_000
    df = read(typed_schema, csv_bytes(header, [["i", 1, 1.0, "true", "A|B", text]]))
    assert len(df["DESCRIPTION"][0]) == 20_000


def test_impression_length_limit():
    schema = parse_schema(avro("Interactions", [
        field("USER_ID", "string"), field("ITEM_ID", "string"), field("TIMESTAMP", "long"),
        field("IMPRESSION", ["null", "string"]),
    ]))
    with pytest.raises(ImportFailure, match="column IMPRESSION: the value has 1099 characters; an "
                                            "IMPRESSION value can have at most 1000"):
        read(schema, csv_bytes(["USER_ID", "ITEM_ID", "TIMESTAMP", "IMPRESSION"],
                               [["u", "i", 1, "|".join(["abcdefghij"] * 100)]]))


def test_structural_failures(minimal_interactions_schema):
    header = ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    with pytest.raises(ImportFailure, match="row 3: the row has 4 values but the header has 3 "
                                            "columns"):
        read(minimal_interactions_schema, b"USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\nu,i,2,3\n")
    with pytest.raises(ImportFailure, match="names the column ITEM_ID more than once"):
        read(minimal_interactions_schema, b"USER_ID,ITEM_ID,ITEM_ID,TIMESTAMP\nu,i,i,1\n")
    with pytest.raises(ImportFailure, match="data.csv is empty"):
        read(minimal_interactions_schema, b"")
    with pytest.raises(ImportFailure, match="not UTF-8 encoded"):
        read(minimal_interactions_schema, csv_bytes(header, [["caf\xe9", "i", 1]]).replace(
            b"caf\xc3\xa9", b"caf\xe9"))
    with pytest.raises(ImportFailure, match="No CSV files"):
        read_csv_records([], minimal_interactions_schema, "Interactions")


def test_header_only_file_gives_no_rows(minimal_interactions_schema):
    df = read(minimal_interactions_schema, b"USER_ID,ITEM_ID,TIMESTAMP\n")
    assert len(df) == 0 and list(df.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP"]


def test_several_files_are_concatenated_and_errors_name_the_file(minimal_interactions_schema):
    header = ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    blobs = [("s3://b/p/part-1.csv", csv_bytes(header, [["u1", "i1", 1]])),
             ("s3://b/p/part-2.csv", csv_bytes(["TIMESTAMP", "ITEM_ID", "USER_ID"], [[2, "i2", "u2"]]))]
    df = read_csv_records(blobs, minimal_interactions_schema, "Interactions")
    assert df["USER_ID"].tolist() == ["u1", "u2"] and df.index.tolist() == [0, 1]
    blobs.append(("s3://b/p/part-3.csv", csv_bytes(header, [["u3", "i3", "later"]])))
    with pytest.raises(ImportFailure, match="Invalid data in s3://b/p/part-3.csv, row 2, column "
                                            "TIMESTAMP"):
        read_csv_records(blobs, minimal_interactions_schema, "Interactions")


def test_write_then_read_round_trip(typed_schema):
    original = read(typed_schema, (
        b"ITEM_ID,RANK,VIEWS,PRICE,RATING,IN_STOCK,ON_SALE,GENRES,DESCRIPTION\n"
        b'i1,1,10,2.5,,true,,A|B,"quote "" and \\\\ backslash, comma"\n'
        b"i2,2,,3.0,4.0,false,false,,\n"))
    written = write_csv_records(original, typed_schema)
    assert written.splitlines()[0] == b"ITEM_ID,RANK,VIEWS,PRICE,RATING,IN_STOCK,ON_SALE,GENRES,DESCRIPTION"
    assert b"true" in written and b"True" not in written
    again = read(typed_schema, written)
    pd.testing.assert_frame_equal(original, again)


def test_data_deletion_input():
    ids = read_user_ids([("s3://b/del/1.csv", b"USER_ID\nu1\nu2\n"),
                         ("s3://b/del/2.csv", b"USER_ID,NOTE\nu2,again\nu3,x\n")])
    assert ids == ["u1", "u2", "u3"]
    with pytest.raises(ImportFailure, match="^Failed to create a data deletion job. Input CSV is "
                                            "missing the following columns:\\[USER_ID\\]"):
        read_user_ids([("s3://b/del.csv", b"ID\nu1\n")])
