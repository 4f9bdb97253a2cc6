"""trainingMode UPDATE end to end: a FULL version, new items and interactions imported, then an
UPDATE version that knows the new items, trains in less time and answers its base's metrics."""
from __future__ import annotations

import boto3
import pytest

from personalize_mock import mock_personalize, synthetic
from personalize_mock.control.backend import personalize_backends
from test_control import BUCKET, REGION, import_job, make_group, put
from test_training_options import RECIPE, train

NEW_ITEMS = [f"i{k}" for k in range(70, 80)]


@pytest.fixture(scope="module")
def updated():
    with pytest.MonkeyPatch.context() as monkeypatch, mock_personalize():
        monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")  # the second import is small
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        data = synthetic.generate(n_users=60, n_items=80, n_interactions=1500, seed=5)
        items, interactions = data["items"], data["interactions"]
        later = interactions["ITEM_ID"].isin(NEW_ITEMS)
        arns = make_group(personalize, kinds=("INTERACTIONS", "ITEMS"))
        import_job(personalize, arns["ITEMS"], put("items.csv", synthetic.to_csv_bytes(
            items[~items["ITEM_ID"].isin(NEW_ITEMS)])), "items")
        import_job(personalize, arns["INTERACTIONS"], put("i.csv", synthetic.to_csv_bytes(interactions[~later])), "i")
        solution = personalize.create_solution(name="up", datasetGroupArn=arns["group"],
                                               recipeArn=RECIPE + "aws-user-personalization")["solutionArn"]
        full = train(personalize, solution)
        assert full["status"] == "ACTIVE", full.get("failureReason")
        base = backend().get("solution_version", full["solutionVersionArn"])
        blob = base.model.save()

        # New items (one of them without interactions) and their interactions arrive.
        import_job(personalize, arns["ITEMS"], put("new-items.csv", synthetic.to_csv_bytes(
            items[items["ITEM_ID"].isin(NEW_ITEMS)])), "new-items", mode="INCREMENTAL")
        import_job(personalize, arns["INTERACTIONS"], put("new-i.csv", synthetic.to_csv_bytes(
            interactions[later & (interactions["ITEM_ID"] != NEW_ITEMS[0])])), "new-i", mode="INCREMENTAL")
        update = train(personalize, solution, trainingMode="UPDATE")
        assert update["status"] == "ACTIVE", update.get("failureReason")
        yield personalize, solution, full, base, blob, update


def backend():
    return personalize_backends["123456789012"][REGION]


def test_update_knows_the_new_items_and_leaves_its_base_unchanged(updated):
    personalize, _, full, base, blob, update = updated
    assert update["trainingMode"] == "UPDATE" and update["recipeArn"] == full["recipeArn"]
    model = backend().get("solution_version", update["solutionVersionArn"]).model
    assert all(score is not None for _, score in model.rank(user_id="u1", item_ids=NEW_ITEMS))
    assert {i for i, _ in model.recommend(user_id="u1", k=len(NEW_ITEMS), candidates=NEW_ITEMS)} == set(NEW_ITEMS)
    unscored = len(base.model.item_ids) - len(base.model.vocab)  # in the Items data, no interactions
    assert model.training_info["new_items"] == len(NEW_ITEMS) + unscored
    assert base.model.save() == blob
    assert all(score is None for _, score in base.model.rank(user_id="u1", item_ids=NEW_ITEMS))
    # AWS evaluates no new metrics for an update: GetSolutionMetrics answers its base's.
    metrics = personalize.get_solution_metrics(solutionVersionArn=update["solutionVersionArn"])["metrics"]
    assert metrics and metrics == personalize.get_solution_metrics(
        solutionVersionArn=full["solutionVersionArn"])["metrics"]


def test_update_is_faster_than_a_full_training_on_the_same_data(updated):
    personalize, solution, _, _, _, update = updated
    again = train(personalize, solution)  # FULL, on the same data as the update
    assert again["status"] == "ACTIVE"
    assert update["trainingHours"] < again["trainingHours"]
    steps = {v["solutionVersionArn"]: backend().get("solution_version", v["solutionVersionArn"]).model
             .training_info["steps"] for v in (update, again)}
    assert steps[update["solutionVersionArn"]] < steps[again["solutionVersionArn"]] / 2
