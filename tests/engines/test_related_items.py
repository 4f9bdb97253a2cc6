"""RELATED_ITEMS engines: aws-sims, aws-similar-items, aws-semantic-similarity."""
from __future__ import annotations

import math

import numpy as np
import pytest

from personalize_mock import synthetic
from personalize_mock.recipes.base import ItemRecords
from personalize_mock.recipes.engines import get_engine, load_model
from personalize_mock.recipes.engines.sims import COOCCURRENCE_DISTANCE, count_cooccurrences, training_histories
from personalize_mock.recipes.engines.sims import Params as SimsParams

from .conftest import make_data


def ids(recs):
    return [item for item, _ in recs]


def co_rows(groups, start=0, t0=0):
    """rows where user u{start+n} consumes every item of groups[n] (one group per user)."""
    rows = []
    for n, items in enumerate(groups):
        rows += [(f"u{start + n}", item, t0 + 10 * n + j) for j, item in enumerate(items)]
    return rows


def sims(data, **hp):
    return get_engine("aws-sims").fit(data, {k: str(v) for k, v in hp.items()}, 0)


# ---- aws-sims ------------------------------------------------------------------------------------

def _twins():
    # "a" and "b" are always consumed together (6 users); "p" is popular and everywhere.
    rows = co_rows([["a", "b", "p"]] * 6)
    rows += co_rows([["p", "c"]] * 5 + [["p", "d"]] * 4, start=6, t0=100)
    rows += co_rows([["c", "d", "p"]] * 3, start=20, t0=300)
    return make_data(rows, catalogue=["never"])


def test_sims_twin_first_never_itself_and_no_scores():
    model = sims(_twins())
    recs = model.recommend(item_id="a", k=3)
    assert ids(recs)[0] == "b" and ids(model.recommend(item_id="b", k=1)) == ["a"]
    assert "a" not in ids(model.recommend(item_id="a", k=10))
    assert all(score is None for _, score in recs)  # RELATED_ITEMS return no scores
    assert "never" not in ids(model.recommend(item_id="a", k=10))  # no interactions: never returned


def test_sims_finds_planted_series_successor():
    frames = synthetic.generate(n_users=300, n_items=200, n_interactions=8000, seed=0)
    model = sims(synthetic.to_training_data(frames))
    links = frames["truth"]["next_item"]
    top3 = [nxt in ids(model.recommend(item_id=item, k=3)) for item, nxt in zip(links.ITEM_ID, links.NEXT_ITEM_ID)]
    assert np.mean(top3) >= 0.8  # measured 0.90: neighbouring episodes co-occur in most histories


def _discount_data():
    # q co-occurs with "pop" in 4 users (pop has 40 users) and with "niche" in 3 (its only users).
    rows = co_rows([["q", "pop"]] * 4 + [["q", "niche"]] * 3 + [["pop", "x"]] * 36)
    return make_data(rows)


def test_popularity_discount_direction():
    data = _discount_data()
    # sim = cooc / pop^alpha: alpha 0 -> raw co-counts (4 > 3); alpha 1 -> 4/40 < 3/3.
    assert ids(sims(data, popularity_discount_factor=0).recommend(item_id="q", k=2)) == ["pop", "niche"]
    assert ids(sims(data, popularity_discount_factor=1).recommend(item_id="q", k=2)) == ["niche", "pop"]
    assert ids(sims(data).recommend(item_id="q", k=1)) == ["niche"]  # default 0.5: 3/sqrt(3) > 4/sqrt(40)


def test_min_cointeraction_count_drops_rare_pairs():
    rows = co_rows([["q", "rare"]] * 2 + [["pop", "x"]] * 5)
    data = make_data(rows)
    assert ids(sims(data, min_cointeraction_count=2).recommend(item_id="q", k=1)) == ["rare"]
    assert ids(sims(data, min_cointeraction_count=1).recommend(item_id="q", k=1)) == ["rare"]
    # default 3: q has no neighbour left, so it gets the popular items (pop and x: 5 users each)
    assert ids(sims(data).recommend(item_id="q", k=2)) == ids(sims(data).recommend(item_id="unknown", k=2))
    assert ids(sims(data).recommend(item_id="q", k=1)) != ["rare"]


