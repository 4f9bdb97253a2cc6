"""aws-user-personalization-v2 / aws-personalized-ranking-v2: the transformer engine, on tiny models."""

import numpy as np
import pytest

from personalize_mock import synthetic
from personalize_mock.recipes.base import Event
from personalize_mock.recipes.engines import get_engine
from personalize_mock.recipes.engines.transformer import (
    TransformerModel,
    _repeat_gaps,
    _windows,
    auto_epochs,
    parse_hyperparameters,
    recency_weights,
)

from .conftest import assert_round_trip_serves_without_torch, make_data

UP2, PR2 = "aws-user-personalization-v2", "aws-personalized-ranking-v2"
TINY = {"hidden_dimension": "16", "num_blocks": "1", "num_heads": "2", "max_len": "12", "dropout": "0.0",
        "epochs": "30", "batch_size": "16", "learning_rate": "0.01"}
A = [f"a{k}" for k in range(8)]
B = [f"b{k}" for k in range(8)]


def genre_data(seed=0):
    """Even users consume only genre-A items, odd users only genre-B items, never twice;
    "cold" has no interactions."""
    rng = np.random.default_rng(seed)
    rows, t = [], 0
    for u in range(40):
        pool = A if u % 2 == 0 else B
        for item in rng.permutation(pool)[:6]:
            rows.append((f"u{u}", str(item), t))
            t += 1
    return make_data(rows, catalogue=["cold"])


@pytest.fixture(scope="module")
def genre_model():
    return get_engine(UP2).fit(genre_data(), TINY, 7)


def ids(recs):
    return [i for i, _ in recs]


def test_planted_next_item_ranks_high():
    frames = synthetic.generate(n_users=200, n_items=100, n_interactions=4000, seed=3, p_follow=0.8)
    data = synthetic.to_training_data(frames)  # with item metadata (genres, price): the feature path too
    model = get_engine(UP2).fit(data, dict(TINY, hidden_dimension="32", epochs="8", batch_size="32"), 0)
    links = frames["truth"]["next_item"]
    counts = frames["interactions"]["ITEM_ID"].value_counts()
    popular_top5 = set(counts.index[:5])
    hits = popular_hits = 0
    for item, nxt in zip(links["ITEM_ID"], links["NEXT_ITEM_ID"]):
        top = ids(model.history_recommend([item], 5))
        hits += nxt in top
        popular_hits += nxt in popular_top5
    assert hits / len(links) > 0.6, hits / len(links)
    assert hits > 3 * max(popular_hits, 1)


def test_user_of_one_genre_gets_that_genre_and_no_seen_items(genre_model):
    recs = ids(genre_model.recommend(user_id="u0", k=2))
    assert set(recs) <= set(A)
    assert set(ids(genre_model.history_recommend(["b2", "b5"], 4))) <= set(B)
    # nobody consumes an item twice here: the learned repeat bias pushes seen items down
    assert genre_model.arrays["repeat"][0] < 0
    seen = ["a1", "a2", "a3"]
    assert not set(ids(genre_model.history_recommend(seen, 3))) & set(seen)


def test_scores_are_a_softmax_over_the_scored_subset(genre_model):
    recs = genre_model.recommend(user_id="u1", k=100)
    scores = [s for _, s in recs]
    assert len(recs) == len(A) + len(B)  # every item with interactions; "cold" is never scored
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)
    top = genre_model.recommend(user_id="u1", k=5, exclude=[recs[0][0]])
    assert recs[0][0] not in ids(top) and top[0] == recs[1]
    assert ids(genre_model.recommend(user_id="u1", k=5, candidates=["a3", "b1", "ghost", "cold"])) == ["b1", "a3"]


def test_unknown_user_gets_popular_items_recent_weighted_with_recency_bias():
    rows = [(f"old{u}", "X", 86_400 * (u % 10)) for u in range(30)]
    rows += [(f"new{u}", "Y", 86_400 * (95 + u % 5)) for u in range(20)]
    rows += [(f"old{u}", f"f{u % 5}", 86_400 * (u % 10) + 1) for u in range(30)]
    rows += [(f"new{u}", f"f{u % 5}", 86_400 * 100) for u in range(20)]
    data = make_data(rows)
    engine = get_engine(UP2)
    hp = dict(TINY, epochs="1")
    plain = engine.fit(data, dict(hp, apply_recency_bias="false"), 0)
    recent = engine.fit(data, hp, 0)  # apply_recency_bias defaults to true
    assert ids(plain.recommend(user_id="stranger", k=3))[0] == "X"
    assert ids(recent.recommend(user_id="stranger", k=3))[0] == "Y"
    assert plain.recommend(user_id="stranger", k=1)[0][1] == pytest.approx(30 / 100, abs=1e-6)
    assert recent.recommend(user_id=None, k=3) == recent.recommend(user_id="someone", k=3)


