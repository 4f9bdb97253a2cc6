"""The engine interface: what every recipe engine learns from and what it answers.

TrainingData is built once per training from a dataset group's datasets
(personalize_mock.data.training). Engines see only numpy arrays and ids: never HTTP, moto or S3.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

# (item_id, score); score is None for recipes that return no scores (SIMS, popularity, ...).
Scored = tuple[str, "float | None"]


@dataclass
class FeatureMatrix:
    """Dense metadata features for items or users, one row per integer code."""

    values: np.ndarray  # float32 [n_rows, n_features]
    columns: list[str]  # one name per feature column, e.g. "GENRES=Comedy", "PRICE"


@dataclass
class Event:
    """One streamed interaction (PutEvents) handed to Model.update."""

    user_id: str
    item_id: str
    timestamp: float
    event_type: str | None = None
    event_value: float | None = None


@dataclass
class ItemRecords:
    """New or changed Items records handed to Model.update_items (incremental updates), built by
    personalize_mock.data.training.build_item_records with the rules of TrainingData."""

    item_ids: np.ndarray  # object[str], one record per item
    texts: dict[str, np.ndarray]  # text field (itemName, textual) -> str or None per record, as item_texts
    category_records: np.ndarray  # int64 record position of each categorical value
    category_columns: np.ndarray  # object[str] its item_features column name, "FIELD=value"


# Canonical action-interaction event types (spec recipes-runtime.md §5.3: "Taken", "Not Taken",
# "Viewed", also written TAKEN / NOT_TAKEN / VIEWED); personalize_mock.data.actions maps spellings.
ACTION_TAKEN, ACTION_NOT_TAKEN, ACTION_VIEWED = "TAKEN", "NOT_TAKEN", "VIEWED"


@dataclass
class ActionData:
    """A dataset group's Actions and Action interactions (Next-Best-Action), built by
    personalize_mock.data.actions.build_action_data.

    Action codes: the Actions dataset's actions in record order, then actions met only in action
    interactions (cataloged False: known to have been interacted with, never recommended). User
    codes number the action-interaction users in order of first appearance; they are independent
    of TrainingData's user codes (join by id). Interactions are sorted by (timestamp, arrival order).
    """

    action_ids: np.ndarray  # object[str], n_actions
    values: np.ndarray  # float64 per action: VALUE, nan when blank or no such column
    expiration_timestamps: np.ndarray  # int64 per action: ACTION_EXPIRATION_TIMESTAMP (epoch s), -1 when none
    repeat_frequencies: np.ndarray  # int64 per action: REPEAT_FREQUENCY (days), -1 when none
    creation_timestamps: np.ndarray  # int64 per action: CREATION_TIMESTAMP (epoch s), -1 when unknown
    cataloged: np.ndarray  # bool per action: present in the Actions dataset
    user_ids: np.ndarray  # object[str], n_users of the action interactions
    users: np.ndarray  # int32 user code per action interaction
    actions: np.ndarray  # int32 action code per action interaction
    timestamps: np.ndarray  # int64 epoch seconds per action interaction
    event_types: np.ndarray  # object[str] per action interaction: ACTION_TAKEN / ACTION_NOT_TAKEN /
    #                          ACTION_VIEWED, or the stripped original text of any other event type
    _action_index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def n_actions(self) -> int:
        return len(self.action_ids)

    @property
    def n_interactions(self) -> int:
        return len(self.actions)

    @property
    def action_index(self) -> dict[str, int]:
        if self._action_index is None:
            self._action_index = {a: i for i, a in enumerate(self.action_ids)}
        return self._action_index

    def subset(self, mask: np.ndarray) -> "ActionData":
        """The same actions and user table with only the action interactions where mask is true."""
        return replace(
            self,
            users=self.users[mask],
            actions=self.actions[mask],
            timestamps=self.timestamps[mask],
            event_types=self.event_types[mask],
        )


@dataclass
class TrainingData:
    """Integer-coded interactions of one dataset group, sorted by (timestamp, arrival order).

    user_ids[c] / item_ids[c] give the external id of code c. item_ids holds every item known to the
    group: those with interactions and those only present in the Items dataset.
    """

    user_ids: np.ndarray  # object[str], n_users
    item_ids: np.ndarray  # object[str], n_items
    users: np.ndarray  # int32 code per interaction
    items: np.ndarray  # int32 code per interaction
    timestamps: np.ndarray  # int64 epoch seconds per interaction
    event_types: np.ndarray | None = None  # object[str] per interaction, or None without EVENT_TYPE
    event_values: np.ndarray | None = None  # float32 per interaction (nan when blank), or None
    item_features: FeatureMatrix | None = None
    user_features: FeatureMatrix | None = None
    # text field (the itemName title, then the textual fields) -> object array of the raw text (str,
    # or None when blank), one per item code; None when the Items dataset has no such field (the
    # arrays reference the records' strings)
    item_texts: dict[str, np.ndarray] | None = None
    item_creation_timestamps: np.ndarray | None = None  # int64 per item code, -1 when unknown
    actions: ActionData | None = None  # Actions + Action interactions (Next-Best-Action only)
    _user_index: dict[str, int] | None = field(default=None, repr=False)
    _item_index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return len(self.users)

    @property
    def user_index(self) -> dict[str, int]:
        if self._user_index is None:
            self._user_index = {u: i for i, u in enumerate(self.user_ids)}
        return self._user_index

    @property
    def item_index(self) -> dict[str, int]:
        if self._item_index is None:
            self._item_index = {it: i for i, it in enumerate(self.item_ids)}
        return self._item_index

    def user_histories(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR layout of each user's items in time order: items[indptr[u]:indptr[u+1]]."""
        order = np.argsort(self.users, kind="stable")  # stable keeps the time order within a user
        counts = np.bincount(self.users, minlength=self.n_users)
        indptr = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return indptr, self.items[order]

    def subset(self, mask: np.ndarray) -> "TrainingData":
        """The same catalogue and metadata with only the interactions where mask is true."""
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        return replace(
            self,
            users=self.users[mask],
            items=self.items[mask],
            timestamps=self.timestamps[mask],
            event_types=pick(self.event_types),
            event_values=pick(self.event_values),
        )


