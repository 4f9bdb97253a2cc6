"""aws-trending-now: the items whose interactions grow fastest (spec recipes-runtime.md §1.2).

Counting rule: interactions (events, not distinct users) per item in fixed intervals of
`trend_discovery_frequency` ("30 minutes", "1 hour", "2 hours", "3 hours", "1 day"; the catalogue's
aliases such as "30 min" or "1d" are accepted too). Items are ranked by the increase between the
latest interval and the previous one; ties fall to the plain popularity order (all-time
interaction count, then the most recent interaction, then the catalogue order). When no
interaction at all falls in the last two intervals the list is the plain popularity order
(AWS: "returns popular items"). Items without any interaction are never listed. No scores
(AWS lists Trending-Now among the recipes without scores: UNCONFIRMED), the same list for
everyone; user ids only matter to the caller's filters.

The clock: AWS measures intervals back from the service's time, which an offline, deterministic
emulator replaces by the model's clock: the latest interaction timestamp it has seen (training
data, then streamed events). The latest interval is (clock - f, clock], the previous one
(clock - 2f, clock - f], so both are always whole intervals. Old imported data therefore trends
as of its own end; once events with current timestamps are streamed, the window moves to them and
the old data only counts towards popularity, as with AWS.

Real-time: update() counts streamed events at once (new items included; AWS counts them at the
next interval, within 2 hours), so trends move without retraining. Events must be those the
solution trains on: the caller drops event types the solution's eventType filter excludes.

Offline metric (spec §2.3, key spelling UNCONFIRMED): `trend_prediction_accuracy`. The last
interval of the data is held out; the model fitted on everything before it predicts the top 25
trending items as of the start of that interval; the metric is the actual popularity increase
(last interval minus the one before, negative increases counted as 0) summed over those 25
items, divided by the same sum over the 25 items with the largest actual increase. It lies in
[0, 1]; 0.0 when no item's interactions grew in the held-out interval (or nothing was left to
train on). No other key is reported: whether AWS adds the usual ones is UNCONFIRMED, and
precision / NDCG over test users have no meaning for a list that is not personalised.
"""
from __future__ import annotations

import pickle
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes import catalog
from personalize_mock.recipes.base import Event, Scored, TrainingData
from personalize_mock.recipes.hyperparameters import raw_hyperparameters

NAME = "aws-trending-now"
DEFAULT_FREQUENCY = "2 hours"
METRIC_KEY = "trend_prediction_accuracy"
EVALUATION_K = 25


def interval_seconds(hyperparameters: dict[str, str] | None) -> int:
    """Seconds of the trend discovery frequency; ValueError for a value the catalogue refuses."""
    value = raw_hyperparameters(hyperparameters).get("trend_discovery_frequency", DEFAULT_FREQUENCY)
    recipe = catalog.recipe_by_name(NAME)
    parameter = next(hp for hp in recipe.hyperparameters if hp.name == "trend_discovery_frequency")
    return catalog.TREND_DISCOVERY_FREQUENCIES[parameter.parse(value)]