def test_recency_weights():
    ts = np.array([0, 50, 90, 100], dtype=np.int64) * 86_400
    w = recency_weights(ts, True)
    assert w.mean() == pytest.approx(1.0) and np.all(np.diff(w) > 0)
    assert w[-1] / w[0] == pytest.approx(1.0 / (0.5 + 0.5 * 2 ** -10), rel=1e-5)  # half-life: span / 10
    assert recency_weights(ts, False).tolist() == [1.0] * 4


def test_recency_bias_weighs_recent_behaviour_up_for_known_users():
    # Early on, a0 is followed by a1 (30 users); recently, by a2 (20 users). Plain counts favour a1;
    # with the recency bias the old interactions weigh about half as much, which favours a2.
    rows, t = [], 0
    for u in range(30):
        rows += [(f"e{u}", "a0", t), (f"e{u}", "a1", t + 1)]
        t += 1_000
    t = 10_000_000
    for u in range(20):
        rows += [(f"r{u}", "a0", t), (f"r{u}", "a2", t + 1)]
        t += 1_000
    data = make_data(rows)
    hp = dict(TINY, epochs="20", batch_size="50")
    plain = get_engine(UP2).fit(data, dict(hp, apply_recency_bias="false"), 0)
    recent = get_engine(UP2).fit(data, hp, 0)
    assert ids(plain.history_recommend(["a0"], 1)) == ["a1"]
    assert ids(recent.history_recommend(["a0"], 1)) == ["a2"]


def test_update_personalises_a_new_user(genre_model):
    model = TransformerModel.load(genre_model.save())  # a copy: the module fixture stays untouched
    cold = model.recommend(user_id="newbie", k=5)
    model.update([Event("newbie", "b3", 100.0), Event("newbie", "b6", 101.0), Event("newbie", "ghost", 102.0)])
    warm = model.recommend(user_id="newbie", k=3)
    assert warm != cold[:3] and set(ids(warm)) <= set(B)
    assert warm == model.history_recommend(["b3", "b6"], 3)
    # a known user's streamed events extend their training history
    b_share = lambda: sum(s for i, s in model.recommend(user_id="u0", k=16) if i in B)  # noqa: E731
    before = b_share()
    model.update([Event("u0", b, 200.0 + k) for k, b in enumerate(["b1", "b2", "b4", "b5", "b7", "b0"])])
    assert b_share() > 3 * before


def test_rank_semantics(genre_model):
    ranked = genre_model.rank(user_id="u0", item_ids=["b1", "ghost", "a1", "cold", "a7", "a1"])
    assert ranked[-2:] == [("ghost", None), ("cold", None)]  # no interactions: last, unscored, input order
    scored = ranked[:-2]
    assert {i for i, _ in scored} == {"a1", "a7", "b1"} and scored[-1][0] == "b1"
    assert sum(s for _, s in scored) == pytest.approx(1.0, abs=1e-6)
    assert genre_model.rank(user_id="u0", item_ids=["ghost"]) == [("ghost", None)]
    pr = get_engine(PR2).fit(genre_data(), TINY, 7)
    assert pr.engine_name == PR2
    assert pr.rank(user_id="u1", item_ids=["a2", "b2", "ghost"]) == genre_model.rank(
        user_id="u1", item_ids=["a2", "b2", "ghost"])  # the same model behind both recipes


def test_determinism_and_seed():
    engine = get_engine(UP2)
    data = genre_data(seed=1)
    hp = dict(TINY, epochs="3", dropout="0.2")
    one, two = engine.fit(data, hp, 3), engine.fit(data, hp, 3)
    for key in one.arrays:
        assert np.array_equal(one.arrays[key], two.arrays[key]), key
    assert one.recommend(user_id="u4", k=10) == two.recommend(user_id="u4", k=10)
    other = engine.fit(data, hp, 4)
    assert not np.array_equal(one.arrays["items"], other.arrays["items"])


def test_save_load_round_trip_serves_without_torch(genre_model, tmp_path):
    model = TransformerModel.load(genre_model.save())
    model.update([Event("newbie", "b3", 1.0)])
    assert_round_trip_serves_without_torch(model, tmp_path)


