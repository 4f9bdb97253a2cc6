"""trainingMode UPDATE of the User-Personalization engine: the base model refreshed with new
interactions and new items, the base left as it was."""
import numpy as np
import pytest

from personalize_mock.recipes.engines import get_engine

from .conftest import make_data

A = [f"a{k}" for k in range(8)]
B = [f"b{k}" for k in range(8)]


def rows(n_users=40, per_user=10, t0=0, extra=None, seed=0):
    """Even users consume genre-A items, odd users genre-B ones (plus `extra[genre]` when given)."""
    rng = np.random.default_rng(seed)
    out, t = [], t0
    for u in range(n_users):
        pool = (A + (extra or {}).get("A", [])) if u % 2 == 0 else (B + (extra or {}).get("B", []))
        for _ in range(per_user):
            out.append((f"u{u}", pool[rng.integers(len(pool))], t))
            t += 1
    return out


GENRES = {i: "A" for i in A} | {i: "B" for i in B}
NEW = {"a-new": "A", "b-new": "B", "a-cold": "A", "b-cold": "B"}  # the -cold ones get no interactions


@pytest.fixture(scope="module")
def models():
    hp = {"hidden_dimension": "32", "bptt": "8", "epochs": "30", "batch_size": "8", "learning_rate": "0.01"}
    engine = get_engine("aws-user-personalization")
    base = engine.fit(make_data(rows(), genres=GENRES), hp, 7)
    blob = base.save()
    later = rows(t0=10_000, per_user=4, extra={"A": ["a-new"] * 8, "B": ["b-new"] * 8}, seed=1)
    current = make_data(rows() + later, genres=GENRES | NEW)
    updated = engine.fit_update(base, current, 7)
    return engine, hp, base, blob, current, updated


def test_new_items_are_known_to_the_updated_model(models):
    _, _, base, _, _, updated = models
    assert updated.training_info["new_items"] == 4
    new = list(NEW)
    assert all(score is None for _, score in base.rank(user_id="u0", item_ids=new))
    assert all(score is not None for _, score in updated.rank(user_id="u0", item_ids=new))
    # New items with interactions are learned: each genre's users get their genre's new item first.
    assert [i for i, _ in updated.recommend(user_id="u0", k=2, candidates=["a-new", "b-new"])] == ["a-new", "b-new"]
    assert [i for i, _ in updated.recommend(user_id="u1", k=2, candidates=["a-new", "b-new"])] == ["b-new", "a-new"]
    # Items without interactions start from their metadata neighbours: genre-A users prefer a-cold.
    assert [i for i, _ in updated.rank(user_id="u0", item_ids=["a-cold", "b-cold"])] == ["a-cold", "b-cold"]
    assert [i for i, _ in updated.rank(user_id="u1", item_ids=["a-cold", "b-cold"])] == ["b-cold", "a-cold"]
    # What the base learned is kept.
    assert {i for i, _ in updated.recommend(user_id="u0", k=5)} <= set(A) | {"a-new"}


def test_update_leaves_the_base_unchanged_is_seeded_and_costs_less_than_a_fit(models):
    engine, hp, base, blob, current, updated = models
    assert base.save() == blob
    assert engine.fit_update(base, current, 7).save() == updated.save()
    full = engine.fit(current, hp, 7)
    assert updated.training_info["steps"] < full.training_info["steps"] / 2
