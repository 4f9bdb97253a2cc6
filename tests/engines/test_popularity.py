from personalize_mock.recipes.base import Event
from personalize_mock.recipes.engines import get_engine, load_model

from .conftest import make_data


def _data():
    rows = []
    # "solo" is clicked 6 times by one user; "crowd" once each by 4 users; "pair" by 2 users.
    rows += [("u0", "solo", t) for t in range(6)]
    rows += [(f"u{k}", "crowd", 10 + k) for k in range(1, 5)]
    rows += [("u1", "pair", 20), ("u2", "pair", 21)]
    rows += [("u3", "late", 30), ("u4", "early", 5)]  # tie on users and events: recency decides
    # Ties on distinct users fall to the event count: "solo" (1 user, 6 events) before "late".
    return make_data(rows, catalogue=["never"])


def fit():
    return get_engine("aws-popularity-count").fit(_data(), {}, 0)


def test_counts_distinct_users_not_events():
    recs = fit().recommend(user_id="anyone", k=10)
    assert [i for i, _ in recs] == ["crowd", "pair", "solo", "late", "early"]
    assert all(score is None for _, score in recs)  # AWS returns no scores for Popularity-Count


def test_same_list_for_everyone_and_k():
    model = fit()
    assert model.recommend(user_id="u0", k=2) == model.recommend(user_id="zzz", k=2) == [("crowd", None), ("pair", None)]
    assert model.recommend(k=0) == []
    assert "never" not in [i for i, _ in model.recommend(k=50)]  # no interactions: not popular


def test_exclude_and_candidates():
    model = fit()
    assert [i for i, _ in model.recommend(k=2, exclude=["crowd", "solo"])] == ["pair", "late"]
    got = model.recommend(k=5, candidates=["solo", "unknown", "pair", "never", "solo"])
    assert got == [("pair", None), ("solo", None)]
    assert model.recommend(k=5, candidates=["solo", "pair"], exclude=["pair"]) == [("solo", None)]


def test_rank_unknown_last_and_history_recommend():
    model = fit()
    ranked = model.rank(user_id="u1", item_ids=["never", "solo", "x", "crowd"])
    assert ranked == [("crowd", None), ("solo", None), ("never", None), ("x", None)]
    assert model.history_recommend(["solo"], 3) == model.recommend(k=3)


def test_update_needs_retraining_and_save_load():
    model = fit()
    before = model.recommend(k=5)
    model.update([Event("u9", "solo", 100.0), Event("u8", "solo", 101.0), Event("u7", "solo", 102.0)])
    assert model.recommend(k=5) == before
    clone = load_model(model.save())
    assert clone.recommend(k=5) == before
    assert clone.rank(user_id="u", item_ids=["solo", "crowd"]) == model.rank(user_id="u", item_ids=["solo", "crowd"])
