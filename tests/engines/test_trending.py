"""aws-trending-now: interval counts, the increase ranking, streamed events and the offline metric."""
from __future__ import annotations

import pytest

from personalize_mock.recipes.base import Event
from personalize_mock.recipes.engines import get_engine, load_model
from personalize_mock.recipes.engines.trending import _fit, interval_seconds

from .conftest import make_data

T = 1_700_000_000  # the latest interaction of the data below
H = 3600


def _spread(item, count, start, end, user="u"):
    """`count` interactions with `item`, evenly inside (start, end]."""
    step = (end - start) / count
    return [(f"{user}{k}", item, int(end - k * step)) for k in range(count)]


def _data():
    rows = []
    rows += _spread("flat", 120, T - 24 * H, T)  # most popular overall, 10 per 2 h: no increase
    rows += _spread("surge", 3, T - 4 * H, T - 2 * H) + _spread("surge", 30, T - 2 * H, T)
    rows += _spread("modest", 5, T - 4 * H, T - 2 * H) + _spread("modest", 11, T - 2 * H, T)
    rows += _spread("fading", 25, T - 4 * H, T - 2 * H) + _spread("fading", 2, T - 2 * H, T)
    rows += _spread("old", 60, T - 30 * H, T - 10 * H)  # popular long ago, silent recently
    return make_data(rows, catalogue=["never"])


def fit(data=None, frequency="2 hours"):
    return get_engine("aws-trending-now").fit(data or _data(), {"trend_discovery_frequency": frequency}, 0)


def test_surging_item_first_flat_popular_item_not():
    recs = fit().recommend(user_id="anyone", k=10)
    assert all(score is None for _, score in recs)
    assert [i for i, _ in recs] == ["surge", "modest", "flat", "old", "fading"]
    # increase ties (flat +0, old +0) fall to plain popularity; declining items come last;
    # an item without interactions is never listed


def test_same_list_for_everyone_exclude_candidates_rank():
    model = fit()
    assert model.recommend(user_id="a", k=3) == model.recommend(user_id="b", k=3) == model.recommend(k=3)
    assert [i for i, _ in model.recommend(k=2, exclude=["surge"])] == ["modest", "flat"]
    assert model.recommend(k=5, candidates=["fading", "x", "surge"]) == [("surge", None), ("fading", None)]
    assert model.rank(user_id="u", item_ids=["fading", "nope", "surge"]) == [
        ("surge", None), ("fading", None), ("nope", None)]
    assert model.history_recommend(["flat"], 2) == model.recommend(k=2)


def test_frequency_matters():
    rows = []
    rows += _spread("slow_burn", 4, T - 48 * H, T - 24 * H) + _spread("slow_burn", 48, T - 24 * H, T)
    rows += _spread("spike", 9, T - 25 * 60, T)  # only in the last half hour
    rows += _spread("steady", 96, T - 48 * H, T)  # 1 per half hour
    data = make_data(rows)
    half_hour = [i for i, _ in fit(data, "30 minutes").recommend(k=3)]
    day = [i for i, _ in fit(data, "1 day").recommend(k=3)]
    assert half_hour[0] == "spike"
    assert day[0] == "slow_burn" and day.index("spike") > 0
    assert interval_seconds({"trend_discovery_frequency": "1d"}) == 86_400  # catalogue aliases
    with pytest.raises(ValueError):
        interval_seconds({"trend_discovery_frequency": "5 days"})


def test_streamed_events_move_the_trend_and_new_items_join():
    model = fit()
    model.update([Event(f"n{k}", "newcomer", T + 60 + k) for k in range(40)])
    recs = [i for i, _ in model.recommend(k=3)]
    assert recs[0] == "newcomer"
    assert model.rank(user_id="x", item_ids=["newcomer", "flat"])[0] == ("newcomer", None)
    # the clock moved: a day later with fresh activity only for "modest", the old surge is gone
    model.update([Event("m", "modest", T + 26 * H + k) for k in range(3)])
    assert [i for i, _ in model.recommend(k=1)] == ["modest"]
    clone = load_model(model.save())
    assert clone.recommend(k=6) == model.recommend(k=6)


def test_no_recent_activity_gives_popular_items():
    data = _data()
    model = _fit(data, 2 * H, clock=T + 10 * 24 * H)  # nothing in the last two intervals
    assert [i for i, _ in model.recommend(k=5)] == ["flat", "old", "surge", "fading", "modest"]


def test_determinism():
    assert fit().recommend(k=10) == fit().recommend(k=10)
    assert fit().save() == fit().save()


def test_trend_prediction_accuracy():
    engine = get_engine("aws-trending-now")
    rows = []
    # "rising" keeps growing: 2, 10, 30 per interval; "flat" stays at 10 per interval
    rows += _spread("rising", 2, T - 6 * H, T - 4 * H) + _spread("rising", 10, T - 4 * H, T - 2 * H)
    rows += _spread("rising", 30, T - 2 * H, T)
    rows += _spread("flat", 30, T - 6 * H, T)
    model, metrics = engine.train_and_evaluate(make_data(rows), {"trend_discovery_frequency": "2 hours"}, 0)
    assert metrics == {"trend_prediction_accuracy": 1.0}
    assert model.recommend(k=1) == [("rising", None)]

    # 24 decoys grew before the held-out interval and stay flat in it; 2 risers were flat and
    # grow by 7 each in it: the prediction holds the 24 decoys and one riser -> 7 / 14
    rows = []
    for j in range(24):
        rows += _spread(f"decoy{j:02d}", 1, T - 6 * H, T - 4 * H, user=f"d{j}_")
        rows += _spread(f"decoy{j:02d}", 5, T - 4 * H, T - 2 * H, user=f"d{j}_")
        rows += _spread(f"decoy{j:02d}", 5, T - 2 * H, T, user=f"d{j}_")
    for name in ("riser1", "riser2"):
        rows += _spread(name, 9, T - 6 * H, T - 2 * H, user=name) + _spread(name, 12, T - 2 * H, T, user=name)
    hp = {"trend_discovery_frequency": "2 hours"}
    _, metrics = engine.train_and_evaluate(make_data(rows), hp, 0)
    assert metrics == {"trend_prediction_accuracy": 0.5}
    assert engine.train_and_evaluate(make_data(rows), hp, 0)[1] == metrics

    # nothing grows in the held-out interval: 0.0
    flat = _spread("x", 30, T - 6 * H, T)
    assert engine.train_and_evaluate(make_data(flat), hp, 0)[1] == {"trend_prediction_accuracy": 0.0}
