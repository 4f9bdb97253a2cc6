"""Offline evaluation as GetSolutionMetrics reports it (spec recipes-runtime.md §2).

Split (§2.1): users are drawn into the test set with probability 0.1 each (seeded), among users
with at least 2 interactions; the model is trained on the other users' interactions only. For a
test user, the time-ordered interactions are cut into the oldest ceil(90 %) (at most n-1) as the
input history and the rest, at least one, as the ground truth.

Metrics (§2.3), averaged over test users, rounded to 4 decimals as the GA API prints them:
precision@K, MRR@25, NDCG@K and catalogue coverage of the top-25 lists. The metric functions
below are pure functions over one ranked list and one truth set so that benchmarks can reuse them.

Conventions the spec leaves open (UNCONFIRMED there), chosen here:
* NDCG's ideal DCG counts min(K, |truth|) relevant items at the top (the standard definition; it
  reproduces the docs' example with two relevant items). The alternative "returned list re-sorted"
  ideal ignores relevant items the model missed, which inflates scores of weak models.
* The truth is the set of distinct items in the newest part: re-consuming an item once counts once.
* Coverage uses the top-25 lists of the test users over every item of the catalogue (items from
  the Interactions and Items datasets, i.e. TrainingData.n_items).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes.base import Engine, Event, Model, TrainingData

TEST_FRACTION = 0.1
MAX_K = 25
METRIC_KEYS = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)


@dataclass
class EvaluationSplit:
    train: TrainingData  # the full catalogue and codes, train users' interactions only
    test_users: np.ndarray  # int user codes of the test users
    histories: list[list[str]]  # per test user: oldest ~90 % of item ids, time order
    truths: list[list[str]]  # per test user: newest ~10 % of item ids, time order (>= 1)
    n_catalogue_items: int  # denominator of coverage

    @property
    def n_test_users(self) -> int:
        return len(self.test_users)


def split(data: TrainingData, seed: int = 0, test_fraction: float = TEST_FRACTION) -> EvaluationSplit:
    counts = np.bincount(data.users, minlength=data.n_users)
    eligible = counts >= 2
    rng = np.random.default_rng(seed)
    test = (rng.random(data.n_users) < test_fraction) & eligible
    if not test.any() and eligible.sum() >= 2:
        test[rng.choice(np.flatnonzero(eligible))] = True  # at least one test user when possible
    active = counts > 0
    if test.any() and not (active & ~test).any():
        test[np.flatnonzero(test)[-1]] = False  # keep at least one user to train on
    test_users = np.flatnonzero(test)

    indptr, items = data.user_histories()  # time order within each user
    histories, truths = [], []
    for u in test_users:
        seq = data.item_ids[items[indptr[u]:indptr[u + 1]]]
        n = len(seq)
        n_hist = min(n - 1, (9 * n + 9) // 10)  # ceil(0.9 n) in integers: 0.9*20 is 18.000000000000004
        histories.append(list(seq[:n_hist]))
        truths.append(list(seq[n_hist:]))
    train = data.subset(~test[data.users])
    return EvaluationSplit(train, test_users, histories, truths, data.n_items)


# ---- metric functions: one ranked list against one truth set ---------------------------------

def precision_at_k(ranked: Sequence[str], truth: Iterable[str], k: int) -> float:
    relevant = set(truth)
    return sum(1 for item in ranked[:k] if item in relevant) / k


def reciprocal_rank_at_k(ranked: Sequence[str], truth: Iterable[str], k: int = MAX_K) -> float:
    relevant = set(truth)
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at_k(ranked: Sequence[str], truth: Iterable[str], k: int) -> float:
    """DCG with gain 1/log2(1 + position) over the ideal DCG of min(k, |truth|) relevant items."""
    relevant = set(truth)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / np.log2(p + 1) for p, item in enumerate(ranked[:k], start=1) if item in relevant)
    ideal = sum(1.0 / np.log2(p + 1) for p in range(1, min(k, len(relevant)) + 1))
    return float(dcg / ideal)


def coverage(ranked_lists: Iterable[Sequence[str]], n_catalogue_items: int, k: int = MAX_K) -> float:
    if n_catalogue_items <= 0:
        return 0.0
    seen: set[str] = set()
    for ranked in ranked_lists:
        seen.update(ranked[:k])
    return len(seen) / n_catalogue_items


def metrics_from_lists(
    ranked_lists: Sequence[Sequence[str]],
    truths: Sequence[Iterable[str]],
    n_catalogue_items: int,
    k_list: Sequence[int] = (5, 10, 25),
) -> dict[str, float]:
    """Every GetSolutionMetrics key from the test users' ranked lists (unrounded)."""
    n = len(ranked_lists)
    out = {"coverage": coverage(ranked_lists, n_catalogue_items)}
    mean = (lambda values: float(np.mean(values)) if n else 0.0)  # noqa: E731
    out["mean_reciprocal_rank_at_25"] = mean([reciprocal_rank_at_k(r, t, MAX_K) for r, t in zip(ranked_lists, truths)])
    for k in k_list:
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = mean([ndcg_at_k(r, t, k) for r, t in zip(ranked_lists, truths)])
    for k in k_list:
        out[f"precision_at_{k}"] = mean([precision_at_k(r, t, k) for r, t in zip(ranked_lists, truths)])
    return out