def test_unknown_item_gets_popular_items():
    data = _twins()
    popular = get_engine("aws-popularity-count").fit(data, {}, 0).recommend(k=4)
    model = sims(data)
    assert model.recommend(item_id="nope", k=4) == popular
    assert model.recommend(k=4) == popular  # no item id at all
    assert model.recommend(item_id="never", k=4) == popular  # known, but no interaction
    # neighbours first, then popular items fill the list
    assert ids(model.recommend(item_id="a", k=4)) == ["b", "p", "c", "d"]


def test_exclude_and_candidates():
    model = sims(_twins())
    assert ids(model.recommend(item_id="a", k=2, exclude=["b"])) == ["p", "c"]
    assert ids(model.recommend(item_id="a", k=5, candidates=["d", "b", "zz", "a", "never"])) == ["b", "d"]
    assert model.recommend(item_id="a", k=0) == []


def test_user_history_percentile_drops_bots():
    # three "bots" with long histories are the only users linking x and y
    bots = [["x", "y"] + [f"f{n}_{j}" for j in range(28)] for n in range(3)]
    rows = co_rows(bots) + co_rows([["p", "c"]] * 100, start=3, t0=1000)
    data = make_data(rows)
    assert ids(sims(data).recommend(item_id="x", k=1)) == ["y"]  # default 0.995 keeps them (the maximum)
    dropped = sims(data, max_user_history_length_percentile=0.95)
    assert dropped.recommend(item_id="x", k=2) == dropped.recommend(item_id="unknown", k=2)  # popular items
    assert "y" not in ids(dropped.recommend(item_id="x", k=2))


def test_item_count_percentile_drops_head_item():
    # pairs (a_k, b_k), 5 users each: 100 interactions; "head" joins the users of pairs 0 and 1,
    # between a_k and b_k. Its 10 interactions all lie above the 90th percentile of the volume.
    groups = [[f"a{k}"] + (["head"] if k < 2 else []) + [f"b{k}"] for k in range(10) for _ in range(5)]
    data = make_data(co_rows(groups))
    # cooc(a0, head) = cooc(a0, b0) = 5, head right after a0: head comes first when it is kept
    kept = sims(data, popularity_discount_factor=0, max_item_interaction_count_percentile=1)
    assert ids(kept.recommend(item_id="a0", k=1)) == ["head"]
    dropped = sims(data, popularity_discount_factor=0)  # default 0.9 drops it
    assert ids(dropped.recommend(item_id="a0", k=2)) == ["b0", "head"]
    # (head still comes back through the popular fill: dropped items are only left out of the counts)


def test_history_recommend_weights_recent_items():
    rows = co_rows([["a", "b"]] * 4 + [["c", "d"]] * 4)
    model = sims(make_data(rows))
    assert ids(model.history_recommend(["a", "c"], 1)) == ["d"]  # c is the newest
    assert ids(model.history_recommend(["c", "a"], 1)) == ["b"]
    assert ids(model.history_recommend(["a", "b"], 2)) == ["a", "b"]  # seen items stay eligible (AWS: not removed)
    assert ids(model.history_recommend(["a", "c"], 2, exclude=["d"]))[0] == "b"
    popular = model.recommend(item_id="unknown", k=1)  # ties on users and events: the latest, d
    assert model.history_recommend_many([["c", "a"], ["unknown"], []], 1) == [[("b", None)], popular, popular]


