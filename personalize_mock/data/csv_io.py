r"""Bulk CSV files in and out of datasets (control-plane spec §8.1, §8.4, §8.5).

read_csv_records() turns the CSV files of one import job into a typed DataFrame, or raises
ImportFailure whose reason is the import job's failureReason. write_csv_records() writes a
dataset's records back as CSV (dataset export jobs) in a form read_csv_records() reads again.

Reading rules:

* The first row is the header; its names map to schema fields, in any order. Names are matched
  exactly, then case-insensitively. A schema field missing from the header fails the import with
  AWS's phrase ``Input CSV is missing the following columns:[A, B]`` unless the field is nullable
  (it is then filled with nulls, which keeps old files importable after UpdateDataset added a
  nullable field). Header columns that are not in the schema are ignored. A duplicated header
  name fails the import.
* Standard CSV quoting (a quoted ``"a, b"``; a quote inside quotes doubled) and backslash escapes
  (a backslash before a quote or a backslash: the guide's rule for textual fields) are both
  understood. UTF-8, with or without a byte-order mark; CRLF line ends are fine. Blank lines are
  skipped. A row with more values than the header fails; missing trailing values read as blanks.
* Blank cells are allowed only in nullable fields (and become nulls).
* int / long: integer literals within range; float / double: finite decimal numbers; boolean:
  lower-case ``true`` / ``false``. TIMESTAMP and CREATION_TIMESTAMP are plain numbers (Unix epoch
  seconds).
* USER_ID / ITEM_ID / ACTION_ID: at most 256 characters. Categorical values and IMPRESSION lists
  (the ``|`` separators count): at most 1000 characters. Multi-values stay as the raw
  ``a|b|c`` string. Textual values longer than 20,000 characters are truncated, not refused.

Typed columns: strings are object columns (None for null), int/long are int64 (pandas Int64 when
nullable), float/double float64 (NaN for null), boolean bool (pandas "boolean" when nullable).
"""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from personalize_mock.data.errors import ImportFailure
from personalize_mock.data.schema import (
    DATASET_LABELS,
    PersonalizeSchema,
    SchemaField,
    SchemaError,
    canonical_dataset_type,
)

ID_COLUMNS = frozenset({"USER_ID", "ITEM_ID", "ACTION_ID"})
MULTI_VALUE_COLUMNS = frozenset({"IMPRESSION"})  # pipe-separated lists that are not categorical
MAX_ID_CHARS = 256
MAX_CATEGORICAL_CHARS = 1000
MAX_TEXTUAL_CHARS = 20_000

_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_BOM = b"\xef\xbb\xbf"
_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def import_failure_prefix(dataset_label: str) -> str:
    """"Failed to create a data import job for Interactions dataset. " (AWS's wording, §8.4)."""
    try:
        label = DATASET_LABELS[canonical_dataset_type(dataset_label)]
    except SchemaError:
        label = dataset_label
    return f"Failed to create a data import job for {label} dataset. "


class _CellError(Exception):
    def __init__(self, position: int, column: str, detail: str):
        super().__init__(detail)
        self.position = position  # 0-based data row within the file
        self.column = column
        self.detail = detail


def read_csv_records(blobs: list[tuple[str, bytes]], schema: PersonalizeSchema,
                     dataset_label: str) -> pd.DataFrame:
    """Parse the CSV files of one import job (name, content) into one typed DataFrame whose
    columns are the schema's fields in schema order. Raises ImportFailure on the first problem.

    dataset_label names the dataset in failure reasons: a dataset type in any spelling
    ("INTERACTIONS", "Action_Interactions") or a label used verbatim.
    """
    return _read_all(blobs, schema, import_failure_prefix(dataset_label))


DELETION_FAILURE_PREFIX = "Failed to create a data deletion job. "
_USER_ID_LIST = PersonalizeSchema(name="Users", namespace=None, dataset_type=None, domain=None,
                                  fields=(SchemaField("USER_ID", "string"),), source="")


def read_user_ids(blobs: list[tuple[str, bytes]]) -> list[str]:
    """The user ids of a data deletion job: CSV files with a USER_ID header, one id per row
    (other columns are ignored). Raises ImportFailure (reason prefixed with
    DELETION_FAILURE_PREFIX) like an import does."""
    frame = _read_all(blobs, _USER_ID_LIST, DELETION_FAILURE_PREFIX)
    return list(dict.fromkeys(frame["USER_ID"].tolist()))


def _read_all(blobs: list[tuple[str, bytes]], schema: PersonalizeSchema, prefix: str) -> pd.DataFrame:
    if not blobs:
        raise ImportFailure(prefix + "No CSV files were found at the data location.")
    frames = [_read_one(name, data, schema, prefix) for name, data in blobs]
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def empty_frame(schema: PersonalizeSchema) -> pd.DataFrame:
    """A frame with the schema's columns and dtypes and no rows."""
    return pd.DataFrame({f.name: pd.Series([], dtype=column_dtype(f)) for f in schema.fields})


