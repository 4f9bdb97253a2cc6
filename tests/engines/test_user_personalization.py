import pickle
import subprocess
import sys

import numpy as np
import pytest

from personalize_mock.recipes.base import Event
from personalize_mock.recipes.engines import get_engine, load_model
from personalize_mock.recipes.engines.user_personalization import SequenceModel, parse_hyperparameters

from .conftest import assert_round_trip_serves_without_torch, make_data

A = [f"a{k}" for k in range(8)]
B = [f"b{k}" for k in range(8)]
CHAIN = [f"c{k}" for k in range(6)]
NOISE = [f"n{k}" for k in range(10)]


def genre_data(seed=0):
    """Even users consume only genre-A items, odd users only genre-B items; "cold" has no interactions."""
    rng = np.random.default_rng(seed)
    rows, t = [], 0
    for u in range(40):
        pool = A if u % 2 == 0 else B
        for _ in range(10):
            rows.append((f"u{u}", pool[rng.integers(len(pool))], t))
            t += 1
    genres = {i: "A" for i in A} | {i: "B" for i in B} | {"cold": "A"}
    return make_data(rows, genres=genres)


def chain_data(seed=0):
    """Every user watches part of the series c0 -> c5 in order, between random other items."""
    rng = np.random.default_rng(seed)
    rows, t = [], 0
    for u in range(50):
        start = int(rng.integers(0, 3))
        seq = list(rng.choice(NOISE, 2)) + CHAIN[start:] + list(rng.choice(NOISE, 2))
        for item in seq:
            rows.append((f"u{u}", str(item), t))
            t += 1
    return make_data(rows)


@pytest.fixture(scope="module")
def genre_model():
    hp = {"hidden_dimension": "32", "bptt": "8", "epochs": "30", "batch_size": "8", "learning_rate": "0.01"}
    return get_engine("aws-user-personalization").fit(genre_data(), hp, 7)


def ids(recs):
    return [i for i, _ in recs]


def test_user_of_one_genre_gets_that_genre(genre_model):
    assert set(ids(genre_model.recommend(user_id="u0", k=5))) <= set(A)
    assert set(ids(genre_model.recommend(user_id="u1", k=5))) <= set(B)
    assert set(ids(genre_model.history_recommend(["b2", "b5"], 5))) <= set(B)


def test_planted_next_item_ranks_high(tiny_up_hp):
    model = get_engine("aws-user-personalization").fit(chain_data(), dict(tiny_up_hp, epochs="40"), 0)
    firsts = 0
    for k in range(1, 5):
        recs = ids(model.history_recommend(["n3", CHAIN[k - 1], CHAIN[k]], 3))
        assert CHAIN[k + 1] in recs[:2], (k, recs)
        firsts += recs[0] == CHAIN[k + 1]
    assert firsts >= 3  # popularity alone cannot do this: c3, c4 and c5 are equally frequent


def test_scores_are_a_softmax_over_the_catalogue(genre_model):
    recs = genre_model.recommend(user_id="u0", k=100)
    scores = [s for _, s in recs]
    assert len(recs) == len(A) + len(B)  # every item with interactions; "cold" is never scored
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)
    top5 = genre_model.recommend(user_id="u0", k=5, exclude=[recs[0][0]], candidates=None)
    assert recs[0][0] not in ids(top5) and top5[0] == recs[1]  # excluding keeps the other scores as they are
    only = genre_model.recommend(user_id="u0", k=5, candidates=["b1", "a3", "ghost"])
    assert ids(only) == ["a3", "b1"]


def test_catalogue_scores_follow_the_positions_asked_for(genre_model):
    """recommend_and_score's scores, position by position, whichever read-only arrays it is given
    in turn (it keeps what it derives from the last one)."""
    everything = dict(genre_model.recommend(user_id="u0", k=100))
    catalogue = list(genre_model.item_ids)
    for positions in (np.arange(len(catalogue)), np.arange(len(catalogue))[::-1].copy(), np.array([0, 2])):
        for _ in range(2):
            positions.flags.writeable = False
            _, scores = genre_model.recommend_and_score(user_id="u0", k=3, catalogue_items=positions)
            want = [everything.get(catalogue[p], np.nan) for p in positions]
            np.testing.assert_allclose(scores, want, rtol=1e-6, equal_nan=True)