class Model(Protocol):
    """A trained solution version. Every method is deterministic given the fitted state."""

    def recommend(
        self,
        *,
        user_id: str | None = None,
        item_id: str | None = None,
        k: int = 25,
        exclude: Iterable[str] = (),
        candidates: Sequence[str] | None = None,
    ) -> list[Scored]:
        """Top-k items for a user (USER_PERSONALIZATION, POPULAR_ITEMS) or an item (RELATED_ITEMS)."""

    def rank(self, *, user_id: str, item_ids: Sequence[str]) -> list[Scored]:
        """item_ids re-ordered for the user; unknown items last with score None."""

    def update(self, events: Sequence[Event]) -> None:
        """Fold streamed events into the users' histories (real-time personalization)."""

    # aws-semantic-similarity (performIncrementalUpdate) also answers this:
    def update_items(self, records: ItemRecords) -> None:
        """Embed new or changed catalogue items with the fitted model, without retraining."""

    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        """Top-k for an anonymous history of item ids (used by offline evaluation)."""

    # USER_SEGMENTATION engines (batch segment jobs) answer this instead of recommend():
    def users_for(self, *, item_id: str | None = None, item_attributes: str | None = None,
                  k: int = 25) -> list[str]:
        """Users most likely to interact with an item, or with items matching an attribute
        expression such as 'ITEMS.GENRES = "Comedy" AND ITEMS.GENRES = "Action"'."""

    # PERSONALIZED_ACTIONS engines (GetActionRecommendations) answer this instead:
    def recommend_actions(self, *, user_id: str, k: int = 5) -> list[Scored]:
        """Top-k (action_id, propensity score) for a user."""

    # Models of recipes that explore (personalize_mock.runtime.exploration) also answer this:
    def recommend_and_score(self, *, user_id: str | None, k: int, exclude: Iterable[str] = (),
                            catalogue_items: np.ndarray) -> tuple[list[Scored], np.ndarray]:
        """recommend()'s top-k, and the scores (nan where unscored) of the items at positions
        catalogue_items of the training data's item_ids, from one pass over the catalogue."""

    # Models with serving state to build (a large GRU table's projection) also answer this:
    def realtime_work(self) -> Callable[[], object] | None:
        """What must be built before the model serves real-time requests; None: nothing."""


def realtime_work(model: Model) -> Callable[[], object] | None:
    """A model's real-time serving work (Model.realtime_work, optional): a campaign or a
    recommender does it before it becomes ACTIVE."""
    work = getattr(model, "realtime_work", None)
    return work() if work is not None else None


class Engine(Protocol):
    def fit(self, data: TrainingData, hyperparameters: dict[str, str], seed: int) -> Model: ...

    # Optional: an engine whose recipe type is evaluated differently from the default held-out
    # split of personalize_mock.recipes.evaluation (segmentation, trending, actions) provides
    # train_and_evaluate(data, hyperparameters, seed) -> (served model, metrics) itself.

    # Optional: an engine whose recipe allows trainingMode UPDATE (User-Personalization) provides
    # fit_update(base_model, data, seed) -> Model: the base model refreshed with the current data
    # and its new items, the base model left unchanged.
