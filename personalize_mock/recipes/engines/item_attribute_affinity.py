"""aws-item-attribute-affinity: for an item-attribute query, the users most likely to interact with
items that have those attributes (USER_SEGMENTATION; spec recipes-runtime.md §1.2, §3.10).

The model is Item-Affinity's two-tower embedding model (personalize_mock.recipes.engines.item_affinity),
whose item vectors include a learned projection of the item metadata. A query such as
``ITEMS.genres = "Comedy" AND ITEMS.genres = "Action"`` (grammar: personalize_mock.recipes.item_attributes)
selects the items having every listed value, and a user's affinity is their expected number of
interactions with those items: log n_u + log sum over the matching items of P(i | u), so popular
matching items weigh more than rare ones and a user who interacts a lot ranks higher. Users who
already interacted with matching items are included (no exclusion is documented; a filter is the
way to drop them).

When no item has all the values (an AND of values that never occur together), the segment ranks
users by their affinity to a hypothetical item with exactly those attribute values: the model's
metadata projection of the values, without any item identity. A field or value that the training
data does not have, a textual field, or a malformed expression is a ValueError
(item_attributes.InvalidItemAttributes) that a batch segment job writes as the line's error.

Data: Interactions and Items are required, and Items needs at least one non-textual metadata
column (the docs: "at least one column that is a non-textual, non-reserved metadata column"); fit
raises ValueError otherwise. Only categorical string fields can be queried here (numeric and boolean
fields reach the engines standardised, so an equality with a raw value cannot be evaluated).

Evaluation (train_and_evaluate): the USER_SEGMENTATION split (oldest 80 % of each user's
interactions train, newest 20 % held out); one query per categorical value (ITEMS.FIELD = "value")
that a held-out interaction's item has; its truth is the users with a held-out interaction on an
item with that value; hits_at_1_percent / recall_at_1_percent / coverage of the top 1 % of users.
Without categorical fields there are no queries and the metrics are 0.0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from personalize_mock.recipes import evaluation
from personalize_mock.recipes.base import TrainingData
from personalize_mock.recipes.engines.item_affinity import (
    SCORE_BLOCK,
    AffinityModel,
    ItemAffinityEngine,
    Params,
    fit_state,
)
from personalize_mock.recipes.item_attributes import (
    categorical_columns,
    non_textual_columns,
    parse_item_attributes,
    resolve_conditions,
)

NAME = "aws-item-attribute-affinity"


class ItemAttributeAffinityModel(AffinityModel):
    engine_name = NAME

    def __init__(self, state: dict):
        super().__init__(state)
        self.feature_columns = list(state["feature_columns"])
        self.feature_projection = state["feature_projection"]  # float32 [n_features, H]
        self.attribute_indptr = state["attribute_indptr"]  # CSR over feature columns: the items
        self.attribute_items = state["attribute_items"]  # having each categorical value

    def items_with(self, columns: Sequence[int]) -> np.ndarray:
        """Codes of the items that have every one of the categorical feature columns."""
        items = None
        for j in columns:
            members = self.attribute_items[self.attribute_indptr[j]:self.attribute_indptr[j + 1]]
            items = members if items is None else np.intersect1d(items, members, assume_unique=True)
        return np.empty(0, dtype=np.int64) if items is None else items

    def column_scores(self, columns: Sequence[int]) -> np.ndarray:
        """[U]: log of each user's expected interactions with items having all the columns' values."""
        items = self.items_with(columns)
        if not len(items):  # no such item: a hypothetical one made of the values' metadata vectors
            vector = self.feature_projection[list(columns)].sum(axis=0)
            return self.user_vectors @ vector + self.user_offset
        per_block = max(1, SCORE_BLOCK // max(1, len(self.user_ids)))
        total = np.full(len(self.user_ids), -np.inf)
        for start in range(0, len(items), per_block):
            block = items[start:start + per_block]
            logits = (self.user_vectors @ self.item_vectors[block].T + self.item_bias[block]).astype(np.float64)
            total = np.logaddexp(total, _logsumexp_rows(logits))
        return total + self.user_offset

    def users_for(self, *, item_id: str | None = None, item_attributes: str | None = None,
                  k: int = 25) -> list[str]:
        """The k users most likely to interact with items matching item_attributes, most likely first."""
        if item_id is not None:
            raise ValueError("aws-item-attribute-affinity makes segments for itemAttributes queries; "
                             "itemId queries need a solution version trained with aws-item-affinity")
        if item_attributes is None:
            raise ValueError('each query needs itemAttributes such as ITEMS.genres = "Comedy"')
        columns = resolve_conditions(parse_item_attributes(item_attributes), self.feature_columns)
        return self.ranked_users(self.column_scores(columns), k)


def _logsumexp_rows(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1)
    return top + np.log(np.exp(logits - top[:, None]).sum(axis=1))


def _attribute_index(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """CSR over the feature columns: the item codes having each categorical value."""
    columns = data.item_features.columns
    values = data.item_features.values
    members = [np.empty(0, dtype=np.int64)] * len(columns)
    for j, _, _ in categorical_columns(columns):
        members[j] = np.flatnonzero(values[:, j] > 0).astype(np.int64)
    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in members], out=indptr[1:])
    items = np.concatenate(members) if members else np.empty(0, dtype=np.int64)
    return indptr, items


class ItemAttributeAffinityEngine(ItemAffinityEngine):
    name = NAME
    model_class = ItemAttributeAffinityModel

    @staticmethod
    def check_items(data: TrainingData) -> None:
        features = data.item_features
        if features is None or not non_textual_columns(features.columns):
            raise ValueError("aws-item-attribute-affinity requires an Items dataset with at least one "
                             "non-textual metadata column (a categorical string, numeric or boolean "
                             "field other than ITEM_ID and CREATION_TIMESTAMP).")

    def _fit(self, data: TrainingData, params: Params, seed: int) -> ItemAttributeAffinityModel:
        self.check_items(data)
        state = fit_state(data, params, seed)
        state["attribute_indptr"], state["attribute_items"] = _attribute_index(data)
        return ItemAttributeAffinityModel(state)

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
            seed: int = 0) -> ItemAttributeAffinityModel:
        self.check_items(data)
        return super().fit(data, hyperparameters, seed)

    def train_and_evaluate(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
                           seed: int = 0) -> tuple[ItemAttributeAffinityModel, dict[str, float]]:
        self.check_items(data)  # before the timestamp rule and any training
        return super().train_and_evaluate(data, hyperparameters, seed)

    def _queries(self, model: ItemAttributeAffinityModel, parts: evaluation.SegmentationSplit, k: int):
        """(ranked user lists, truths): one query per categorical value of a held-out item."""
        test = parts.test
        ranked: list[list[str]] = []
        truths: list[set[str]] = []
        held_out_items = np.unique(test.items)
        for j, _, _ in categorical_columns(model.feature_columns):
            items = model.items_with([j])
            hit = np.isin(test.items, np.intersect1d(items, held_out_items, assume_unique=True))
            if not hit.any():
                continue
            truths.append(set(test.user_ids[np.unique(test.users[hit])].tolist()))
            ranked.append(model.ranked_users(model.column_scores([j]), k))
        return ranked, truths