def test_unknown_user_gets_popularity_recent_weighted_when_recency_mask():
    rows = [(f"old{u}", "X", 86_400 * (u % 10)) for u in range(30)]
    rows += [(f"new{u}", "Y", 86_400 * (95 + u % 5)) for u in range(20)]
    rows += [(f"old{u}", f"f{u % 5}", 86_400 * (u % 10) + 1) for u in range(30)]
    rows += [(f"new{u}", f"f{u % 5}", 86_400 * 100) for u in range(20)]
    data = make_data(rows)
    engine = get_engine("aws-user-personalization")
    hp = {"hidden_dimension": "16", "bptt": "4", "epochs": "2"}
    plain = engine.fit(data, dict(hp, recency_mask="false"), 0).recommend(user_id="stranger", k=3)
    recent = engine.fit(data, dict(hp, recency_mask="true"), 0).recommend(user_id="stranger", k=3)
    assert ids(plain)[0] == "X" and ids(recent)[0] == "Y"
    assert plain[0][1] == pytest.approx(30 / 100, abs=1e-6)  # cold scores are the popularity shares


def test_update_personalises_a_new_user(genre_model):
    model = SequenceModel.load(genre_model.save())  # a copy: the module fixture stays untouched
    cold = model.recommend(user_id="newbie", k=5)
    assert cold == model.recommend(user_id="someone-else", k=5)
    model.update([Event("newbie", "a3", 100.0), Event("newbie", "a6", 101.0), Event("newbie", "ghost", 102.0)])
    warm = model.recommend(user_id="newbie", k=5)
    assert warm != cold and set(ids(warm)) <= set(A)
    assert warm == model.history_recommend(["a3", "a6"], 5)
    # a known user's streamed events extend their training history
    model.update([Event("u0", b, 200.0 + k) for k, b in enumerate(["b1", "b2", "b3", "b4", "b5", "b6"])])
    assert ids(model.recommend(user_id="u0", k=3))[0] in B


def test_rank_semantics(genre_model):
    ranked = genre_model.rank(user_id="u0", item_ids=["b1", "ghost", "a1", "cold", "a2", "a1"])
    assert ranked[-2:] == [("ghost", None), ("cold", None)]  # no interactions: last, unscored, input order
    scored = ranked[:-2]
    assert {i for i, _ in scored} == {"a1", "a2", "b1"} and scored[-1][0] == "b1"
    assert sum(s for _, s in scored) == pytest.approx(1.0, abs=1e-6)
    assert genre_model.rank(user_id="u0", item_ids=["ghost"]) == [("ghost", None)]


def test_determinism_and_seed(tiny_up_hp):
    engine = get_engine("aws-user-personalization")
    data = genre_data(seed=1)
    one, two = engine.fit(data, tiny_up_hp, 3), engine.fit(data, tiny_up_hp, 3)
    for key in one.arrays:
        assert np.array_equal(one.arrays[key], two.arrays[key]), key
    assert one.recommend(user_id="u4", k=10) == two.recommend(user_id="u4", k=10)
    other = engine.fit(data, tiny_up_hp, 4)
    assert not np.array_equal(one.arrays["items"], other.arrays["items"])


def test_save_load_round_trip_serves_without_torch(genre_model, tmp_path):
    model = SequenceModel.load(genre_model.save())
    model.update([Event("newbie", "b3", 1.0)])
    assert_round_trip_serves_without_torch(model, tmp_path)


