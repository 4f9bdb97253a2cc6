import math

import numpy as np
import pytest

from personalize_mock import synthetic
from personalize_mock.recipes import evaluation as ev
from personalize_mock.recipes.engines import get_engine

from .conftest import make_data


def test_mrr_docs_example():
    # Docs: first relevant item at ranks 4, 2 and 6 -> (1/4 + 1/2 + 1/6) / 3 = 0.3056.
    lists = [["a", "b", "c", "X"], ["a", "X"], ["a", "b", "c", "d", "e", "X"]]
    rr = [ev.reciprocal_rank_at_k(r, {"X"}, 25) for r in lists]
    assert round(float(np.mean(rr)), 4) == 0.3056
    assert ev.reciprocal_rank_at_k(["a"] * 30 + ["X"], {"X"}, 25) == 0.0  # beyond 25: no credit


def test_ndcg_docs_example_and_ideal_convention():
    ranked = ["a", "R1", "b", "c", "R2", "d"]
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 / math.log2(2) + 1 / math.log2(3))
    assert round(ev.ndcg_at_k(ranked, {"R1", "R2"}, 5), 4) == round(expected, 4) == 0.6241
    # Ideal from min(K, |truth|) relevant items: a missed third relevant item lowers the score.
    assert ev.ndcg_at_k(ranked, {"R1", "R2", "missing"}, 5) < ev.ndcg_at_k(ranked, {"R1", "R2"}, 5)
    assert ev.ndcg_at_k(["R1", "R2"], {"R1", "R2"}, 5) == pytest.approx(1.0)
    assert ev.ndcg_at_k(["a", "b"], {"R1"}, 5) == 0.0


def test_precision_and_coverage():
    ranked = [f"i{k}" for k in range(10)]
    assert ev.precision_at_k(ranked, {"i0", "i4", "i9", "zz"}, 10) == 0.3  # docs: 3 relevant of 10
    assert ev.precision_at_k(ranked[:3], {"i0"}, 5) == 0.2  # short lists still divide by K
    assert ev.coverage([["a", "b"], ["b", "c"]], 10) == 0.3


def test_metrics_from_lists_keys():
    out = ev.metrics_from_lists([["a", "b"], ["c"]], [["b"], ["z"]], 4)
    assert set(out) == set(ev.METRIC_KEYS)
    assert out["mean_reciprocal_rank_at_25"] == 0.25
    assert out["coverage"] == 0.75


def _frames_data(seed=0):
    return synthetic.to_training_data(synthetic.generate(n_users=300, n_items=100, n_interactions=4000, seed=seed))


def test_split_properties():
    data = _frames_data()
    parts = ev.split(data, seed=3)
    assert 10 <= parts.n_test_users <= 60  # about 10 % of 300 users
    test_codes = set(parts.test_users.tolist())
    assert not test_codes & set(parts.train.users.tolist())  # no test user's interaction in training
    assert parts.train.n_interactions + sum(len(h) + len(t) for h, t in zip(parts.histories, parts.truths)) \
        == data.n_interactions
    assert list(parts.train.item_ids) == list(data.item_ids)  # same catalogue and codes
    indptr, items = data.user_histories()
    for u, hist, truth in zip(parts.test_users, parts.histories, parts.truths):
        seq = list(data.item_ids[items[indptr[u]:indptr[u + 1]]])
        assert hist + truth == seq  # history is the oldest part, truth the newest
        assert len(truth) >= 1 and len(hist) >= 1
        assert len(truth) == len(seq) - min(len(seq) - 1, math.ceil(0.9 * len(seq) - 1e-9))
    mask = np.isin(data.users, parts.test_users)
    for u, hist, truth in zip(parts.test_users, parts.histories, parts.truths):
        ts = data.timestamps[data.users == u]
        assert ts[len(hist):].min() >= ts[:len(hist)].max()
    assert mask.sum() > 0
    again = ev.split(data, seed=3)
    assert again.test_users.tolist() == parts.test_users.tolist() and again.truths == parts.truths


def test_split_has_a_test_user_on_tiny_data():
    data = make_data([("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("b", "z", 4), ("c", "y", 5)])
    parts = ev.split(data, seed=0)
    assert parts.n_test_users == 1
    assert data.user_ids[parts.test_users[0]] in ("a", "b")  # c has one interaction: not eligible
    assert parts.truths[0] and parts.histories[0]


def test_evaluate_and_train_and_evaluate_with_popularity():
    data = _frames_data(seed=1)
    engine = get_engine("aws-popularity-count")
    model, metrics = ev.train_and_evaluate(engine, data, {}, seed=0)
    assert tuple(metrics) == ev.METRIC_KEYS
    assert all(0.0 <= v <= 1.0 and round(v, 4) == v for v in metrics.values())
    assert metrics["precision_at_5"] > 0  # popular items do hit on this data
    parts = ev.split(data, seed=0)
    assert metrics == ev.evaluate(engine.fit(parts.train, {}, 0), parts)
    # coverage of a same-for-everyone list is 25 items over the catalogue
    assert metrics["coverage"] == round(25 / data.n_items, 4)
    assert model.recommend(k=3) == engine.fit(data, {}, 0).recommend(k=3)  # served model: all data
