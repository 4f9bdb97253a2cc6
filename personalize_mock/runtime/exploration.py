"""Item exploration at serving time (spec recipes-runtime.md §6; where AWS leaves the mechanics
open, §6.6's emulator guidance).

Who explores: User-Personalization campaigns and batch inference jobs and the Top picks /
Recommended for you recommenders, as their itemExplorationConfig says (explorationWeight, default
0.3; explorationItemAgeCutOff, default 30 days); HRNN-Coldstart recommends from its cold items as
its featurization parameters define them (cold_start_max_interactions, cold_start_max_duration
days, cold_start_relative_from). UP-v2 explores inside its model, without these parameters.

The exploration pool: the cold items of the catalogue the model was trained with, items with
fewer than COLD_MAX_INTERACTIONS interactions whose age is within the cut-off. An item's age runs
from its CREATION_TIMESTAMP, else from its first interaction, and an item without either counts
as created at the latest interaction (§6.1); ages are measured back from the latest interaction
of the training data (HRNN-Coldstart's currentTime: from now). Counts and ages are the training's,
as AWS refreshes them only when it updates the model: trainingMode UPDATE brings new items in.

A list of k items holds round(explorationWeight * k) pool items (as many as the pool has), the
rest are the model's most relevant items. Pool items are picked by the model's affinity for the
user (relative to the best pool item's), plus a bonus 1 / sqrt(1 + interactions) for little-seen
items, plus noise uniform in [0, NOISE) drawn from a seed of the deployment and the user: the
same request gets the same answer. Pool items the relevant part already holds are not picked.

Scores: an explored item keeps its own score, the softmax over the catalogue (§4.2.3), or 0.0
where the model has none (an item without interactions at training; Next-Best-Action scores its
explored actions so); the list stays sorted by score, as the API documents (§4.2.2). Impressions
(§6.2's impression discounting) are not modelled.
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

import numpy as np

from personalize_mock.recipes.base import Scored, TrainingData

# Fewer interactions than this make an item cold: HRNN-Coldstart's documented default for
# cold_start_max_interactions (§6.4), the only number AWS gives for "few interactions".
COLD_MAX_INTERACTIONS = 15
NOISE = 0.1
DAY = 86_400.0


class Pool(NamedTuple):
    """The items explored now."""

    positions: np.ndarray  # catalogue positions of the cold items
    bonus: np.ndarray  # each one's 1 / sqrt(1 + interactions): little-seen items first


@dataclass(frozen=True, eq=False)
class ItemActivity:
    """What exploration knows of the catalogue a model was trained with."""

    item_ids: np.ndarray  # object[str], the catalogue (TrainingData.item_ids)
    interactions: np.ndarray  # int64 interactions per item
    born: np.ndarray  # int64 epoch seconds per item: the moment its age runs from
    latest: int  # the latest interaction's timestamp
    _pools: dict = field(default_factory=dict, repr=False, compare=False)  # (cut-off, max) -> pool
    _index: dict = field(default_factory=dict, repr=False, compare=False)  # item id -> position, built once

    def positions(self, item_ids: Iterable[str]) -> np.ndarray:
        """Catalogue positions of the given ids that are in the catalogue."""
        if not self._index:
            self._index.update(zip(self.item_ids.tolist(), range(len(self.item_ids))))
        return np.array([self._index[i] for i in item_ids if i in self._index], dtype=np.int64)

    def pool(self, age_cut_off: float, max_interactions: int, reference: float | None = None) -> Pool:
        """The cold items, aged from `reference` (None: the latest interaction, and the pool is
        kept: it is asked for on every request)."""
        key = (age_cut_off, max_interactions)
        if reference is None and key in self._pools:
            return self._pools[key]
        age = (self.latest if reference is None else reference) - self.born
        positions = np.flatnonzero((self.interactions < max_interactions) & (age <= age_cut_off))
        positions.flags.writeable = False  # shared by every request: models may keep what they derive from it
        pool = Pool(positions, 1.0 / np.sqrt(1.0 + self.interactions[positions]))
        if reference is None:
            self._pools[key] = pool
        return pool


def item_activity(data: TrainingData) -> ItemActivity:
    counts = np.bincount(data.items, minlength=data.n_items).astype(np.int64)
    latest = int(data.timestamps.max()) if data.n_interactions else 0
    first = np.full(data.n_items, latest, dtype=np.int64)  # no interactions: created at the latest one
    np.minimum.at(first, data.items, data.timestamps)
    born = first
    if data.item_creation_timestamps is not None:
        born = np.where(data.item_creation_timestamps >= 0, data.item_creation_timestamps, first)
    return ItemActivity(np.asarray(data.item_ids, dtype=object), counts, born, latest)


def explores(recipe: Any, hyperparameters: dict[str, str] | None) -> bool:
    """Whether models of this recipe (trained with these hyperparameters) are served with exploration."""
    return recipe.supports_item_exploration or "cold_start_max_interactions" in (hyperparameters or {})


@dataclass(frozen=True, eq=False)
class Exploration:
    """How one deployment (campaign, recommender, batch inference job) explores."""

    weight: float  # share of each list taken from the pool
    age_cut_off: float  # seconds
    max_interactions: int  # cold: fewer interactions than this
    from_current_time: bool  # ages measured from now rather than from the latest interaction
    activity: ItemActivity
    seed_key: str  # with the user id, seeds the noise

    def pool_items(self) -> Pool:
        """The items explored now."""
        return self.activity.pool(self.age_cut_off, self.max_interactions,
                                  time.time() if self.from_current_time else None)

    def recommend(self, model: Any, *, user_id: str | None, k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        """The model's top-k with round(weight * k) of them taken from the pool instead. The model
        shares the catalogue of `activity` (both come from one training's data)."""
        excluded = set(exclude)
        n_explore = min(k, math.floor(self.weight * k + 0.5))
        pool, bonus = self.pool_items()
        if n_explore <= 0 or not len(pool):
            return model.recommend(user_id=user_id, k=k, exclude=excluded)
        # default_rng(seed)'s stream, without its argument checks and coercions (per request)
        seed = np.random.SeedSequence(zlib.crc32(f"{self.seed_key}\n{user_id}".encode()))
        rng = np.random.Generator(np.random.PCG64(seed))
        priority = rng.random(len(pool))  # drawn for the whole pool: an item's noise does not depend on exclusions
        priority *= NOISE
        priority += bonus
        if excluded:
            keep = ~np.isin(pool, self.activity.positions(excluded))
            pool, priority = pool[keep], priority[keep]
            if not len(pool):
                return model.recommend(user_id=user_id, k=k, exclude=excluded)
        relevant, scores = model.recommend_and_score(user_id=user_id, k=k, exclude=excluded, catalogue_items=pool)
        scores[np.isnan(scores)] = 0.0  # no score: affinity 0.0, score 0.0
        best = scores.max()
        priority += scores / best if best > 0 else scores
        held = {i for i, _ in relevant[:k - n_explore]}
        # Only the best n_explore + len(held) can be picked: sort those (ties: catalogue order).
        heads = min(len(pool), n_explore + len(held))
        head = np.argpartition(priority, len(pool) - heads)[len(pool) - heads:]
        explored: list[Scored] = []
        for j in head[np.lexsort((pool[head], -priority[head]))]:
            item = self.activity.item_ids[pool[j]]
            if item not in held:
                explored.append((item, float(scores[j])))
                if len(explored) == n_explore:
                    break
        picked = {i for i, _ in explored}
        rest = [(i, s) for i, s in relevant if i not in picked][:k - len(explored)]
        return sorted(rest + explored, key=lambda pair: -(pair[1] or 0.0))  # stable: relevance first on ties


def exploration_for(recipe: Any, config: dict | None, hyperparameters: dict[str, str] | None,
                    activity: ItemActivity | None, seed_key: str) -> Exploration | None:
    """The exploration of a deployment, or None where its recipe does not explore."""
    from personalize_mock.recipes import catalog

    if activity is None or not explores(recipe, hyperparameters):
        return None
    if recipe.supports_item_exploration:
        settings = catalog.item_exploration_config(recipe, (config or {}).get("itemExplorationConfig"))
        return Exploration(float(settings["explorationWeight"]), float(settings["explorationItemAgeCutOff"]) * DAY,
                           COLD_MAX_INTERACTIONS, False, activity, seed_key)
    # HRNN-Coldstart: its recommendations come from the cold items (weight 1), the relevant ones
    # filling in only when there are fewer cold items than asked for.
    return Exploration(1.0, float(hyperparameters["cold_start_max_duration"]) * DAY,
                       int(hyperparameters["cold_start_max_interactions"]),
                       hyperparameters.get("cold_start_relative_from") == "currentTime", activity, seed_key)