def test_numpy_inference_matches_torch_gru():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    hidden, vocab = 6, 5
    gru = torch.nn.GRU(hidden, hidden, batch_first=True)
    table = torch.randn(vocab + 1, hidden)
    g = lambda t: t.detach().numpy().copy()  # noqa: E731
    arrays = {
        "W_ih": g(gru.weight_ih_l0), "W_hh": g(gru.weight_hh_l0), "b_ih": g(gru.bias_ih_l0),
        "b_hh": g(gru.bias_hh_l0), "W_out": np.eye(hidden, dtype=np.float32), "b_out": np.zeros(hidden, np.float32),
        "items": g(table[:vocab]), "bos": g(table[vocab]), "bias": np.zeros(vocab, np.float32),
        "prior": np.full(vocab, 1 / vocab),
    }
    model = SequenceModel("aws-user-personalization", parse_hyperparameters({}), arrays,
                          np.array(list("vwxyz"), dtype=object), np.arange(vocab), np.array([], dtype=object),
                          np.zeros(1, np.int64), np.zeros(0, np.int64))
    contexts = [np.array([5, 0, 3, 1]), np.array([2])]  # different lengths: right-aligned batch
    got = model._encode(contexts)
    for row, ctx in zip(got, contexts):
        _, h = gru(table[torch.from_numpy(ctx)][None])
        np.testing.assert_allclose(row, h[0, 0].detach().numpy(), atol=1e-5)


def test_hyperparameters():
    p = parse_hyperparameters({"training.hidden_dimension": "64", "data.recency_mask": "False", "bptt": "16",
                               "explorationWeight": "0.3"})
    assert (p.hidden_dimension, p.recency_mask, p.bptt) == (64, False, 16)
    assert parse_hyperparameters({}).hidden_dimension == 149 and parse_hyperparameters({}).bptt == 32
    for bad in ({"recency_mask": "yes"}, {"bptt": "0"}, {"max_user_history_length_percentile": "1.5"},
                {"min_user_history_length_percentile": "0.9", "max_user_history_length_percentile": "0.5"}):
        with pytest.raises(ValueError):
            parse_hyperparameters(bad)


def test_history_length_percentiles_and_sampled_softmax(tiny_up_hp):
    rows = [(f"u{u}", A[(u + k) % 8], 100 * u + k) for u in range(20) for k in range(2 + u)]
    data = make_data(rows)
    engine = get_engine("aws-personalized-ranking")
    model = engine.fit(data, dict(tiny_up_hp, max_user_history_length_percentile="0.5"), 0)
    assert model.training_info["n_trained_users"] == 11  # lengths 2..12: the "higher" median is 12
    assert model.recommend(user_id="u19", k=3)  # left out of training, still served from its history
    sampled = get_engine("aws-user-personalization").fit(genre_data(), dict(tiny_up_hp, sampled_softmax="4"), 0)
    assert sampled.training_info["softmax_candidates"] == 4
    assert set(ids(sampled.recommend(user_id="u0", k=3))) <= set(A)


