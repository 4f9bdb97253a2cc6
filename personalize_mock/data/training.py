"""The training view of a dataset group, and the data minimums (spec §8.2, §8.3, §9.1).

build_training_data() turns the group's datasets into the engines' TrainingData:

* interactions: frame("ALL") of the Interactions dataset (bulk + streamed, exact duplicates once);
  streamed events with an eventId already seen are dropped; events tracked only to a sessionId are
  credited to the user of that session once an event carries both ids, and left out until then;
* filtering (solutionConfig): eventType keeps only events of that type, eventValueThreshold only
  events whose EVENT_VALUE is >= the threshold (blank values never pass); eventsConfig's
  eventParametersList (event_parameters) keeps only the listed event types, each with its own
  optional threshold (the weights are for the engines to apply);
* ordering: stable sort by TIMESTAMP, ties in arrival order;
* codes: users and items are numbered in order of first appearance in that sequence; the item
  catalogue then continues with the items that are only in the Items dataset. Users without
  interactions are not in the catalogue;
* metadata: item_features / user_features are dense float32 matrices, one row per code. Categorical
  fields become one-hot columns "FIELD=value" (multi-values split on "|", blanks trimmed; at most
  MAX_CATEGORY_VALUES most frequent values per field, fewer when the matrix would exceed
  FEATURE_BUDGET cells); numeric and boolean fields one standardized column "FIELD" (mean 0,
  std 1; blanks and unknown rows 0); textual fields TEXT_DIMS hashed bag-of-words columns
  "FIELD#0".. (log term counts, rows L2-normalized). Vocabularies and statistics come from the
  records of the catalogue's ids; a field with no value among them gives no columns. Plain (non-categorical) strings, ids and
  CREATION_TIMESTAMP are not features; CREATION_TIMESTAMP fills item_creation_timestamps (-1 when
  unknown). item_texts also keeps the raw text of the itemName field (the title) and the textual
  fields, one str or None per item code (content engines tokenise it themselves; None without
  such a field).
  trainingDataConfig's excluded / included columns apply per dataset type; excluding
  EVENT_TYPE / EVENT_VALUE drops event_types / event_values (filtering still uses them).

For Action interactions (Next-Best-Action) pass the Action interactions dataset as `interactions`
and the Actions dataset as `items`: actions take the place of items.
"""
from __future__ import annotations

import re
import zlib

import numpy as np
import pandas as pd

from personalize_mock.data.errors import ImportFailure, TrainingDataError
from personalize_mock.data.records import ANONYMOUS_KEY, EVENT_ID_KEY, SESSION_KEY
from personalize_mock.data.schema import PersonalizeSchema, SchemaError, canonical_dataset_type
from personalize_mock.data.csv_io import import_failure_prefix
from personalize_mock.data.store import DatasetRecords
from personalize_mock.recipes.base import FeatureMatrix, ItemRecords, TrainingData
from personalize_mock.settings import training_minimums

MAX_CATEGORY_VALUES = 100  # one-hot columns per categorical field
TEXT_DIMS = 32  # hashed columns per textual field
FEATURE_BUDGET = 1 << 26  # cells of one feature matrix (256 MiB of float32)
_TOKEN = re.compile(r"[0-9a-z]+")


