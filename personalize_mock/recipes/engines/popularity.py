"""aws-popularity-count: the same most-popular list for everyone (spec recipes-runtime.md §1.2).

Counting rule: distinct users per item. The spec leaves it UNCONFIRMED (2019 docs: event count;
2023 docs: "the most interactions from unique users"); the newer text wins, and a distinct-user
count also keeps one user's repeated clicks from lifting an item above what many users chose.
Ties fall to the event count, then to the most recent interaction, then to the catalogue order,
so the list is total and deterministic.

No scores (AWS returns none for this recipe) and no real-time updates: new events only count
after a new solution version, so update() deliberately leaves the model unchanged.
"""
from __future__ import annotations

import pickle
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes.base import Event, Scored, TrainingData
from personalize_mock.recipes.engines.sims import popularity_ranking

NAME = "aws-popularity-count"


class PopularityModel:
    engine_name = NAME

    def __init__(self, ranked_items: np.ndarray, distinct_users: np.ndarray, events: np.ndarray):
        self.ranked_items = np.asarray(ranked_items, dtype=object)  # items with >= 1 interaction, best first
        self.distinct_users = np.asarray(distinct_users, dtype=np.int64)
        self.events = np.asarray(events, dtype=np.int64)
        self._position = {item: p for p, item in enumerate(self.ranked_items)}

    def recommend(
        self,
        *,
        user_id: str | None = None,
        item_id: str | None = None,
        k: int = 25,
        exclude: Iterable[str] = (),
        candidates: Sequence[str] | None = None,
    ) -> list[Scored]:
        excluded = set(exclude)
        if candidates is not None:
            pool = [c for c in dict.fromkeys(candidates) if c in self._position and c not in excluded]
            pool.sort(key=self._position.__getitem__)
            return [(item, None) for item in pool[:k]]
        out: list[Scored] = []
        for item in self.ranked_items:  # stops after k + |exclude| items at most
            if len(out) >= k:
                break
            if item not in excluded:
                out.append((item, None))
        return out

    def rank(self, *, user_id: str, item_ids: Sequence[str]) -> list[Scored]:
        unique = list(dict.fromkeys(item_ids))
        known = sorted((i for i in unique if i in self._position), key=self._position.__getitem__)
        return [(i, None) for i in known] + [(i, None) for i in unique if i not in self._position]

    def update(self, events: Sequence[Event]) -> None:
        """Popularity-Count needs a new solution version to see new events (documented AWS behaviour)."""
        return None

    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        return self.recommend(k=k, exclude=exclude)

    def history_recommend_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[Scored]]:
        same = self.recommend(k=k)
        return [list(same) for _ in histories]

    def save(self) -> bytes:
        state = {"ranked_items": list(self.ranked_items), "distinct_users": self.distinct_users, "events": self.events}
        return pickle.dumps({"engine": NAME, "version": 1, "state": state}, protocol=5)

    @classmethod
    def load(cls, blob: bytes) -> "PopularityModel":
        payload = pickle.loads(blob)
        if payload.get("engine") != NAME:
            raise ValueError(f"not a {NAME} model: {payload.get('engine')!r}")
        s = payload["state"]
        return cls(np.array(s["ranked_items"], dtype=object), s["distinct_users"], s["events"])


class PopularityEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> PopularityModel:
        """The counting rule above; sims.popularity_ranking holds it, as the related-items engines' popular
        fallback follows it too."""
        order, distinct, events = popularity_ranking(data)
        return PopularityModel(data.item_ids[order], distinct, events)