def column_dtype(f: SchemaField):
    if f.type in ("int", "long"):
        return "Int64" if f.nullable else np.int64
    if f.type in ("float", "double"):
        return np.float64
    if f.type == "boolean":
        return "boolean" if f.nullable else np.bool_
    return object


def write_csv_records(frame: pd.DataFrame, schema: PersonalizeSchema) -> bytes:
    """CSV bytes (UTF-8, header row of schema field names) for a frame of typed records: booleans
    as lower-case true/false, nulls as blank cells, quotes and backslashes backslash-escaped."""
    out = pd.DataFrame(index=frame.index)
    for f in schema.fields:
        col = frame[f.name] if f.name in frame.columns else pd.Series(None, index=frame.index,
                                                                         dtype=object)
        if f.type == "boolean":
            values = col.astype(object)
            out[f.name] = values.map(lambda v: "" if v is None or v is pd.NA else
                                     ("true" if v else "false"))
        elif f.type in ("int", "long"):
            out[f.name] = col.astype("Int64")
        else:
            out[f.name] = col
    text = out.to_csv(index=False, escapechar="\\", doublequote=False, na_rep="",
                      lineterminator="\n")
    return text.encode("utf-8")


# --------------------------------------------------------------------------------------------


def _read_header(name: str, data: bytes, prefix: str) -> list[str]:
    first = data.split(b"\n", 1)[0]
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"{prefix}{name} is not UTF-8 encoded (invalid byte at position "
                            f"{exc.start} of the header row).", file=name, row=1) from None
    if not line.strip():
        raise ImportFailure(f"{prefix}{name} has no header row: the first row must name the "
                            "columns.", file=name, row=1)
    return [h.strip() for h in next(csv.reader([line.rstrip("\r")]))]


def _read_one(name: str, data: bytes, schema: PersonalizeSchema, prefix: str) -> pd.DataFrame:
    if not data.strip():
        raise ImportFailure(f"{prefix}{name} is empty: a header row naming the columns is required.",
                            file=name)
    header = _read_header(name, data, prefix)
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise ImportFailure(f"{prefix}Input CSV names the column {h} more than once. ({name})",
                                file=name, row=1, column=h)
        seen.add(h)

    positions: dict[str, int] = {}
    exact = {h: i for i, h in enumerate(header) if h}
    folded = {h.upper(): i for i, h in enumerate(header) if h}
    missing = []
    for f in schema.fields:
        pos = exact.get(f.name, folded.get(f.name.upper()))
        if pos is None:
            if not f.nullable:
                missing.append(f.name)
        else:
            positions[f.name] = pos
    if missing:
        raise ImportFailure(
            f"{prefix}Input CSV is missing the following columns:[{', '.join(missing)}]. ({name})",
            file=name, row=1,
        )

    if data.startswith(_BOM):
        data = memoryview(data)[len(_BOM):]
    # Fast path: non-nullable numeric columns are parsed by pandas' C parser directly. If any
    # value does not parse, read everything as text and let _convert find and name the culprit.
    dtypes: dict[int, object] = {i: object for i in range(len(header))}
    for f in schema.fields:
        if f.name in positions and not f.nullable and f.type != "string" and f.type != "boolean":
            dtypes[positions[f.name]] = np.int64 if f.type in ("int", "long") else np.float64
    try:
        raw = _parse(name, data, len(header), dtypes, prefix)
    except (ValueError, OverflowError, TypeError):
        raw = _parse(name, data, len(header), {i: object for i in range(len(header))}, prefix)

    n = len(raw)
    columns = {}
    try:
        for f in schema.fields:
            if f.name in positions:
                col = raw[positions[f.name]]
                if col.dtype == object:
                    typed = _convert(col.to_numpy(dtype=object), f)
                else:
                    typed = _check_parsed(col.to_numpy(), f)
                columns[f.name] = pd.Series(typed, dtype=column_dtype(f))
            else:
                columns[f.name] = pd.Series([None] * n, dtype=column_dtype(f))
    except _CellError as err:
        row = err.position + 2
        raise ImportFailure(
            f"{prefix}Invalid data in {name}, row {row}, column {err.column}: {err.detail}",
            file=name, row=row, column=err.column,
        ) from None
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _parse(name: str, data, n_columns: int, dtypes: dict, prefix: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(data),
            header=0,
            names=list(range(n_columns)),
            index_col=False,
            dtype=dtypes,
            keep_default_na=False,
            na_filter=False,
            escapechar="\\",
            encoding="utf-8",
            skip_blank_lines=True,
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"{prefix}{name} is not UTF-8 encoded (invalid byte at position "
                            f"{exc.start}).", file=name) from None
    except pd.errors.ParserError as exc:
        m = _PARSER_FIELDS.search(str(exc))
        if m:
            expected, line, saw = (int(g) for g in m.groups())
            raise ImportFailure(
                f"{prefix}Invalid data in {name}, row {line}: the row has {saw} values but the "
                f"header has {expected} columns.", file=name, row=line,
            ) from None
        detail = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise ImportFailure(f"{prefix}{name} is not a valid CSV file: {detail}", file=name) from None
    except pd.errors.EmptyDataError as exc:
        raise ImportFailure(f"{prefix}{name} is not a valid CSV file: {exc}", file=name) from None


