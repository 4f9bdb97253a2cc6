"""Training options: HPO, AutoML, trainingMode UPDATE, automatic training, UpdateSolution, stop."""
from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_api import state_manager

from personalize_mock import demo, mock_personalize, synthetic
from personalize_mock.control.backend import personalize_backends
from test_control import BUCKET, REGION, code, import_job, make_group, put

RECIPE = "arn:aws:personalize:::recipe/"


@pytest.fixture
def group():
    """A dataset group with imported interactions, under mock_personalize."""
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        data = synthetic.generate(n_users=60, n_items=80, n_interactions=1200, seed=5)
        arns = make_group(personalize)
        location = put("i.csv", synthetic.to_csv_bytes(data["interactions"]))
        assert import_job(personalize, arns["INTERACTIONS"], location, "i")["status"] == "ACTIVE"
        yield personalize, arns


def backend():
    return personalize_backends["123456789012"][REGION]


def train(personalize, solution_arn, **kwargs):
    arn = personalize.create_solution_version(solutionArn=solution_arn, **kwargs)["solutionVersionArn"]
    return demo.wait(lambda: personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"])


def test_hpo_searches_the_given_ranges(group):
    personalize, arns = group
    solution = personalize.create_solution(
        name="tuned", datasetGroupArn=arns["group"], recipeArn=RECIPE + "aws-user-personalization", performHPO=True,
        solutionConfig={"hpoConfig": {
            "hpoResourceConfig": {"maxNumberOfTrainingJobs": "3", "maxParallelTrainingJobs": "1"},
            "algorithmHyperParameterRanges": {
                "integerHyperParameterRanges": [{"name": "hidden_dimension", "minValue": 32, "maxValue": 48}],
                "categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["true", "false"]}],
            }},
            "algorithmHyperParameters": {"bptt": "8"}})["solutionArn"]
    version = train(personalize, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    tuned = version["tunedHPOParams"]["algorithmHyperParameters"]
    assert set(tuned) == {"hidden_dimension", "recency_mask"}
    assert 32 <= int(tuned["hidden_dimension"]) <= 48
    assert version["performHPO"] is True
    with pytest.raises(ClientError) as error:  # outside the recipe's documented range
        personalize.create_solution(
            name="bad-range", datasetGroupArn=arns["group"], recipeArn=RECIPE + "aws-user-personalization",
            performHPO=True, solutionConfig={"hpoConfig": {"algorithmHyperParameterRanges": {
                "integerHyperParameterRanges": [{"name": "hidden_dimension", "minValue": 8, "maxValue": 48}]}}})
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:  # popularity-count has nothing to tune
        personalize.create_solution(name="pop-hpo", datasetGroupArn=arns["group"],
                                    recipeArn=RECIPE + "aws-popularity-count", performHPO=True)
    assert code(error) == "InvalidInputException"


def test_automl_picks_the_best_recipe_on_the_metric(group):
    personalize, arns = group
    candidates = [RECIPE + "aws-popularity-count", RECIPE + "aws-user-personalization"]
    solution = personalize.create_solution(
        name="auto", datasetGroupArn=arns["group"], performAutoML=True,
        solutionConfig={"autoMLConfig": {"metricName": "coverage", "recipeList": candidates},
                        "hpoConfig": {"hpoResourceConfig": {"maxNumberOfTrainingJobs": "2"}}})["solutionArn"]
    version = train(personalize, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    described = personalize.describe_solution(solutionArn=solution)["solution"]
    # Popularity recommends the same few items to everyone: its coverage cannot win.
    assert described["autoMLResult"]["bestRecipeArn"] == RECIPE + "aws-user-personalization"
    assert version["recipeArn"] == RECIPE + "aws-user-personalization"
    with pytest.raises(ClientError) as error:
        personalize.create_solution(name="both", datasetGroupArn=arns["group"], performAutoML=True,
                                    recipeArn=RECIPE + "aws-popularity-count")
    assert code(error) == "InvalidInputException"


def test_update_mode_needs_a_full_version_and_a_recipe_that_allows_it(group):
    personalize, arns = group
    up = personalize.create_solution(name="up", datasetGroupArn=arns["group"],
                                     recipeArn=RECIPE + "aws-user-personalization")["solutionArn"]
    with pytest.raises(ClientError) as error:
        personalize.create_solution_version(solutionArn=up, trainingMode="UPDATE")
    assert code(error) == "InvalidInputException"
    assert train(personalize, up)["status"] == "ACTIVE"
    update = train(personalize, up, trainingMode="UPDATE")
    assert update["status"] == "ACTIVE" and update["trainingMode"] == "UPDATE"
    pop = personalize.create_solution(name="pop", datasetGroupArn=arns["group"],
                                      recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
    train(personalize, pop)
    with pytest.raises(ClientError) as error:
        personalize.create_solution_version(solutionArn=pop, trainingMode="UPDATE")
    assert code(error) == "InvalidInputException"


def test_automatic_training_follows_the_schedule_and_new_data(group):
    personalize, arns = group
    solution = personalize.create_solution(name="auto-train", datasetGroupArn=arns["group"],
                                           recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
    described = personalize.describe_solution(solutionArn=solution)["solution"]
    assert described["performAutoTraining"] is True
    assert described["solutionConfig"]["autoTrainingConfig"] == {"schedulingExpression": "rate(7 days)"}
    assert personalize.list_solution_versions(solutionArn=solution)["solutionVersions"] == []
    resource = backend().get("solution", solution)
    resource.created -= timedelta(hours=2)  # an hour after becoming ACTIVE, the first one starts
    versions = personalize.list_solution_versions(solutionArn=solution)["solutionVersions"]
    assert [(v["trainingType"], v["trainingMode"]) for v in versions] == [("AUTOMATIC", "AUTOTRAIN")]
    first = resource.versions[-1]
    first.created -= timedelta(days=8)  # a schedule later, but no new data: nothing new
    assert len(personalize.list_solution_versions(solutionArn=solution)["solutionVersions"]) == 1
    location = put("more.csv", synthetic.to_csv_bytes(synthetic.generate(60, 80, 1200, seed=6)["interactions"]))
    import_job(personalize, arns["INTERACTIONS"], location, "more", mode="INCREMENTAL")
    assert len(personalize.list_solution_versions(solutionArn=solution)["solutionVersions"]) == 2


def test_update_solution(group, unset_transitions):
    personalize, arns = group
    solution = personalize.create_solution(name="s", datasetGroupArn=arns["group"],
                                           recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
    unset_transitions.append("personalize::solution_update")
    state_manager.set_transition("personalize::solution_update", {"progression": "manual", "times": 2})
    personalize.update_solution(solutionArn=solution, performAutoTraining=True,
                                solutionUpdateConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}})
    first = personalize.describe_solution(solutionArn=solution)["solution"]
    assert first["latestSolutionUpdate"]["status"] == "CREATE PENDING"
    assert first["solutionConfig"]["autoTrainingConfig"]["schedulingExpression"] == "rate(7 days)"
    with pytest.raises(ClientError) as error:
        personalize.update_solution(solutionArn=solution, performAutoTraining=False)
    assert code(error) == "ResourceInUseException"
    for _ in range(3):
        described = personalize.describe_solution(solutionArn=solution)["solution"]
    assert described["latestSolutionUpdate"]["status"] == "ACTIVE"
    assert described["solutionConfig"]["autoTrainingConfig"]["schedulingExpression"] == "rate(3 days)"
    with pytest.raises(ClientError) as error:
        personalize.update_solution(solutionArn=solution, solutionUpdateConfig={
            "autoTrainingConfig": {"schedulingExpression": "rate(90 days)"}})
    assert code(error) == "InvalidInputException"


def test_stop_while_in_progress(group, unset_transitions):
    personalize, arns = group
    solution = personalize.create_solution(name="stop", datasetGroupArn=arns["group"],
                                           recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
    unset_transitions.append("personalize::solution_version")
    state_manager.set_transition("personalize::solution_version", {"progression": "manual", "times": 2})
    arn = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    describe = lambda: personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]  # noqa: E731
    assert [describe()["status"] for _ in range(2)] == ["CREATE PENDING", "CREATE IN_PROGRESS"]
    personalize.stop_solution_version_creation(solutionVersionArn=arn)
    assert [describe()["status"] for _ in range(3)] == ["CREATE STOPPING", "CREATE STOPPED", "CREATE STOPPED"]
    with pytest.raises(ClientError) as error:
        personalize.create_campaign(name="c", solutionVersionArn=arn)
    assert code(error) == "ResourceInUseException"