def build_training_data(
    interactions: DatasetRecords,
    items: DatasetRecords | None = None,
    users: DatasetRecords | None = None,
    *,
    event_type: str | None = None,
    event_value_threshold: float | str | None = None,
    excluded_columns: dict[str, list[str]] | None = None,
    included_columns: dict[str, list[str]] | None = None,
    event_parameters: list[dict] | None = None,
) -> TrainingData:
    """The TrainingData of a dataset group (see the module docstring for every rule).

    Raises TrainingDataError when the filters cannot apply (no EVENT_TYPE / EVENT_VALUE column, a
    threshold that is not a number). Minimums are checked separately (check_training_minimums).
    """
    schema = interactions.schema
    target = "ACTION_ID" if schema.dataset_type == "ACTION_INTERACTIONS" else "ITEM_ID"
    excluded = _column_sets(excluded_columns)
    included = _column_sets(included_columns)
    df = interactions.frame("ALL", internal=True)
    df = _resolve_streamed(df)

    if event_type is not None and event_type != "":
        if not schema.has("EVENT_TYPE"):
            raise TrainingDataError(f"Create failed. The solution trains on event type "
                                    f"'{event_type}', but the Interactions dataset has no "
                                    "EVENT_TYPE column.")
        df = df[(df["EVENT_TYPE"] == event_type).to_numpy(dtype=bool, na_value=False)]
    if event_value_threshold is not None and event_value_threshold != "":
        try:
            threshold = float(event_value_threshold)
        except (TypeError, ValueError):
            raise TrainingDataError(f"Create failed. eventValueThreshold "
                                    f"'{event_value_threshold}' is not a number.") from None
        if not schema.has("EVENT_VALUE"):
            raise TrainingDataError("Create failed. eventValueThreshold needs an EVENT_VALUE column "
                                    "in the Interactions dataset.")
        values = df["EVENT_VALUE"].to_numpy(dtype=np.float64, na_value=np.nan)
        df = df[np.nan_to_num(values, nan=-np.inf) >= threshold]
    if event_parameters:
        df = df[_event_parameters_mask(df, schema, event_parameters)]

    timestamps = df["TIMESTAMP"].to_numpy(dtype=np.int64)
    order = np.argsort(timestamps, kind="stable")  # df is in arrival order: ties keep it
    timestamps = timestamps[order]
    user_codes, user_ids = pd.factorize(df["USER_ID"].to_numpy(dtype=object)[order])
    item_codes, item_ids = pd.factorize(df[target].to_numpy(dtype=object)[order])
    item_ids = np.asarray(item_ids, dtype=object)
    user_ids = np.asarray(user_ids, dtype=object)

    item_frame = items.frame("ALL") if items is not None else None
    if item_frame is not None and target in item_frame.columns and len(item_frame):
        catalogue = item_frame[target].to_numpy(dtype=object)
        extra = catalogue[~pd.Index(catalogue).isin(item_ids)]
        if len(extra):
            item_ids = np.concatenate([item_ids, extra]).astype(object)

    interaction_type = schema.dataset_type or "INTERACTIONS"
    skip = excluded.get(interaction_type, set())
    event_types = None
    if schema.has("EVENT_TYPE") and "EVENT_TYPE" not in skip:
        event_types = df["EVENT_TYPE"].to_numpy(dtype=object, na_value="")[order]
    event_values = None
    if schema.has("EVENT_VALUE") and "EVENT_VALUE" not in skip:
        event_values = df["EVENT_VALUE"].to_numpy(dtype=np.float32, na_value=np.nan)[order]

    item_features = None
    item_texts = None
    creation = None
    if items is not None and item_frame is not None and len(item_frame):
        item_type = items.schema.dataset_type or "ITEMS"
        item_skip = excluded.get(item_type, set())
        item_only = included.get(item_type)
        item_features = _feature_matrix(item_frame, items.schema, target, item_ids, item_skip,
                                        item_only)
        textual = [name for name in items.schema.text_fields if name not in item_skip
                   and (item_only is None or name in item_only)]
        if textual:
            item_texts = _item_texts(item_frame, textual, target, item_ids)
        if items.schema.has("CREATION_TIMESTAMP") and "CREATION_TIMESTAMP" not in item_skip:
            creation = _creation_timestamps(item_frame, target, item_ids)

    user_features = None
    if users is not None:
        user_frame = users.frame("ALL")
        if len(user_frame):
            user_features = _feature_matrix(user_frame, users.schema, "USER_ID", user_ids,
                                            excluded.get("USERS", set()), included.get("USERS"))

    return TrainingData(
        user_ids=user_ids,
        item_ids=item_ids,
        users=user_codes.astype(np.int32),
        items=item_codes.astype(np.int32),
        timestamps=timestamps,
        event_types=event_types,
        event_values=event_values,
        item_features=item_features,
        user_features=user_features,
        item_texts=item_texts,
        item_creation_timestamps=creation,
    )