def test_cooccurrence_counts_match_brute_force_across_blocks():
    rng = np.random.default_rng(3)
    rows = [(f"u{u}", f"i{i}", t) for t, (u, i) in enumerate(zip(rng.integers(0, 40, 400), rng.integers(0, 30, 400)))]
    data = make_data(rows)
    everyone = SimsParams(0.5, 1, 0.0, 1.0, 0.0, 1.0)
    indptr, items = training_histories(data, everyone)
    expected, weights = {}, {}
    for u in range(data.n_users):
        row = items[indptr[u]:indptr[u + 1]].tolist()  # distinct items, newest first
        for p, i in enumerate(row):
            for q, j in enumerate(row):
                if i != j:
                    expected[(i, j)] = expected.get((i, j), 0) + 1
                    weights[(i, j)] = weights.get((i, j), 0.0) + math.exp(-abs(p - q) / COOCCURRENCE_DISTANCE)
    for block in (1, 7, 1 << 20):  # one row per block, several, all at once
        r, c, n, w = count_cooccurrences(indptr, items, data.n_items, 1, lambda r, c, n, w: np.arange(len(r)), block)
        pairs = list(zip(r.tolist(), c.tolist()))
        assert dict(zip(pairs, n.tolist())) == expected
        assert np.allclose(w, [weights[pair] for pair in pairs], rtol=1e-12)


def test_sims_deterministic_save_load_and_rank():
    data = _twins()
    model = sims(data)
    again = sims(data)
    clone = load_model(model.save())
    for item in ("a", "b", "c", "p", "nope"):
        expected = model.recommend(item_id=item, k=5)
        assert again.recommend(item_id=item, k=5) == clone.recommend(item_id=item, k=5) == expected
    assert clone.history_recommend(["a", "c"], 3) == model.history_recommend(["a", "c"], 3)
    ranked = model.rank(user_id="u0", item_ids=["zz", "never", "a", "p"])
    assert ranked == [("p", None), ("a", None), ("never", None), ("zz", None)]


def test_hyperparameter_validation():
    with pytest.raises(ValueError):
        sims(_twins(), popularity_discount_factor=1.5)
    with pytest.raises(ValueError):
        sims(_twins(), min_user_history_length_percentile=0.9, max_user_history_length_percentile=0.1)
    with pytest.raises(ValueError):
        get_engine("aws-similar-items").fit(_twins(), {"item_id_hidden_dim": "x"}, 0)
    # prefixed names (as the service may pass them) are accepted
    model = get_engine("aws-sims").fit(_discount_data(), {"algorithm.popularity_discount_factor": "0"}, 0)
    assert ids(model.recommend(item_id="q", k=1)) == ["pop"]


# ---- aws-similar-items -------------------------------------------------------------------------

def _groups(cold=("cold_a",)):
    """Two genres; users consume within one genre; cold items exist only in the Items data."""
    a_items, b_items = [f"a{j}" for j in range(5)], [f"b{j}" for j in range(5)]
    rng = np.random.default_rng(0)
    groups = [list(rng.choice(a_items, 3, replace=False)) for _ in range(30)]
    groups += [list(rng.choice(b_items, 3, replace=False)) for _ in range(30)]
    genres = {**{i: "A" for i in a_items}, **{i: "B" for i in b_items}, **{c: "A" for c in cold}}
    return make_data(co_rows(groups), genres=genres), a_items, b_items


def similar(data, **hp):
    return get_engine("aws-similar-items").fit(data, {k: str(v) for k, v in hp.items()}, 0)


def test_similar_items_cold_item_gets_its_metadata_twins_neighbours():
    data, a_items, b_items = _groups()
    model = similar(data)
    cold = ids(model.recommend(item_id="cold_a", k=5))
    assert set(cold) == set(a_items)
    warm = ids(model.recommend(item_id="a0", k=5))
    assert set(warm[:4]) == set(a_items) - {"a0"}  # warm items: co-occurrence neighbours
    assert "cold_a" in warm  # and cold items with the same metadata are related to them
    assert all(score is None for _, score in model.recommend(item_id="a0", k=3))


