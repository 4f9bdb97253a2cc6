"""The Next-Best-Action view of a dataset group: Actions + Action interactions -> ActionData.

build_action_data() complements build_training_data() (which turns the Item interactions, Items
and Users datasets into TrainingData); the training job attaches its result as
TrainingData.actions. Rules:

* actions: frame("ALL") of the Actions dataset (bulk + PutActions, the last record of an id wins),
  in record order. Reserved columns (control-plane spec §7.2): VALUE (number; nan when blank or
  absent), ACTION_EXPIRATION_TIMESTAMP and CREATION_TIMESTAMP (epoch seconds; -1 when blank or
  absent), REPEAT_FREQUENCY (days; -1 when blank or absent). Other metadata columns are not used.
* action interactions: frame("ALL") of the Action interactions dataset (bulk +
  PutActionInteractions, exact duplicates once) with the streamed-event rules of Item interactions
  (a repeated eventId is dropped; events tracked only to a sessionId are credited to the session's
  user once an event carries both ids, and left out until then); stable sort by TIMESTAMP, ties
  in arrival order; users numbered in order of first appearance in that sequence.
* event types: the documented spellings ("Taken", "Not Taken", "Viewed" and TAKEN, NOT_TAKEN,
  VIEWED; spec §5.3, exact accepted spellings UNCONFIRMED) are matched ignoring case, blanks, "_"
  and "-", and stored as base.ACTION_TAKEN / ACTION_NOT_TAKEN / ACTION_VIEWED. Any other type is
  kept as its stripped text (the engine ignores it).
* action catalogue: the Actions dataset's ids, then ids met only in action interactions
  (cataloged False, unknown attributes).

Either argument may be None (no such dataset): the result then has no actions / no interactions.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from personalize_mock.data.store import DatasetRecords
from personalize_mock.data.training import _resolve_streamed
from personalize_mock.recipes.base import ACTION_NOT_TAKEN, ACTION_TAKEN, ACTION_VIEWED, ActionData

_EVENT_TYPES = {"TAKEN": ACTION_TAKEN, "NOTTAKEN": ACTION_NOT_TAKEN, "VIEWED": ACTION_VIEWED}
_SEPARATORS = re.compile(r"[\s_\-]+")


def canonical_action_event_type(value: object) -> str:
    """"Taken" / "TAKEN" -> TAKEN, "Not Taken" / "not_taken" -> NOT_TAKEN, "Viewed" -> VIEWED;
    anything else (None: "") is returned stripped."""
    text = "" if value is None else str(value).strip()
    return _EVENT_TYPES.get(_SEPARATORS.sub("", text).upper(), text)


def build_action_data(actions: DatasetRecords | None,
                      action_interactions: DatasetRecords | None) -> ActionData:
    """ActionData of a dataset group (see the module docstring for every rule)."""
    frame = actions.frame("ALL") if actions is not None else None
    if frame is not None and "ACTION_ID" in frame.columns and len(frame):
        catalogue = frame["ACTION_ID"].to_numpy(dtype=object)
        values = _float_column(frame, "VALUE")
        expiration = _epoch_column(frame, "ACTION_EXPIRATION_TIMESTAMP")
        repeat = _epoch_column(frame, "REPEAT_FREQUENCY")
        creation = _epoch_column(frame, "CREATION_TIMESTAMP")
    else:
        catalogue = np.empty(0, dtype=object)
        values = np.empty(0, dtype=np.float64)
        expiration = repeat = creation = np.empty(0, dtype=np.int64)

    if action_interactions is not None:
        df = _resolve_streamed(action_interactions.frame("ALL", internal=True))
    else:
        df = None
    if df is not None and len(df):
        timestamps = df["TIMESTAMP"].to_numpy(dtype=np.int64)
        order = np.argsort(timestamps, kind="stable")  # arrival order within a second
        timestamps = timestamps[order]
        user_codes, user_ids = pd.factorize(df["USER_ID"].to_numpy(dtype=object)[order])
        raw_actions = df["ACTION_ID"].to_numpy(dtype=object)[order]
        raw_types = (df["EVENT_TYPE"].to_numpy(dtype=object, na_value=None)[order]
                     if "EVENT_TYPE" in df.columns else np.full(len(df), None, dtype=object))
    else:
        timestamps = np.empty(0, dtype=np.int64)
        user_codes, user_ids = np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
        raw_actions = raw_types = np.empty(0, dtype=object)

    n_cataloged = len(catalogue)
    positions = pd.Index(catalogue).get_indexer(raw_actions) if len(raw_actions) else np.empty(0, np.int64)
    unknown = positions < 0
    if unknown.any():
        extra_codes, extra_ids = pd.factorize(raw_actions[unknown])
        positions = positions.copy()
        positions[unknown] = n_cataloged + extra_codes
        catalogue = np.concatenate([catalogue, np.asarray(extra_ids, dtype=object)]).astype(object)
        n_extra = len(extra_ids)
        values = np.concatenate([values, np.full(n_extra, np.nan)])
        fill = np.full(n_extra, -1, dtype=np.int64)
        expiration, repeat, creation = (np.concatenate([a, fill]) for a in (expiration, repeat, creation))
    cataloged = np.arange(len(catalogue)) < n_cataloged
    event_types = np.array([canonical_action_event_type(t) for t in raw_types], dtype=object)

    return ActionData(
        action_ids=np.asarray(catalogue, dtype=object),
        values=values.astype(np.float64),
        expiration_timestamps=expiration.astype(np.int64),
        repeat_frequencies=repeat.astype(np.int64),
        creation_timestamps=creation.astype(np.int64),
        cataloged=cataloged,
        user_ids=np.asarray(user_ids, dtype=object),
        users=np.asarray(user_codes).astype(np.int32),
        actions=np.asarray(positions).astype(np.int32),
        timestamps=timestamps,
        event_types=event_types,
    )


def _float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _epoch_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Whole numbers of a numeric column as int64 (floored), -1 where blank or absent."""
    values = _float_column(frame, name)
    out = np.full(len(values), -1, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.floor(values[ok]).astype(np.int64)
    return out