def build_item_records(frame: pd.DataFrame, schema: PersonalizeSchema) -> ItemRecords:
    """New or changed Items records (one per ITEM_ID, e.g. DatasetRecords.records_since) as
    Model.update_items takes them: raw text per text field as in item_texts, and each
    categorical value under its item_features column name "FIELD=value"."""
    records = frame.reset_index(drop=True)
    texts = {name: records[name].to_numpy(dtype=object, na_value=None) for name in schema.text_fields}
    positions, columns = [], []
    for f in schema.fields:
        if f.categorical:
            parts = _split_values(records[f.name])
            positions.append(parts.index.to_numpy(dtype=np.int64))
            columns.append((f.name + "=" + parts.astype(str)).to_numpy(dtype=object))
    return ItemRecords(
        item_ids=records["ITEM_ID"].to_numpy(dtype=object),
        texts=texts,
        category_records=np.concatenate(positions) if positions else np.empty(0, dtype=np.int64),
        category_columns=np.concatenate(columns) if columns else np.empty(0, dtype=object),
    )


def check_training_minimums(data: TrainingData, *, event_type: str | None = None) -> None:
    """Raise TrainingDataError (AWS's failureReason wording) when there is too little data to
    train: fewer interactions than the minimum, or too few users with at least 2 interactions.
    The minimums are those of PERSONALIZE_MOCK_TRAINING_MINIMUMS (personalize_mock.settings).
    Pass event_type when the data was filtered by one (recommenders' use-case event types)."""
    minimums = training_minimums()
    if data.n_interactions < minimums.interactions:
        if event_type:
            raise TrainingDataError(f"Dataset has fewer than {minimums.interactions} interactions "
                                    f"after filtering by event type: {event_type}")
        raise TrainingDataError(f"Create failed. Dataset has fewer than {minimums.interactions} "
                                "interactions.")
    per_user = np.bincount(np.asarray(data.users, dtype=np.int64), minlength=data.n_users)
    if int((per_user >= 2).sum()) < minimums.users_with_two_interactions:
        raise TrainingDataError(f"Create failed. Dataset has fewer than "
                                f"{minimums.users_with_two_interactions} users with at least 2 "
                                "interactions each.")


def check_import_minimum(frame: pd.DataFrame, dataset_type: str) -> None:
    """Raise ImportFailure when an import job into an Interactions or Action interactions dataset
    brings fewer records than the per-import minimum (1000; none with the relaxed setting)."""
    try:
        kind = canonical_dataset_type(dataset_type)
    except SchemaError:
        return
    if kind not in ("INTERACTIONS", "ACTION_INTERACTIONS"):
        return
    minimum = training_minimums().interactions_per_import
    if len(frame) < minimum:
        raise ImportFailure(
            f"{import_failure_prefix(kind)}The input has {len(frame)} interaction records; an "
            f"import job into an interactions dataset needs at least {minimum}."
        )


# --------------------------------------------------------------------------------------------


