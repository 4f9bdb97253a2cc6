"""The records of one dataset: bulk imports and individually added records (spec §8.2, §8.5).

DatasetRecords keeps two tables, both in arrival order:

* bulk: rows from dataset import jobs. A FULL import replaces them; an INCREMENTAL import appends.
* put: rows added one by one (PutEvents, PutItems, PutUsers, PutActions, PutActionInteractions).
  A FULL import keeps them.

frame(ingestion_mode) is the dataset as an export job (and training, with "ALL") sees it:
exact duplicates are emitted once; with "ALL", Items / Users / Actions keep only the newest record
per id (a later import or put of the same id replaces the older record), interactions keep all
records; "BULK" or "PUT" alone keep every record, repeated ids included.

Every mutation builds its new tables first and then swaps one immutable state object, so a failed
call leaves the data untouched and a reader never sees half an update. Callers serialize mutations
(the backend's lock); readers need no lock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from personalize_mock.data.csv_io import column_dtype, empty_frame
from personalize_mock.data.errors import RecordError
from personalize_mock.data.records import (
    ANONYMOUS_KEY,
    EVENT_ID_KEY,
    INTERNAL_KEYS,
    SESSION_KEY,
    coerce_value,
)
from personalize_mock.data.schema import PersonalizeSchema, SchemaError, check_schema_update

SEQ = "@seq"  # arrival order of a row within its dataset (no Avro field can have this name)
INGESTION_MODES = ("ALL", "BULK", "PUT")
IMPORT_MODES = ("FULL", "INCREMENTAL")
_INTERACTION_TYPES = ("INTERACTIONS", "ACTION_INTERACTIONS")


@dataclass(frozen=True)
class _State:
    schema: PersonalizeSchema
    bulk: pd.DataFrame  # schema columns + SEQ
    put: pd.DataFrame  # schema columns + SEQ (+ internal columns for interactions)
    next_seq: int
    has_bulk_import: bool
    cache: dict = field(default_factory=dict, compare=False)


class DatasetRecords:
    """The records of one dataset (one schema)."""

    def __init__(self, schema: PersonalizeSchema):
        self._state = _State(schema, self._empty(schema, internal=False),
                             self._empty(schema, internal=True), 0, False)
        self._bulk_dedup: tuple | None = None  # (bulk frame, its row hashes, deduplicated rows)

    # ---- properties ------------------------------------------------------------------------

    @property
    def schema(self) -> PersonalizeSchema:
        return self._state.schema

    @property
    def dataset_type(self) -> str | None:
        return self._state.schema.dataset_type

    @property
    def has_bulk_import(self) -> bool:
        """True once an import job has succeeded (INCREMENTAL imports need one first)."""
        return self._state.has_bulk_import

    @property
    def bulk_count(self) -> int:
        """Rows stored from import jobs (before de-duplication)."""
        return len(self._state.bulk)

    @property
    def put_count(self) -> int:
        """Rows stored from individual puts (before de-duplication)."""
        return len(self._state.put)

    def __len__(self) -> int:
        """Records in frame("ALL")."""
        return len(self.frame("ALL"))

    @property
    def mark(self) -> int:
        """Where the records stand: it grows with every import and put (see records_since)."""
        return self._state.next_seq

    def records_since(self, mark: int) -> pd.DataFrame:
        """The records of frame("ALL") that arrived at or after an earlier `mark`: for Items,
        Users and Actions, the new or changed records since then (a FULL import re-sends all)."""
        df = self.frame("ALL", internal=True)
        return df[df[SEQ].to_numpy() >= mark][list(self.schema.field_names)].reset_index(drop=True)

    # ---- mutations -------------------------------------------------------------------------

    def import_bulk(self, frame: pd.DataFrame, mode: str = "FULL") -> None:
        """Store the records of a successful import job (a frame from read_csv_records).

        FULL replaces all earlier bulk records (individually added ones stay); INCREMENTAL appends
        (for Items / Users / Actions, a record with an existing id then replaces the old one).
        Whether INCREMENTAL is allowed yet (has_bulk_import) is the control plane's rule.
        """
        mode = str(mode).upper()
        if mode not in IMPORT_MODES:
            raise ValueError(f"Invalid import mode '{mode}'; use FULL or INCREMENTAL.")
        st = self._state
        rows = _conform(frame, st.schema)
        rows[SEQ] = np.arange(st.next_seq, st.next_seq + len(rows), dtype=np.int64)
        if mode == "FULL" or len(st.bulk) == 0:
            bulk = rows
        else:
            bulk = pd.concat([st.bulk, rows], ignore_index=True)
        self._state = _State(st.schema, bulk, st.put, st.next_seq + len(rows), True)

    def put(self, records: list[dict]) -> None:
        """Store individually added rows (from event_to_row / properties_to_row, or any dicts
        keyed by column name). All records are checked before any is stored."""
        if not records:
            return
        st = self._state
        schema = st.schema
        interactions = schema.dataset_type in _INTERACTION_TYPES
        known = set(schema.field_names) | (set(INTERNAL_KEYS) if interactions else set())
        data: dict[str, list] = {f.name: [] for f in schema.fields}
        for i, record in enumerate(records):
            unknown = [k for k in record if k not in known]
            if unknown:
                raise RecordError(f"Record {i + 1} has fields that are not in the {schema.name} "
                                  f"schema: {', '.join(map(str, unknown))}.")
            for f in schema.fields:
                data[f.name].append(coerce_value(f, record.get(f.name)))
        columns = {f.name: pd.Series(data[f.name], dtype=column_dtype(f)) for f in schema.fields}
        rows = pd.DataFrame(columns)
        if interactions:
            rows[SESSION_KEY] = pd.Series([r.get(SESSION_KEY) for r in records], dtype=object)
            rows[EVENT_ID_KEY] = pd.Series([r.get(EVENT_ID_KEY) for r in records], dtype=object)
            rows[ANONYMOUS_KEY] = np.array([bool(r.get(ANONYMOUS_KEY, False)) for r in records])
        rows[SEQ] = np.arange(st.next_seq, st.next_seq + len(rows), dtype=np.int64)
        put = rows if len(st.put) == 0 else pd.concat([st.put, rows], ignore_index=True)
        self._state = _State(schema, st.bulk, put, st.next_seq + len(rows), st.has_bulk_import)

    def replace_schema(self, new_schema: PersonalizeSchema) -> None:
        """UpdateDataset: switch to a schema that keeps every field and adds nullable ones (which
        existing records get as nulls). SchemaError when the new schema is not such an update."""
        st = self._state
        check_schema_update(st.schema, new_schema)
        bulk = _add_columns(st.bulk, new_schema)
        put = _add_columns(st.put, new_schema)
        self._state = _State(new_schema, bulk, put, st.next_seq, st.has_bulk_import)

    def delete_users(self, user_ids) -> int:
        """Remove every record of these users (data deletion jobs); returns the rows removed."""
        st = self._state
        if "USER_ID" not in st.schema.field_names:
            return 0
        wanted = pd.Index(list({str(u) for u in user_ids}), dtype=object)
        keep_bulk = ~st.bulk["USER_ID"].isin(wanted).to_numpy()
        keep_put = ~st.put["USER_ID"].isin(wanted).to_numpy()
        if st.schema.dataset_type in _INTERACTION_TYPES and len(st.put):
            # anonymous events of a deleted user's sessions go too
            tied = st.put.loc[~st.put[ANONYMOUS_KEY].to_numpy() & ~keep_put, SESSION_KEY]
            sessions = pd.Index(tied.dropna().unique(), dtype=object)
            keep_put &= ~(st.put[SESSION_KEY].isin(sessions).to_numpy())
        removed = int((~keep_bulk).sum() + (~keep_put).sum())
        if removed:
            bulk = st.bulk[keep_bulk].reset_index(drop=True)
            put = st.put[keep_put].reset_index(drop=True)
            self._state = _State(st.schema, bulk, put, st.next_seq, st.has_bulk_import)
        return removed

    # ---- views -----------------------------------------------------------------------------

    def frame(self, ingestion_mode: str = "ALL", *, internal: bool = False) -> pd.DataFrame:
        """The records as an export job with this ingestionMode sees them (spec §8.5), in arrival
        order, with the schema's columns (typed as csv_io describes).

        internal=True adds the arrival order column SEQ and, for interactions, the internal
        columns of streamed events (records.SESSION_KEY, EVENT_ID_KEY, ANONYMOUS_KEY; null / False
        for imported rows). The returned frame may be modified freely.
        """
        mode = str(ingestion_mode).upper()
        if mode not in INGESTION_MODES:
            raise ValueError(f"Invalid ingestion mode '{ingestion_mode}'; use ALL, BULK or PUT.")
        st = self._state
        key = (mode, internal)
        cached = st.cache.get(key)
        if cached is None:
            cached = self._build_frame(st, mode, internal)
            st.cache[key] = cached
        return cached.copy(deep=False)

    def _build_frame(self, st: _State, mode: str, internal: bool) -> pd.DataFrame:
        schema = st.schema
        names = schema.field_names
        interactions = schema.dataset_type in _INTERACTION_TYPES
        if mode == "BULK":
            df = _unique_rows(st.bulk, names)
        elif mode == "PUT":
            df = _unique_rows(st.put, names)
        else:
            bulk_hashes, bulk_rows = self._deduplicated_bulk(st.bulk, names)
            if len(st.put):
                put_hashes = _row_hashes(st.put, names)
                fresh = ~put_hashes.duplicated().to_numpy() & ~_in_sorted(put_hashes.to_numpy(),
                                                                           bulk_hashes)
                put_rows = st.put[fresh]
            else:
                put_rows = st.put.iloc[:0]
            if len(put_rows) == 0:
                df = bulk_rows
            elif len(bulk_rows) == 0:
                df = put_rows
            else:
                df = pd.concat([bulk_rows, put_rows], ignore_index=True)
                seq = df[SEQ].to_numpy()
                if not (len(seq) < 2 or bool((np.diff(seq) > 0).all())):
                    df = df.iloc[np.argsort(seq, kind="stable")]
            if schema.id_field is not None and len(df):
                df = df[~df.duplicated(subset=[schema.id_field], keep="last").to_numpy()]
        columns = list(names)
        if internal:
            columns.append(SEQ)
            if interactions:
                columns += list(INTERNAL_KEYS)
        df = df.reindex(columns=columns) if internal and interactions else df[columns]
        if internal and interactions:
            df[ANONYMOUS_KEY] = df[ANONYMOUS_KEY].eq(True).to_numpy(dtype=bool)
        return df.reset_index(drop=True)

    def _deduplicated_bulk(self, bulk: pd.DataFrame, names: list[str]):
        """(row hashes, rows without exact duplicates) of the bulk table, computed once per table
        (puts change the state often; the bulk table only on imports)."""
        cached = self._bulk_dedup
        if cached is not None and cached[0] is bulk and cached[1] == names:
            return cached[2], cached[3]
        hashes = _row_hashes(bulk, names)
        keep = ~hashes.duplicated().to_numpy()
        rows = bulk if keep.all() else bulk[keep]
        result = (bulk, list(names), np.sort(hashes.to_numpy()[keep]), rows)
        self._bulk_dedup = result
        return result[2], result[3]

    @staticmethod
    def _empty(schema: PersonalizeSchema, internal: bool) -> pd.DataFrame:
        df = empty_frame(schema)
        if internal and schema.dataset_type in _INTERACTION_TYPES:
            df[SESSION_KEY] = pd.Series([], dtype=object)
            df[EVENT_ID_KEY] = pd.Series([], dtype=object)
            df[ANONYMOUS_KEY] = pd.Series([], dtype=bool)
        df[SEQ] = pd.Series([], dtype=np.int64)
        return df


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """values[i] in sorted_values, by binary search (cheap when values is small)."""
    if len(sorted_values) == 0:
        return np.zeros(len(values), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[idx] == values


def _unique_rows(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    keep = ~_row_hashes(df, names).duplicated().to_numpy()
    return df if keep.all() else df[keep]


def _row_hashes(df: pd.DataFrame, names: list[str]) -> pd.Series:
    if len(df) == 0:
        return pd.Series([], dtype=np.uint64)
    return pd.util.hash_pandas_object(df[names], index=False)


def _conform(frame: pd.DataFrame, schema: PersonalizeSchema) -> pd.DataFrame:
    """The frame's schema columns with the store's dtypes (nullable columns it lacks as nulls)."""
    columns = {}
    n = len(frame)
    for f in schema.fields:
        if f.name in frame.columns:
            col = frame[f.name]
            dtype = column_dtype(f)
            if dtype is object:
                values = col.to_numpy(dtype=object, na_value=None) if col.dtype != object else col
                columns[f.name] = pd.Series(values, dtype=object).reset_index(drop=True)
            else:
                try:
                    columns[f.name] = col.astype(dtype).reset_index(drop=True)
                except (TypeError, ValueError) as exc:
                    raise SchemaError(f"Column {f.name} cannot hold {f.type} values: {exc}") from None
        elif f.nullable:
            columns[f.name] = pd.Series([None] * n, dtype=column_dtype(f))
        else:
            raise SchemaError(f"The records have no {f.name} column, which the schema requires.")
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _add_columns(df: pd.DataFrame, schema: PersonalizeSchema) -> pd.DataFrame:
    out = df.copy(deep=False)
    for f in schema.fields:
        if f.name not in out.columns:
            out[f.name] = pd.Series([None] * len(out), dtype=column_dtype(f), index=out.index)
    return out