def test_registry_import_is_light():
    code = ("import sys, personalize_mock.recipes.engines as e, personalize_mock.synthetic, "
            "personalize_mock.recipes.evaluation; assert 'torch' not in sys.modules, 'torch imported';"
            "print(sorted(e.ENGINES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "aws-personalized-ranking" in out.stdout and "aws-popularity-count" in out.stdout
    with pytest.raises(KeyError):
        get_engine("aws-nope")
    with pytest.raises(ValueError):
        load_model(pickle.dumps({"engine": "aws-nope"}))


def test_chunks_and_inference_context_follow_truncated_bptt():
    from personalize_mock.recipes.engines.user_personalization import _chunks

    bos, pad = 9, 10
    indptr, seqs = np.array([0, 3, 5]), np.array([1, 2, 3, 4, 5])
    inputs, targets, warm, has_warm = _chunks(indptr, seqs, np.array([0, 1]), 2, bos, pad)
    assert inputs.tolist() == [[bos, 1], [2, pad], [bos, 4]]
    assert targets.tolist() == [[1, 2], [3, -1], [4, 5]]
    assert has_warm.tolist() == [False, True, False] and warm[1].tolist() == [bos, 1]
    model = get_engine("aws-user-personalization").fit(genre_data(), {"hidden_dimension": "8", "bptt": "2", "epochs": "1"}, 0)
    assert model._context(np.array([1, 2, 3, 4, 5])).tolist() == [2, 3, 4, 5]  # previous chunk + current
    assert model._context(np.array([1])).tolist() == [model.bos, 1]


def test_train_and_evaluate_without_refit_streams_test_users(tiny_up_hp):
    from personalize_mock.recipes import evaluation as ev

    data = genre_data(seed=2)
    model, metrics = ev.train_and_evaluate(get_engine("aws-user-personalization"), data, tiny_up_hp, seed=1, refit=False)
    parts = ev.split(data, seed=1)
    assert tuple(metrics) == ev.METRIC_KEYS and parts.n_test_users >= 1
    u = parts.test_users[0]
    full = list(data.item_ids[data.items[data.users == u]])
    assert model.recommend(user_id=data.user_ids[u], k=5) == model.history_recommend(full, 5)


def test_batched_ranking_matches_one_by_one(genre_model):
    histories = [["a1"], ["b2", "b5", "a0"], ["ghost"], [], A + B + A[:4], ["b1"] * 3]
    for k in (1, 3, 16, 40):
        one = [genre_model.history_recommend(h, k) for h in histories]
        many = genre_model.history_recommend_many(histories, k)
        assert [ids(r) for r in many] == [ids(r) for r in one] == genre_model.history_rank_many(histories, k)
        for a, b in zip(many, one):
            # float32 logits summed in another order: a few units of the last place
            assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-6, abs=2e-7)
    assert genre_model.history_rank_many(histories, 0) == [[] for _ in histories]


def test_lazy_row_updates_train_a_large_catalogue(monkeypatch, tiny_up_hp):
    """Above DENSE_EMBEDDING_UPDATE_MAX cells Adam updates only the rows a step touched."""
    from personalize_mock.recipes.engines import user_personalization as up

    monkeypatch.setattr(up, "DENSE_EMBEDDING_UPDATE_MAX", 0)
    engine = get_engine("aws-user-personalization")
    one, two = engine.fit(genre_data(), tiny_up_hp, 7), engine.fit(genre_data(), tiny_up_hp, 7)
    assert all(np.array_equal(one.arrays[key], two.arrays[key]) for key in one.arrays)
    assert set(ids(one.recommend(user_id="u0", k=5))) <= set(A)
    assert set(ids(one.recommend(user_id="u1", k=5))) <= set(B)


def test_refit_beside_the_split_fit_gives_the_sequential_results(tiny_up_hp):
    torch = pytest.importorskip("torch")
    from personalize_mock.recipes import evaluation as ev

    engine = get_engine("aws-user-personalization")
    data = genre_data(seed=3)
    threads = torch.get_num_threads()
    served, metrics = ev.train_and_evaluate(engine, data, tiny_up_hp, seed=5)
    assert torch.get_num_threads() == threads  # the fits' one-thread setting is undone
    alone = engine.fit(data, tiny_up_hp, 5)
    assert all(np.array_equal(served.arrays[key], alone.arrays[key]) for key in alone.arrays)
    parts = ev.split(data, seed=5)
    assert metrics == ev.evaluate(engine.fit(parts.train, tiny_up_hp, 5), parts)


@pytest.mark.parametrize("name, hyperparameters", [("aws-user-personalization", {"hidden_dimension": "32"}),
                                                   ("aws-user-personalization-v2", {"epochs": "2"})])
def test_ranking_scores_only_the_input_items_as_the_full_scan_would(name, hyperparameters):
    model = get_engine(name).fit(chain_data(), hyperparameters, 0)
    items = CHAIN + NOISE[:4]
    for user in ("u0", "u7", "nobody"):
        history, codes = model._user_history(user), model._codes(items)
        full = model._logits_many([history])[0][codes]
        np.testing.assert_allclose(model._item_logits(history, codes), full, rtol=0, atol=1e-5)