def evaluate(model: Model, split_: EvaluationSplit, k_list: Sequence[int] = (5, 10, 25)) -> dict[str, float]:
    """Score the test users' histories with the model and report the metrics, rounded to 4 places."""
    n_results = max(MAX_K, *k_list)
    rank_many = getattr(model, "history_rank_many", None)  # batched, item ids only (no scores to compute)
    many = getattr(model, "history_recommend_many", None)  # batched path where the model has one
    if rank_many is not None:
        ranked = rank_many(split_.histories, n_results)
    else:
        if many is not None:
            results = many(split_.histories, n_results)
        else:
            results = [model.history_recommend(h, n_results) for h in split_.histories]
        ranked = [[item for item, _ in r] for r in results]
    metrics = metrics_from_lists(ranked, split_.truths, split_.n_catalogue_items, k_list)
    return {key: round(value, 4) for key, value in metrics.items()}


def train_and_evaluate(
    engine: Engine,
    data: TrainingData,
    hyperparameters: dict[str, str] | None = None,
    seed: int = 0,
    *,
    refit: bool = True,
) -> tuple[Model, dict[str, float]]:
    """(served model, metrics): metrics from a model fitted on the train users only.

    refit=True (default, what the service does): the served model is fitted again on all users'
    interactions, so test users contribute to it. refit=False serves the split model and costs one
    training instead of two: the test users' interactions are streamed into it with Model.update,
    which personalises them in sequence models (popularity-style engines ignore updates).
    """
    hyperparameters = dict(hyperparameters or {})
    parts = split(data, seed)
    if not parts.n_test_users:
        return engine.fit(data, hyperparameters, seed), {key: 0.0 for key in METRIC_KEYS}
    if refit and getattr(engine, "concurrent_fits", False):
        # The served model does not depend on the split model: with an engine whose fits may run
        # at the same time, it trains on a second thread while the split model trains and is
        # evaluated (the same models and metrics as one after the other, in less wall time).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="refit") as pool:
            served = pool.submit(engine.fit, data, hyperparameters, seed)
            metrics = evaluate(engine.fit(parts.train, hyperparameters, seed), parts)
            return served.result(), metrics
    split_model = engine.fit(parts.train, hyperparameters, seed)
    metrics = evaluate(split_model, parts)
    if refit:
        return engine.fit(data, hyperparameters, seed), metrics
    test = np.isin(data.users, parts.test_users)
    split_model.update([
        Event(str(data.user_ids[u]), str(data.item_ids[i]), float(t))
        for u, i, t in zip(data.users[test], data.items[test], data.timestamps[test])
    ])
    return split_model, metrics


# ---- USER_SEGMENTATION: Item-Affinity and Item-Attribute-Affinity (spec §2.1, §2.3) ----------
#
# Split (§2.1): "80 % of each user's interactions train, 20 % test". Each user's interactions are
# taken in time order (ties in arrival order, as TrainingData keeps them); the oldest
# ceil(80 %) -- at most n-1, so a user with two or more interactions keeps at least one for the
# test -- train, the rest are held out. A user with a single interaction keeps it for training.
# The time order is the reading that explains the documented rule that segmentation training fails
# when every record has the same timestamp (control-plane §8.3): a temporal split needs two times.
#
# Metrics (§2.3), one query per held-out item (Item-Affinity) or attribute value
# (Item-Attribute-Affinity); the truth of a query is the set of users who interacted with it in the
# held-out part. With k = 1 % of the users (ceil, at least one):
#   hits_at_1_percent   = mean over queries of |top-k predicted users ∩ truth| (a count),
#   recall_at_1_percent = mean over queries of |top-k ∩ truth| / |truth|,
#   coverage            = distinct users in all the queries' top-k lists / users in the data.
# Rounded to 4 decimals like the other metrics.