def _check_parsed(values: np.ndarray, f: SchemaField) -> np.ndarray:
    """Range / finiteness checks of a column the C parser already converted."""
    if f.type in ("float", "double"):
        bad = ~np.isfinite(values)
        if bad.any():
            pos = int(np.argmax(bad))
            raise _CellError(pos, f.name, f"value '{values[pos]}' is not {_article(f.type)}.")
        return values
    lo, hi = _INT_RANGES[f.type]
    if f.type == "int" and len(values):
        bad = (values < lo) | (values > hi)
        if bad.any():
            pos = int(np.argmax(bad))
            raise _CellError(pos, f.name, f"value '{values[pos]}' is out of range for an int.")
    return values


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _show(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _convert(values: np.ndarray, f: SchemaField):
    """Typed column (numpy array or pandas extension array) of one field's raw strings."""
    empty = values == ""
    any_empty = bool(empty.any())
    if any_empty and not f.nullable:
        pos = int(np.argmax(empty))
        raise _CellError(pos, f.name, "the value is empty but the field is not nullable.")

    if f.type == "string":
        return _convert_string(values, empty, any_empty, f)
    if f.type in ("int", "long"):
        return _convert_int(values, empty, any_empty, f)
    if f.type in ("float", "double"):
        return _convert_float(values, empty, any_empty, f)
    return _convert_bool(values, empty, any_empty, f)


def _convert_string(values, empty, any_empty, f: SchemaField):
    if f.name in ID_COLUMNS or f.categorical or f.name in MULTI_VALUE_COLUMNS or f.textual:
        lengths = _lengths(values)
        if f.name in ID_COLUMNS:
            limit, what = MAX_ID_CHARS, "an id"
        elif f.textual:
            limit, what = MAX_TEXTUAL_CHARS, None
        else:
            limit, what = MAX_CATEGORICAL_CHARS, "a categorical value"
            if not f.categorical:
                what = f"an {f.name} value"
        over = lengths > limit
        if over.any():
            if what is None:  # textual: truncated, not refused
                values = values.copy()
                for i in np.flatnonzero(over):
                    values[i] = values[i][:limit]
            else:
                pos = int(np.argmax(over))
                raise _CellError(pos, f.name, f"the value has {int(lengths[pos])} characters; "
                                              f"{what} can have at most {limit}.")
    if any_empty:
        values = values.copy()
        values[empty] = None
    return values


def _convert_int(values, empty, any_empty, f: SchemaField):
    present = values[~empty] if any_empty else values
    lo, hi = _INT_RANGES[f.type]
    try:
        parsed = present.astype(np.int64)
    except (ValueError, OverflowError, TypeError):
        parsed = None
    if parsed is None or (f.type == "int" and len(parsed) and
                          (parsed.min() < lo or parsed.max() > hi)):
        offset = np.flatnonzero(~empty) if any_empty else None
        for i, v in enumerate(present):
            pos = int(offset[i]) if offset is not None else i
            try:
                number = int(v)
            except ValueError:
                raise _CellError(pos, f.name, f"value {_show(v)} is not {_article(f.type)}.") from None
            if not lo <= number <= hi:
                raise _CellError(pos, f.name, f"value {_show(v)} is out of range for {_article(f.type)}.")
        raise AssertionError("unreachable: no invalid value found")  # pragma: no cover
    if not f.nullable:
        return parsed
    data = np.zeros(len(values), dtype=np.int64)
    data[~empty] = parsed
    return pd.arrays.IntegerArray(data, empty.astype(bool))


def _convert_float(values, empty, any_empty, f: SchemaField):
    present = values[~empty] if any_empty else values
    try:
        parsed = present.astype(np.float64)
        bad = ~np.isfinite(parsed)
    except (ValueError, TypeError):
        parsed = None
    if parsed is None or bad.any():
        offset = np.flatnonzero(~empty) if any_empty else None
        for i, v in enumerate(present):
            try:
                ok = np.isfinite(float(v))
            except ValueError:
                ok = False
            if not ok:
                pos = int(offset[i]) if offset is not None else i
                raise _CellError(pos, f.name, f"value {_show(v)} is not {_article(f.type)}.")
        raise AssertionError("unreachable: no invalid value found")  # pragma: no cover
    if not any_empty:
        return parsed
    out = np.full(len(values), np.nan)
    out[~empty] = parsed
    return out


def _convert_bool(values, empty, any_empty, f: SchemaField):
    is_true = values == "true"
    valid = is_true | (values == "false") | empty
    if not valid.all():
        pos = int(np.argmax(~valid))
        raise _CellError(pos, f.name, f"value {_show(values[pos])} is not a boolean (use lower-case "
                                      "true or false).")
    if not f.nullable:
        return is_true.astype(bool)
    return pd.arrays.BooleanArray(is_true.astype(bool), empty.astype(bool))


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name == "int" else f"a {type_name}"