def test_similar_items_unknown_item_popular_and_no_metadata():
    data, a_items, _ = _groups()
    popular = get_engine("aws-popularity-count").fit(data, {}, 0).recommend(k=3)
    assert similar(data).recommend(item_id="nope", k=3) == popular
    rows = list(zip(data.user_ids[data.users], data.item_ids[data.items], data.timestamps))
    plain = make_data(rows, catalogue=["lonely"])
    model = similar(plain)
    assert set(ids(model.recommend(item_id="a1", k=4))) == set(a_items) - {"a1"}
    assert model.recommend(item_id="lonely", k=3) == popular  # no interactions, no metadata
    assert "lonely" not in ids(model.recommend(item_id="a1", k=20))


def test_similar_items_popularity_discount_direction():
    data = synthetic.to_training_data(synthetic.generate(n_users=300, n_items=200, n_interactions=8000, seed=0))
    users = np.bincount(np.unique(data.users.astype(np.int64) * data.n_items + data.items) % data.n_items,
                        minlength=data.n_items)
    popularity = dict(zip(data.item_ids, users))

    def mean_popularity(alpha):
        model = similar(data, popularity_discount_factor=alpha)
        lists = [ids(model.recommend(item_id=item, k=10)) for item in data.item_ids[:100]]
        return np.mean([popularity[i] for top in lists for i in top])

    assert mean_popularity(0.0) > 1.2 * mean_popularity(1.0)  # closer to 0: more popular items


def test_similar_items_history_recommend_deterministic_and_save_load():
    data, a_items, _ = _groups()
    model = similar(data, item_id_hidden_dim=8, item_metadata_hidden_dim=4)
    assert set(ids(model.history_recommend(["b0", "a1", "a2"], 3))) <= set(a_items)  # newest items weigh more
    again = similar(data, item_id_hidden_dim=8, item_metadata_hidden_dim=4)
    clone = load_model(model.save())
    for item in ("a0", "b3", "cold_a", "nope"):
        expected = model.recommend(item_id=item, k=6)
        assert again.recommend(item_id=item, k=6) == clone.recommend(item_id=item, k=6) == expected
    histories = [["a0", "b1"], ["b2"], []]
    assert clone.history_recommend_many(histories, 4) == model.history_recommend_many(histories, 4)
    assert model.history_recommend_many(histories, 4)[0] == model.history_recommend(["a0", "b1"], 4)


# ---- aws-semantic-similarity -------------------------------------------------------------------

TEXTS = {
    "apple_pie": "Apple pie, cinnamon, baked",
    "apple_tart": "APPLE tart; cinnamon dessert",
    "rocket": "Rocket launch to orbit",
    "shuttle": "Space mission: launch, orbit",
    "stew": "Braised meat stew, red wine",
    "wine": "Red wine, grape",
    "blank": None,
}


def _text_data(with_interactions=True):
    items = list(TEXTS)
    rows = co_rows([["rocket", "stew"]] * 5) if with_interactions else []
    data = make_data(rows, catalogue=items)
    order = list(data.item_ids)
    data.item_texts = {"DESCRIPTION": np.array([TEXTS[i] for i in order], dtype=object)}
    data.item_creation_timestamps = np.array([100 * k for k in range(len(order))], dtype=np.int64)
    return data


def semantic(data):
    return get_engine("aws-semantic-similarity").fit(data, {}, 0)


def test_semantic_similarity_matches_overlapping_text():
    model = semantic(_text_data())
    assert ids(model.recommend(item_id="apple_pie", k=1)) == ["apple_tart"]
    assert ids(model.recommend(item_id="rocket", k=1)) == ["shuttle"]
    assert ids(model.recommend(item_id="wine", k=1)) == ["stew"]
    assert "blank" not in ids(model.recommend(item_id="apple_pie", k=6))  # no content: never related
    assert all(score is None for _, score in model.recommend(item_id="rocket", k=3))


def test_semantic_similarity_categories_without_text():
    rows = co_rows([["c1", "d1"]] * 3)
    data = make_data(rows, genres={"c1": "Comedy", "c2": "Comedy", "d1": "Drama", "d2": "Drama"})
    model = semantic(data)
    assert ids(model.recommend(item_id="c1", k=1)) == ["c2"]
    assert ids(model.recommend(item_id="d2", k=1)) == ["d1"]


