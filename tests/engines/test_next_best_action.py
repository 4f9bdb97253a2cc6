"""aws-next-best-action: propensities, the score / exploration rules, expiry, repeat windows,
VALUE tie-break, streamed interactions, offline metrics and determinism."""
from __future__ import annotations

import numpy as np
import pytest

from personalize_mock.recipes.base import ActionData, Event
from personalize_mock.recipes.engines import get_engine, load_model
from personalize_mock.recipes.engines.next_best_action import MIN_NOT_TAKEN, MIN_TAKEN

from .conftest import make_data

DAY = 86_400
T0 = 1_700_000_000
END = T0 + 35 * DAY  # the latest action interaction
GROUP = [f"g{k}" for k in range(100)]  # like items of cluster A, take "join"
OTHERS = [f"o{k}" for k in range(100)]  # like items of cluster B, decline "join"
HELD = set(GROUP[90:]) | set(OTHERS[90:])  # never see "join": judged on their items alone


def make_actions(catalogue: dict[str, dict], rows) -> ActionData:
    """catalogue: action_id -> {value, expires, repeat, created}; rows: (user, action, ts, type)."""
    rows = sorted(rows, key=lambda r: r[2])
    ids = list(catalogue) + [a for a in dict.fromkeys(r[1] for r in rows) if a not in catalogue]
    users = list(dict.fromkeys(r[0] for r in rows))

    def attr(key, default):
        return [catalogue.get(a, {}).get(key, default) for a in ids]

    return ActionData(
        action_ids=np.array(ids, dtype=object),
        values=np.array(attr("value", np.nan), dtype=np.float64),
        expiration_timestamps=np.array(attr("expires", -1), dtype=np.int64),
        repeat_frequencies=np.array(attr("repeat", -1), dtype=np.int64),
        creation_timestamps=np.array(attr("created", -1), dtype=np.int64),
        cataloged=np.array([a in catalogue for a in ids]),
        user_ids=np.array(users, dtype=object),
        users=np.array([users.index(r[0]) for r in rows], dtype=np.int32),
        actions=np.array([ids.index(r[1]) for r in rows], dtype=np.int32),
        timestamps=np.array([r[2] for r in rows], dtype=np.int64),
        event_types=np.array([r[3] for r in rows], dtype=object),
    )


CATALOGUE = {
    "join": {"value": 5, "repeat": 7},
    "app": {"value": 5},
    "stale": {"value": 9, "expires": T0 + 20 * DAY},  # expired before the data ends
    "rare": {"value": 1},  # 49 TAKEN only: no score
    "premium": {"value": 10, "created": T0},  # no interactions: exploration
    "basic": {"value": 3, "created": T0 + DAY},
}


def scenario(seed: int = 0):
    rng = np.random.default_rng(seed)
    items = []
    for group, prefix in ((GROUP, "a"), (OTHERS, "b")):
        for u in group:
            for item in rng.choice(20, size=8, replace=False):
                items.append((u, f"{prefix}{item}", T0 + int(rng.integers(0, 30 * DAY))))
    acts = []
    everyone = GROUP + OTHERS
    for u in everyone:
        if u in HELD:
            continue
        in_group = u in GROUP
        last_day = 20 if u in GROUP[:10] else 34  # g0-g9 are outside join's repeat window
        for _ in range(2):
            t = T0 + int(rng.integers(0, last_day * DAY))
            if in_group:
                acts.append((u, "join", t, "TAKEN" if rng.random() < 0.9 else "VIEWED"))
            else:
                acts.append((u, "join", t, "TAKEN" if rng.random() < 0.1 else "NOT_TAKEN"))
        t = T0 + int(rng.integers(0, 34 * DAY))
        acts.append((u, "app", t, "VIEWED"))
        acts.append((u, "app", t + 60, "TAKEN" if rng.random() < 0.5 else "NOT_TAKEN"))
        acts.append((u, "stale", T0 + int(rng.integers(0, 30 * DAY)), "TAKEN" if rng.random() < 0.5 else "VIEWED"))
        acts.append((u, "ghost", T0 + int(rng.integers(0, 30 * DAY)), "TAKEN" if rng.random() < 0.5 else "VIEWED"))
    acts += [(everyone[k], "rare", T0 + 30 * DAY + k, "TAKEN") for k in range(MIN_TAKEN - 1)]
    acts += [(everyone[k], "rare", T0 + 31 * DAY + k, "NOT_TAKEN") for k in range(MIN_NOT_TAKEN + 10)]
    acts.append(("g0", "join", END - DAY, "TAKEN"))  # g0 is inside join's 7-day repeat window
    acts.append(("o0", "app", END, "VIEWED"))  # the latest action interaction
    data = make_data(items)
    data.actions = make_actions(CATALOGUE, acts)
    return data