class TrendingModel:
    engine_name = NAME

    def __init__(self, item_ids: np.ndarray, interval: int, totals: np.ndarray, last_seen: np.ndarray,
                 recent_items: np.ndarray, recent_timestamps: np.ndarray, clock: int):
        self.item_ids = [str(i) for i in item_ids]
        self.interval = int(interval)
        self.totals = np.asarray(totals, dtype=np.int64)  # all-time interactions per item code
        self.last_seen = np.asarray(last_seen, dtype=np.int64)  # latest interaction, -1: none
        self.clock = int(clock)  # latest timestamp seen; -1 before any interaction
        self._index = {item: c for c, item in enumerate(self.item_ids)}
        self._recent_items = np.asarray(recent_items, dtype=np.int64)
        self._recent_timestamps = np.asarray(recent_timestamps, dtype=np.int64)
        self._prune()
        self._ranked: np.ndarray | None = None  # item codes, best first
        self._position: np.ndarray | None = None  # trend position per item code, -1: not listed

    # ---- the trend ---------------------------------------------------------------------------

    def interval_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(latest interval, previous interval) interaction counts per item code."""
        n = len(self.item_ids)
        latest = self._recent_timestamps > self.clock - self.interval
        current = np.bincount(self._recent_items[latest], minlength=n)
        previous = np.bincount(self._recent_items[~latest], minlength=n)
        return current, previous

    def _ranking(self) -> np.ndarray:
        """Item codes in trend order (items with interactions only); cached until update()."""
        if self._ranked is None:
            n = len(self.item_ids)
            current, previous = self.interval_counts()
            # nothing in the last two intervals: every increase is 0, so the list is plain popularity
            increase = current - previous
            # lexsort: last key is primary; negate for descending, code ascending breaks final ties.
            order = np.lexsort((np.arange(n), -self.last_seen, -self.totals, -increase))
            order = order[self.totals[order] > 0]
            position = np.full(n, -1, dtype=np.int64)
            position[order] = np.arange(len(order))
            self._ranked, self._position = order, position
        return self._ranked

    def _positions(self, item_ids: Iterable[str]) -> list[tuple[int, str]]:
        """(trend position, item) of the listed items that have one, best first."""
        self._ranking()
        out = []
        for item in item_ids:
            code = self._index.get(item)
            if code is not None and self._position[code] >= 0:
                out.append((int(self._position[code]), item))
        return sorted(out)

    def trending_items(self, k: int = EVALUATION_K) -> list[str]:
        return [self.item_ids[c] for c in self._ranking()[:k]]

    # ---- Model interface ---------------------------------------------------------------------

    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        excluded = set(exclude)
        if candidates is not None:
            pool = [item for _, item in self._positions(dict.fromkeys(candidates)) if item not in excluded]
            return [(item, None) for item in pool[:k]]
        out: list[Scored] = []
        for code in self._ranking():  # stops after k + |exclude| items at most
            if len(out) >= k:
                break
            item = self.item_ids[code]
            if item not in excluded:
                out.append((item, None))
        return out

    def rank(self, *, user_id: str, item_ids: Sequence[str]) -> list[Scored]:
        unique = list(dict.fromkeys(item_ids))
        known = [item for _, item in self._positions(unique)]
        listed = set(known)
        return [(i, None) for i in known] + [(i, None) for i in unique if i not in listed]

    def update(self, events: Sequence[Event]) -> None:
        """Count streamed interactions: new items join the catalogue, the clock moves forward."""
        if not events:
            return
        codes = np.empty(len(events), dtype=np.int64)
        stamps = np.empty(len(events), dtype=np.int64)
        new_items: list[str] = []
        for j, event in enumerate(events):
            item = str(event.item_id)
            code = self._index.get(item)
            if code is None:
                code = len(self.item_ids)
                self._index[item] = code
                self.item_ids.append(item)
                new_items.append(item)
            codes[j] = code
            stamps[j] = int(np.floor(float(event.timestamp)))
        if new_items:
            grow = np.zeros(len(new_items), dtype=np.int64)
            self.totals = np.concatenate([self.totals, grow])
            self.last_seen = np.concatenate([self.last_seen, grow - 1])
        np.add.at(self.totals, codes, 1)
        np.maximum.at(self.last_seen, codes, stamps)
        self.clock = max(self.clock, int(stamps.max()))
        self._recent_items = np.concatenate([self._recent_items, codes])
        self._recent_timestamps = np.concatenate([self._recent_timestamps, stamps])
        self._prune()
        self._ranked = self._position = None

    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        return self.recommend(k=k, exclude=exclude)

    def history_recommend_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[Scored]]:
        same = self.recommend(k=k)
        return [list(same) for _ in histories]

    def save(self) -> bytes:
        state = {
            "item_ids": list(self.item_ids), "interval": self.interval, "totals": self.totals,
            "last_seen": self.last_seen, "recent_items": self._recent_items,
            "recent_timestamps": self._recent_timestamps, "clock": self.clock,
        }
        return pickle.dumps({"engine": NAME, "version": 1, "state": state}, protocol=5)

    @classmethod
    def load(cls, blob: bytes) -> "TrendingModel":
        payload = pickle.loads(blob)
        if payload.get("engine") != NAME:
            raise ValueError(f"not a {NAME} model: {payload.get('engine')!r}")
        s = payload["state"]
        return cls(np.array(s["item_ids"], dtype=object), s["interval"], s["totals"], s["last_seen"],
                   s["recent_items"], s["recent_timestamps"], s["clock"])

    def _prune(self) -> None:
        """Keep only the interactions of the last two intervals (older ones only count in totals)."""
        keep = self._recent_timestamps > self.clock - 2 * self.interval
        if not keep.all():
            self._recent_items = self._recent_items[keep]
            self._recent_timestamps = self._recent_timestamps[keep]


class TrendingEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> TrendingModel:
        return _fit(data, interval_seconds(hyperparameters))

    def train_and_evaluate(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
                           seed: int = 0) -> tuple[TrendingModel, dict[str, float]]:
        """(model fitted on all interactions, {"trend_prediction_accuracy": ...}); see the module
        docstring. Deterministic: no sampling is involved (seed is unused)."""
        interval = interval_seconds(hyperparameters)
        model = _fit(data, interval)
        if data.n_interactions == 0:
            return model, {METRIC_KEY: 0.0}
        end = int(data.timestamps.max())
        cut = end - interval
        before = data.timestamps <= cut
        predictor = _fit(data.subset(before), interval, clock=cut)
        predicted = [data.item_index[i] for i in predictor.trending_items(EVALUATION_K)]

        n = data.n_items
        held_out = data.timestamps > cut
        previous_interval = before & (data.timestamps > cut - interval)
        increase = (np.bincount(data.items[held_out], minlength=n)
                    - np.bincount(data.items[previous_interval], minlength=n))
        gain = np.maximum(increase, 0)
        best = float(np.sort(gain)[::-1][:EVALUATION_K].sum())
        accuracy = float(gain[predicted].sum()) / best if best > 0 else 0.0
        return model, {METRIC_KEY: round(accuracy, 4)}


def _fit(data: TrainingData, interval: int, clock: int | None = None) -> TrendingModel:
    n = data.n_items
    totals = np.bincount(data.items, minlength=n).astype(np.int64)
    last_seen = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_seen, data.items, data.timestamps)
    if clock is None:
        clock = int(data.timestamps.max()) if data.n_interactions else -1
    recent = data.timestamps > clock - 2 * interval
    return TrendingModel(data.item_ids, interval, totals, last_seen,
                         data.items[recent].astype(np.int64), data.timestamps[recent], clock)