def test_semantic_similarity_ranking_influence():
    model = semantic(_text_data())
    plain = ids(model.recommend(item_id="apple_pie", k=5))
    assert plain[0] == "apple_tart"
    # popularity: only rocket and stew have interactions; freshness: later catalogue items are newer
    popular = ids(model.recommend(item_id="apple_pie", k=1, ranking_influence={"POPULARITY": 1.0}))
    assert popular[0] in ("rocket", "stew")
    fresh = ids(model.recommend(item_id="apple_pie", k=5, ranking_influence={"FRESHNESS": "1"}))
    assert fresh.index("wine") < plain.index("wine")
    assert model.recommend(item_id="apple_pie", k=5, ranking_influence={"POPULARITY": 0, "FRESHNESS": 0}) == \
        model.recommend(item_id="apple_pie", k=5)
    with pytest.raises(ValueError):
        model.recommend(item_id="apple_pie", ranking_influence={"POPULARITY": 2})
    with pytest.raises(ValueError):
        model.recommend(item_id="apple_pie", ranking_influence={"RECENCY": 0.5})


def test_semantic_similarity_without_interactions_fallback_and_save_load():
    data = _text_data(with_interactions=False)
    model = semantic(data)
    assert ids(model.recommend(item_id="rocket", k=1)) == ["shuttle"]
    # unknown item: popular items, then the newest (here: no interactions, so newest first)
    assert ids(model.recommend(item_id="nope", k=2)) == ["wine", "stew"]
    clone = load_model(model.save())
    for item in ("apple_pie", "rocket", "nope"):
        assert clone.recommend(item_id=item, k=4) == model.recommend(item_id=item, k=4)
    assert clone.recommend(item_id="apple_pie", k=3, ranking_influence={"FRESHNESS": 0.5}) == \
        model.recommend(item_id="apple_pie", k=3, ranking_influence={"FRESHNESS": 0.5})
    assert model.history_recommend(["rocket"], 2) == [("rocket", None), ("shuttle", None)]  # seen items stay
    with pytest.raises(ValueError):
        semantic(make_data(co_rows([["a", "b"]] * 3)))  # no content at all


def topic_catalogue(n_topics=300, per_topic=4, seed=7):
    """Items "t{topic}-{i}": 2 of their topic's 3 rare words among 8 of 60 common words."""
    rng = np.random.default_rng(seed)
    common = [f"common{j}" for j in range(60)]
    ids_, texts = [], []
    for t in range(n_topics):
        rare = [f"rare{t}x{j}" for j in range(3)]
        for i in range(per_topic):
            words = list(rng.choice(rare, 2, replace=False)) + list(rng.choice(common, 8, replace=False))
            rng.shuffle(words)
            ids_.append(f"t{t}-{i}")
            texts.append(" ".join(words).capitalize() + ".")
    return ids_, texts


def test_semantic_similarity_relates_items_sharing_rare_words():
    # 300 topics: more than a low-rank projection keeps apart (a 128-d LSA of the same words put a
    # topic mate first for 31 % of the items)
    catalogue, texts = topic_catalogue()
    data = make_data([], catalogue=catalogue)
    data.item_texts = {"DESCRIPTION": np.array(texts, dtype=object)}
    model = semantic(data)

    def topic(item):
        return item.split("-")[0]

    assert all(topic(model.recommend(item_id=i, k=1)[0][0]) == topic(i) for i in catalogue)
    mates = [np.mean([topic(r) == topic(i) for r in ids(model.recommend(item_id=i, k=3))]) for i in catalogue]
    assert np.mean(mates) >= 0.9


def item_records(texts=None, categories=None):
    """ItemRecords for update_items: texts {item: description}, categories {item: [column, ...]}."""
    items = list(dict.fromkeys(list(texts or {}) + list(categories or {})))
    pairs = [(n, c) for n, item in enumerate(items) for c in (categories or {}).get(item, [])]
    return ItemRecords(
        item_ids=np.array(items, dtype=object),
        texts={"DESCRIPTION": np.array([(texts or {}).get(i) for i in items], dtype=object)},
        category_records=np.array([n for n, _ in pairs], dtype=np.int64),
        category_columns=np.array([c for _, c in pairs], dtype=object),
    )