@pytest.fixture(scope="module")
def model():
    return get_engine("aws-next-best-action").fit(scenario(), {"action_optimization_period": "14"}, 42)


def ids(recs):
    return [a for a, _ in recs]


def test_planted_group_gets_high_propensity(model):
    join = model.action_ids.index("join")
    # users who never saw "join": their items alone put them with the takers or the decliners
    group = [model.propensities(u)[join] for u in GROUP[90:]]
    others = [model.propensities(u)[join] for u in OTHERS[90:]]
    assert min(group) > 0.7 and max(others) < 0.5 and np.mean(others) < 0.35
    for u in ("g95", "g99"):
        assert model.recommend_actions(user_id=u, k=1) == [("join", model.propensities(u)[join])]
    for u in ("o95", "o99"):
        assert ids(model.recommend_actions(user_id=u, k=6))[0] != "join"
    # users with a history of taking it (or declining it) are even clearer
    assert model.propensities("g5")[join] > 0.9 and model.propensities("o5")[join] < 0.3
    recs = model.recommend_actions(user_id="g5", k=10)
    assert all(0.0 <= s <= 1.0 and isinstance(s, float) for _, s in recs)
    assert [s for _, s in recs] == sorted((s for _, s in recs), reverse=True)


def test_expired_and_uncatalogued_actions_never_returned(model):
    assert model.eligible[model.action_ids.index("stale")]  # enough data, but expired
    for u in ("g1", "o1", "g95", "nobody"):
        listed = ids(model.recommend_actions(user_id=u, k=100))
        assert "stale" not in listed and "ghost" not in listed
    assert "stale" in ids(model.recommend_actions(user_id="g1", k=100, now=T0 + 19 * DAY))  # not yet expired


def test_repeat_window(model):
    assert "join" not in ids(model.recommend_actions(user_id="g0", k=100))  # took it a day ago
    assert "join" in ids(model.recommend_actions(user_id="g1", k=100))
    assert "join" in ids(model.recommend_actions(user_id="g0", k=100, now=END + 6 * DAY + 1))
    # streamed: g2 takes "join" now; the window starts and the clock moves with it
    clone = load_model(model.save())
    clone.update_actions([Event("g2", "join", float(END + 3600), "Taken")])
    assert "join" not in ids(clone.recommend_actions(user_id="g2", k=100))
    assert "join" in ids(clone.recommend_actions(user_id="g2", k=100, now=END + 3600 + 7 * DAY))
    assert "join" in ids(model.recommend_actions(user_id="g2", k=100))  # the original is untouched


def test_under_threshold_and_unseen_actions_score_zero_after_scored_ones(model):
    assert not model.eligible[model.action_ids.index("rare")]
    recs = model.recommend_actions(user_id="g3", k=100)
    scores = dict(recs)
    assert scores["rare"] == 0.0 and scores["premium"] == 0.0 and scores["basic"] == 0.0
    assert scores["join"] > 0.0 and scores["app"] > 0.0
    # exploration actions (0.0) come after the scored ones, higher VALUE first
    assert ids(recs) == ["join", "app", "premium", "basic", "rare"]


def test_no_action_interactions_all_exploration_by_value():
    data = scenario()
    data.actions = make_actions(CATALOGUE, [])
    model = get_engine("aws-next-best-action").fit(data, {}, 0)
    recs = model.recommend_actions(user_id="g1", k=10)
    # all 0.0: higher VALUE first; join and app tie on VALUE and on the inferred creation time
    # (no interactions: the latest interaction of the training set), so catalogue order decides
    assert recs == [("premium", 0.0), ("join", 0.0), ("app", 0.0), ("basic", 0.0), ("rare", 0.0)]
    assert model.recommend_actions(user_id="g1", k=2) == recs[:2]


def test_equal_propensity_higher_value_wins(model):
    clone = load_model(model.save())
    join, app = clone.action_ids.index("join"), clone.action_ids.index("app")
    clone.weights[app] = clone.weights[join]
    clone.means[app] = clone.means[join]
    clone.scales[app] = clone.scales[join]
    clone.values[app] = 6.0  # app now worth more than join at the same propensity
    clone = load_model(clone.save())
    p = clone.propensities("stranger")
    assert p[join] == p[app] > 0
    assert ids(clone.recommend_actions(user_id="stranger", k=2)) == ["app", "join"]
    clone.values[app] = 4.0
    assert ids(load_model(clone.save()).recommend_actions(user_id="stranger", k=2)) == ["join", "app"]