def _column_sets(config: dict[str, list[str]] | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, columns in (config or {}).items():
        try:
            kind = canonical_dataset_type(key)
        except SchemaError:
            kind = str(key).upper()
        out.setdefault(kind, set()).update(str(c) for c in (columns or []))
    return out


def _event_parameters_mask(df: pd.DataFrame, schema: PersonalizeSchema,
                           parameters: list[dict]) -> np.ndarray:
    if not schema.has("EVENT_TYPE"):
        raise TrainingDataError("Create failed. eventsConfig lists event types, but the "
                                "Interactions dataset has no EVENT_TYPE column.")
    types = df["EVENT_TYPE"].to_numpy(dtype=object, na_value=None)
    values = (df["EVENT_VALUE"].to_numpy(dtype=np.float64, na_value=np.nan)
              if schema.has("EVENT_VALUE") else None)
    keep = np.zeros(len(df), dtype=bool)
    for p in parameters:
        match = types == p.get("eventType")
        threshold = p.get("eventValueThreshold")
        if threshold is not None:
            if values is None:
                raise TrainingDataError("Create failed. eventsConfig sets an eventValueThreshold, "
                                        "but the Interactions dataset has no EVENT_VALUE column.")
            try:
                match &= np.nan_to_num(values, nan=-np.inf) >= float(threshold)
            except (TypeError, ValueError):
                raise TrainingDataError(f"Create failed. eventValueThreshold '{threshold}' is not "
                                        "a number.") from None
        keep |= match
    return keep


def _resolve_streamed(df: pd.DataFrame) -> pd.DataFrame:
    """Apply the streamed-event rules: repeated eventIds and anonymous sessions."""
    if EVENT_ID_KEY not in df.columns or not df[SESSION_KEY].notna().any():
        return df
    event_ids = df[EVENT_ID_KEY]
    repeated = (event_ids.notna() & event_ids.duplicated()).to_numpy()
    if repeated.any():
        df = df[~repeated]
    anonymous = df[ANONYMOUS_KEY].to_numpy(dtype=bool)
    if anonymous.any():
        known = df.loc[~anonymous & df[SESSION_KEY].notna().to_numpy(), [SESSION_KEY, "USER_ID"]]
        owner = known.drop_duplicates(SESSION_KEY, keep="last").set_index(SESSION_KEY)["USER_ID"]
        resolved = df.loc[anonymous, SESSION_KEY].map(owner)
        users = df["USER_ID"].to_numpy(dtype=object).copy()
        users[anonymous] = resolved.to_numpy(dtype=object)
        keep = ~anonymous | resolved.reindex(df.index).notna().to_numpy()
        df = df.assign(USER_ID=pd.Series(users, index=df.index, dtype=object))[keep]
    return df


def _item_texts(frame: pd.DataFrame, fields: list[str], id_col: str,
                ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """Raw text of each text field (title, textual) per id (None when blank or not in the Items dataset); the
    arrays hold references to the frame's strings, not copies. Fields with no text give none."""
    positions = pd.Index(frame[id_col].to_numpy(dtype=object)).get_indexer(ids)
    found = positions >= 0
    out: dict[str, np.ndarray] = {}
    for name in fields:
        values = frame[name].to_numpy(dtype=object, na_value=None)[positions[found]]
        if pd.isna(values).all():
            continue
        column = np.full(len(ids), None, dtype=object)
        column[found] = values
        out[name] = column
    return out or None


def _creation_timestamps(frame: pd.DataFrame, id_col: str, ids: np.ndarray) -> np.ndarray:
    positions = pd.Index(frame[id_col].to_numpy(dtype=object)).get_indexer(ids)
    values = frame["CREATION_TIMESTAMP"].to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(len(ids), -1, dtype=np.int64)
    found = positions >= 0
    picked = values[positions[found]]
    ok = np.isfinite(picked)
    target = np.flatnonzero(found)[ok]
    out[target] = np.floor(picked[ok]).astype(np.int64)
    return out


def _feature_matrix(frame: pd.DataFrame, schema: PersonalizeSchema, id_col: str, ids: np.ndarray,
                    skip: set[str], only: set[str] | None) -> FeatureMatrix | None:
    """Dense features of `ids` from `frame` (one record per id). Vocabularies and statistics come
    from the records of those ids; fields without any value among them give no columns."""
    positions = pd.Index(frame[id_col].to_numpy(dtype=object)).get_indexer(ids)
    found = positions >= 0
    records = frame.iloc[positions[found]].reset_index(drop=True)
    fields = [
        f for f in schema.fields
        if f.name != id_col and f.name != "CREATION_TIMESTAMP" and f.name not in skip
        and (only is None or f.name in only)
        and (f.categorical or f.textual or f.type != "string")
        and bool(records[f.name].notna().any())
    ]
    if not fields:
        return None
    n_rows = len(ids)
    numeric = [f for f in fields if not f.is_string]
    textual = [f for f in fields if f.textual]
    categorical = [f for f in fields if f.categorical]

    budget = max(1, FEATURE_BUDGET // max(1, n_rows))
    fixed = len(numeric) + TEXT_DIMS * len(textual)
    vocabularies = [_vocabulary(records[f.name]) for f in categorical]
    wanted = sum(min(len(v), MAX_CATEGORY_VALUES) for v in vocabularies)
    room = max(len(categorical), budget - fixed)
    scale = min(1.0, room / wanted) if wanted else 1.0
    caps = [max(1, int(min(len(v), MAX_CATEGORY_VALUES) * scale)) for v in vocabularies]

    blocks: list[np.ndarray] = []
    names: list[str] = []
    for f in fields:
        if f in numeric:
            blocks.append(_numeric_block(records[f.name]))
            names.append(f.name)
        elif f.textual:
            blocks.append(_text_block(records[f.name]))
            names.extend(f"{f.name}#{j}" for j in range(TEXT_DIMS))
        else:
            i = categorical.index(f)
            vocab = vocabularies[i][: caps[i]]
            if not vocab:
                continue
            blocks.append(_categorical_block(records[f.name], vocab))
            names.extend(f"{f.name}={v}" for v in vocab)
    if not blocks:
        return None
    values = np.zeros((n_rows, len(names)), dtype=np.float32)
    values[found] = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    return FeatureMatrix(values=values, columns=names)


def _numeric_block(col: pd.Series) -> np.ndarray:
    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    present = np.isfinite(values)
    out = np.zeros((len(values), 1), dtype=np.float32)
    if present.any():
        mean = values[present].mean()
        std = values[present].std()
        if std > 0:
            out[present, 0] = ((values[present] - mean) / std).astype(np.float32)
    return out


def _split_values(col: pd.Series) -> pd.Series:
    """One row per (record position, value) of a categorical column; index = record position.

    Each distinct raw value is split once (catalogues repeat a few category strings over many
    items), then the pieces are spread back to the records."""
    codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    pieces = [[p for p in (q.strip() for q in str(u).split("|")) if p] for u in uniques]
    n_pieces = np.array([len(p) for p in pieces], dtype=np.int64)
    rows = np.flatnonzero(codes >= 0)
    rows = rows[n_pieces[codes[rows]] > 0]
    if not len(rows):
        return pd.Series([], dtype=object)
    flat = np.array([p for ps in pieces for p in ps], dtype=object)
    first = np.cumsum(n_pieces) - n_pieces
    per_row = n_pieces[codes[rows]]
    within = np.arange(int(per_row.sum())) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    position = np.repeat(first[codes[rows]], per_row) + within
    return pd.Series(flat[position], index=col.index.to_numpy()[np.repeat(rows, per_row)], dtype=object)


def _vocabulary(col: pd.Series) -> list[str]:
    """The field's values, most frequent first (ties alphabetical)."""
    parts = _split_values(col)
    if parts.empty:
        return []
    counts = parts.value_counts()
    table = pd.DataFrame({"value": counts.index.astype(str), "count": counts.to_numpy()})
    table = table.sort_values(["count", "value"], ascending=[False, True], kind="stable")
    return table["value"].tolist()


def _categorical_block(col: pd.Series, vocab: list[str]) -> np.ndarray:
    out = np.zeros((len(col), len(vocab)), dtype=np.float32)
    parts = _split_values(col)
    if parts.empty or not vocab:
        return out
    columns = pd.Index(vocab).get_indexer(parts.to_numpy(dtype=object))
    keep = columns >= 0
    out[parts.index.to_numpy()[keep], columns[keep]] = 1.0
    return out


def _text_block(col: pd.Series) -> np.ndarray:
    out = np.zeros((len(col), TEXT_DIMS), dtype=np.float32)
    buckets: dict[str, int] = {}
    for row, text in enumerate(col.to_numpy(dtype=object)):
        if not isinstance(text, str) or not text:
            continue
        for token in _TOKEN.findall(text.lower()):
            b = buckets.get(token)
            if b is None:
                b = buckets[token] = zlib.crc32(token.encode()) % TEXT_DIMS
            out[row, b] += 1.0
    np.log1p(out, out=out)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