def test_numpy_serving_matches_the_torch_network():
    torch = pytest.importorskip("torch")
    from personalize_mock.recipes.engines.transformer import _Net

    params = parse_hyperparameters({"hidden_dimension": "16", "num_heads": "2", "max_len": "6", "num_blocks": "2"})
    V = 9
    torch.manual_seed(0)
    net = _Net(torch, V, params, None, np.full(V, 1 / V))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    net.eval()
    arrays = net.export(np.full(V, 1 / V))
    model = TransformerModel(UP2, params, arrays, np.array(list("abcdefghi"), dtype=object), np.arange(V),
                             np.array([], dtype=object), np.zeros(1, np.int64), np.zeros(0, np.int64))
    contexts = [np.array([3, 1, 4, 1, 5, 2]), np.array([7]), np.array([2, 8, 8])]
    for row, ctx in zip(model._encode(contexts), contexts):  # different lengths: left-padded batch
        inputs = torch.full((1, 6), V, dtype=torch.long)
        inputs[0, 6 - len(ctx):] = torch.from_numpy(ctx)
        with torch.no_grad():
            want = net.forward(inputs, net.item_table())[0, -1].numpy()
        np.testing.assert_allclose(row, want, atol=1e-5)
    # the training loss's logits (repeat biases included) are the served ones
    none = (torch.zeros(0, dtype=torch.long),) * 3
    inputs = torch.tensor([[V, V, 3, 1, 4, 1]])
    targets = torch.tensor([[-1, -1, 1, 4, 1, 5]])
    gaps = torch.from_numpy(_repeat_gaps(inputs.numpy()))
    for t in range(2, 6):
        weights = torch.zeros(1, t + 1)
        weights[0, t] = 1.0
        with torch.no_grad():
            loss = float(net.loss(inputs[:, :t + 1], targets[:, :t + 1], weights, gaps[:, :t + 1], none, 0, None))
        assert loss == pytest.approx(cross_entropy(model, inputs[0, 2:t + 1].numpy(), targets[0, t]), abs=1e-4)
    # a window with earlier history: items 8 and 2 were seen before it (2 again inside, at column 5)
    history = np.array([8, 2, 3, 1, 4, 1, 5, 2])
    windows = _windows(np.array([0, 9]), np.r_[history, 6], np.ones(9, np.float32), np.array([0]), 6, V)
    assert windows.inputs[0].tolist() == [3, 1, 4, 1, 5, 2]  # the newest window (then [PAD x 4, 8, 2])
    pre = windows.pre_of(np.array([0]), 0)
    assert [r.tolist() for r in pre] == [[0, 0], [2, 8], [5, 6]]
    weights = torch.zeros(1, 6)
    weights[0, 5] = 1.0
    with torch.no_grad():
        loss = float(net.loss(torch.from_numpy(windows.inputs[:1]), torch.from_numpy(windows.targets[:1]), weights,
                              torch.from_numpy(windows.gaps[:1]), tuple(torch.from_numpy(a) for a in pre), 0, None))
    assert loss == pytest.approx(cross_entropy(model, history, 6), abs=1e-4)


def cross_entropy(model, history, target):
    logits = model._logits_many([np.asarray(history)])[0]
    return np.log(np.exp(logits - logits.max()).sum()) - (logits[int(target)] - logits.max())


def test_windows_cut_from_the_newest_item():
    indptr = np.array([0, 5, 6, 9])
    seqs = np.array([10, 11, 12, 13, 14, 20, 30, 31, 30])
    weights = np.arange(9, dtype=np.float32)
    w = _windows(indptr, seqs, weights, np.arange(3), 3, pad=99)
    # user 0: 4 pairs -> windows [11 12 13 -> 12 13 14] and [10 -> 11]; user 1: none; user 2: 2 pairs
    assert w.inputs.tolist() == [[11, 12, 13], [99, 99, 10], [99, 30, 31]]
    assert w.targets.tolist() == [[12, 13, 14], [-1, -1, 11], [-1, 31, 30]]
    assert w.weights.tolist() == [[2, 3, 4], [0, 0, 1], [0, 7, 8]]
    assert w.lengths.tolist() == [3, 1, 2]
    # user 0's newest window had seen 10 before it; the others nothing
    assert w.pre_indptr.tolist() == [0, 1, 1, 1] and w.pre_items.tolist() == [10] and w.pre_until.tolist() == [3]
    assert _repeat_gaps(np.array([[5, 6, 5, 5]])).tolist() == [[2, 4, 1, 4]]


def test_hyperparameters():
    p = parse_hyperparameters({"training.apply_recency_bias": "False", "hidden_dimension": "32",
                               "bptt": "16", "explorationWeight": "0.3"})
    assert p.apply_recency_bias is False and p.hidden_dimension == 32
    assert parse_hyperparameters({}).apply_recency_bias is True
    assert parse_hyperparameters({"epochs": "auto"}).epochs is None
    for bad in ({"apply_recency_bias": "yes"}, {"hidden_dimension": "30", "num_heads": "4"},
                {"dropout": "1.5"}, {"max_len": "1"}, {"learning_rate": "0"}):
        with pytest.raises(ValueError):
            parse_hyperparameters(bad)


def test_sampled_softmax_trains_too(genre_model):
    model = get_engine(UP2).fit(genre_data(), dict(TINY, sampled_softmax="4"), 0)
    assert model.training_info["softmax_candidates"] == 4
    assert set(ids(model.recommend(user_id="u0", k=2))) <= set(A)


def test_auto_epochs_are_what_the_budget_pays_for_up_to_a_cap():
    assert auto_epochs(13.7) == 13.7  # ML-100k
    assert auto_epochs(0.4) == 0.4  # large data: a share of the windows
    assert auto_epochs(400.0) == 30  # tiny data: capped