def test_streamed_item_interactions_update_the_profile(model):
    clone = load_model(model.save())
    join = clone.action_ids.index("join")
    before = clone.propensities("newbie")[join]
    clone.update([Event("newbie", f"a{k}", float(END + k)) for k in range(8)])  # cluster-A items
    assert clone.propensities("newbie")[join] > max(0.7, before)


def test_determinism_and_save_load(model):
    again = get_engine("aws-next-best-action").fit(scenario(), {"action_optimization_period": "14"}, 42)
    for u in ("g1", "o1", "g95", "nobody"):
        assert again.recommend_actions(user_id=u, k=10) == model.recommend_actions(user_id=u, k=10)
    assert np.array_equal(again.weights, model.weights)
    clone = load_model(model.save())
    assert clone.recommend_actions(user_id="g7", k=10) == model.recommend_actions(user_id="g7", k=10)


def test_needs_actions():
    data = scenario()
    data.actions = None
    with pytest.raises(ValueError, match="Actions dataset"):
        get_engine("aws-next-best-action").fit(data, {}, 0)


def test_train_and_evaluate():
    engine = get_engine("aws-next-best-action")
    data = scenario()
    model, metrics = engine.train_and_evaluate(data, {"action_optimization_period": "7"}, 42)
    assert set(metrics) == {"auc", "coverage", "precision", "recall",
                            "normalized_discounted_cumulative_gain_at_5",
                            "normalized_discounted_cumulative_gain_at_10",
                            "normalized_discounted_cumulative_gain_at_25"}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["auc"] > 0.7  # the planted group is learnable
    assert metrics["coverage"] > 0
    assert model.recommend_actions(user_id="g1", k=3) == engine.fit(data, {"action_optimization_period": "7"}, 42) \
        .recommend_actions(user_id="g1", k=3)


def test_from_datasets_with_documented_spellings():
    """Action interactions imported as "Taken" / "Not Taken" (build_action_data) train the engine."""
    from personalize_mock.data import DatasetRecords, parse_schema, read_csv_records
    from personalize_mock.data.actions import build_action_data

    def schema(name, fields):
        import json
        return parse_schema(json.dumps({"type": "record", "name": name, "fields": fields, "version": "1.0"}))

    actions = DatasetRecords(schema("Actions", [{"name": "ACTION_ID", "type": "string"},
                                                {"name": "VALUE", "type": ["null", "long"]}]))
    actions.import_bulk(read_csv_records([("a.csv", b"ACTION_ID,VALUE\nsignup,4\nnewsletter,2\n")],
                                         actions.schema, "Actions"))
    interactions = DatasetRecords(schema("ActionInteractions", [
        {"name": "USER_ID", "type": "string"}, {"name": "ACTION_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}]))
    lines = ["USER_ID,ACTION_ID,TIMESTAMP,EVENT_TYPE"]
    lines += [f"g{k},signup,{T0 + k * 600},Taken" for k in range(60)]
    lines += [f"o{k},signup,{T0 + k * 600},Not Taken" for k in range(60)]
    interactions.import_bulk(read_csv_records([("ai.csv", "\n".join(lines).encode())], interactions.schema,
                                              "Action_Interactions"))
    data = scenario()
    data.actions = build_action_data(actions, interactions)
    model = get_engine("aws-next-best-action").fit(data, {}, 0)
    assert model.eligible.tolist() == [True, False]
    recs = model.recommend_actions(user_id="g95", k=5)
    assert ids(recs) == ["signup", "newsletter"] and recs[0][1] > 0.5 and recs[1][1] == 0.0
    assert model.recommend_actions(user_id="o95", k=1)[0][1] < 0.5


def test_filters_exclude_and_candidates(model):
    full = model.recommend_actions(user_id="g3", k=100)
    assert model.recommend_actions(user_id="g3", k=2, exclude=["join"]) == [a for a in full if a[0] != "join"][:2]
    assert model.recommend_actions(user_id="g3", k=5, candidates=["basic", "app", "stale", "zzz"]) == [
        a for a in full if a[0] in ("app", "basic")]
    assert model.recommend_actions(user_id="g3", k=0) == []