SEGMENT_TRAIN_FRACTION = 0.8
SEGMENTATION_METRIC_KEYS = ("coverage", "hits_at_1_percent", "recall_at_1_percent")


@dataclass
class SegmentationSplit:
    train: TrainingData  # the oldest ~80 % of every user's interactions (full catalogue and codes)
    test: TrainingData  # the newest ~20 %; same catalogue and codes

    @property
    def n_users(self) -> int:
        return self.train.n_users


def check_segmentation_timestamps(data: TrainingData) -> None:
    """USER_SEGMENTATION training fails when every interaction has the same timestamp (§8.3)."""
    if data.n_interactions == 0:
        raise ValueError("The Interactions dataset has no interactions to train on.")
    if int(data.timestamps.min()) == int(data.timestamps.max()):
        raise ValueError("All interactions in the Interactions dataset have the same timestamp. "
                         "USER_SEGMENTATION recipes need interactions with different timestamps "
                         "to train and evaluate the solution version.")


def segmentation_split(data: TrainingData, train_fraction: float = SEGMENT_TRAIN_FRACTION) -> SegmentationSplit:
    """Per-user temporal split: the oldest ceil(train_fraction * n), at most n - 1, train."""
    order = np.argsort(data.users, kind="stable")  # stable: time order within each user
    counts = np.bincount(data.users, minlength=data.n_users).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(data.n_interactions, dtype=np.int64)
    rank[order] = np.arange(data.n_interactions) - starts[data.users[order]]
    # round() first: 0.8 * 15 is 12.000000000000002 in floating point, whose ceiling is 13.
    wanted = np.ceil(np.round(train_fraction * counts, 9)).astype(np.int64)
    n_train = np.where(counts >= 2, np.minimum(counts - 1, wanted), counts)
    test = rank >= n_train[data.users]
    return SegmentationSplit(train=data.subset(~test), test=data.subset(test))


def one_percent(n_users: int) -> int:
    """How many users a "top 1 %" list holds: ceil(n_users / 100), at least one."""
    return max(1, -(-int(n_users) // 100))


def hits_at_1_percent(ranked_users: Sequence[str], truth: Iterable[str], n_users: int) -> float:
    """Users of the truth among the first 1 % of the ranked users (a count)."""
    relevant = set(truth)
    return float(sum(1 for user in ranked_users[:one_percent(n_users)] if user in relevant))


def recall_at_1_percent(ranked_users: Sequence[str], truth: Iterable[str], n_users: int) -> float:
    """Share of the truth found among the first 1 % of the ranked users (0 for an empty truth)."""
    relevant = set(truth)
    if not relevant:
        return 0.0
    return hits_at_1_percent(ranked_users, relevant, n_users) / len(relevant)


def segmentation_metrics_from_lists(
    ranked_lists: Sequence[Sequence[str]], truths: Sequence[Iterable[str]], n_users: int
) -> dict[str, float]:
    """The three USER_SEGMENTATION metrics over queries (unrounded); 0.0 without queries."""
    truths = [set(t) for t in truths]
    n = len(ranked_lists)
    mean = (lambda values: float(np.mean(values)) if n else 0.0)  # noqa: E731
    return {
        "coverage": coverage(ranked_lists, n_users, one_percent(n_users)) if n else 0.0,
        "hits_at_1_percent": mean([hits_at_1_percent(r, t, n_users) for r, t in zip(ranked_lists, truths)]),
        "recall_at_1_percent": mean([recall_at_1_percent(r, t, n_users) for r, t in zip(ranked_lists, truths)]),
    }


def segmentation_metrics(
    ranked_lists: Sequence[Sequence[str]], truths: Sequence[Iterable[str]], n_users: int
) -> dict[str, float]:
    """segmentation_metrics_from_lists rounded to 4 decimals, as GetSolutionMetrics prints them."""
    return {key: round(value, 4) for key, value in segmentation_metrics_from_lists(ranked_lists, truths, n_users).items()}


def held_out_item_queries(parts: SegmentationSplit) -> tuple[np.ndarray, list[set[str]]]:
    """Item-Affinity queries: the held-out items (item codes, ascending) and, for each, the ids of
    the users who interacted with it in the held-out part."""
    test = parts.test
    items = np.unique(test.items)
    order = np.lexsort((test.users, test.items))
    bounds = np.searchsorted(test.items[order], items, side="left")
    ends = np.searchsorted(test.items[order], items, side="right")
    users = test.users[order]
    truths = [set(test.user_ids[users[a:b]].tolist()) for a, b in zip(bounds, ends)]
    return items.astype(np.int64), truths