def test_semantic_similarity_update_items_places_new_and_changed_items():
    model = semantic(_text_data())
    before = {i: model.recommend(item_id=i, k=6) for i in TEXTS}
    model.update_items(item_records({"apple_pie": TEXTS["apple_pie"], "wine": TEXTS["wine"]}))
    assert {i: model.recommend(item_id=i, k=6) for i in TEXTS} == before  # re-sent unchanged

    model.update_items(item_records({"pie_new": "Apple pie with cinnamon crumble",  # new
                                     "shuttle": "Red wine braised beef",  # changed: now a dish
                                     "unseen": "Quantum chromodynamics"}))  # words training never saw
    assert ids(model.recommend(item_id="apple_pie", k=1)) == ["pie_new"]
    assert ids(model.recommend(item_id="pie_new", k=2)) == ["apple_pie", "apple_tart"]
    assert ids(model.recommend(item_id="shuttle", k=2)) == ["stew", "wine"]
    assert ids(model.recommend(item_id="rocket", k=1)) == ["stew"]  # no word shared any more: popular first
    assert model.recommend(item_id="unseen", k=3) == model.recommend(item_id="nope", k=3)  # no content
    assert all("unseen" not in ids(model.recommend(item_id=i, k=9)) for i in TEXTS)
    assert ids(model.history_recommend(["pie_new"], 2)) == ["pie_new", "apple_pie"]
    clone = load_model(model.save())
    for item in ("apple_pie", "pie_new", "shuttle", "unseen"):
        assert clone.recommend(item_id=item, k=4) == model.recommend(item_id=item, k=4)


def test_semantic_similarity_update_items_with_categories():
    data = make_data(co_rows([["c1", "d1"]] * 3), genres={"c1": "Comedy", "c2": "Comedy", "d1": "Drama"})
    model = semantic(data)
    model.update_items(item_records(categories={"c3": ["GENRES=Comedy"], "x": ["GENRES=Western"]}))
    assert set(ids(model.recommend(item_id="c1", k=2))) == {"c2", "c3"}
    assert ids(model.recommend(item_id="c3", k=2)) == ["c1", "c2"]  # ties: the more popular first
    assert "x" not in ids(model.recommend(item_id="d1", k=5))  # a value training never saw: no content


def test_semantic_similarity_updates_merged_into_the_postings_answer_the_same(monkeypatch):
    from personalize_mock.recipes.engines import semantic_similarity

    catalogue, texts = topic_catalogue(n_topics=40)
    data = make_data([], catalogue=catalogue[:100])
    data.item_texts = {"DESCRIPTION": np.array(texts[:100], dtype=object)}
    kept_apart, merged = semantic(data), semantic(data)
    monkeypatch.setattr(semantic_similarity, "MERGE_MIN", 0)
    monkeypatch.setattr(semantic_similarity, "MERGE_FRACTION", 0.0)
    for start in range(60, 160, 20):  # changed items (60-99) and new ones (100-159)
        batch = item_records(dict(zip(catalogue[start:start + 20], texts[start:start + 20])))
        merged.update_items(batch)
        assert not len(merged.text.recent_codes)
        monkeypatch.setattr(semantic_similarity, "MERGE_MIN", 1 << 30)
        kept_apart.update_items(batch)
        monkeypatch.setattr(semantic_similarity, "MERGE_MIN", 0)
    assert len(kept_apart.text.recent_codes) == 100
    for item in catalogue[::7]:
        assert merged.recommend(item_id=item, k=5) == kept_apart.recommend(item_id=item, k=5)
        history = [item, catalogue[3]]
        assert merged.history_recommend(history, 5) == kept_apart.history_recommend(history, 5)
