"""The first end-to-end path, in decorator mode and against the standalone server."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from personalize_mock import mock_personalize
from workflow import REGION, run_workflow, tear_down

SERVICES = ("personalize", "personalize-runtime", "personalize-events", "s3", "iam")


def clients(**kwargs):
    return {name: boto3.client(name, region_name=REGION, **kwargs) for name in SERVICES}


def check_outcome(out, personalize):
    data = out.data
    items = set(data["items"]["ITEM_ID"])
    assert set(out.metrics["up"]) == {
        "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5", "precision_at_10", "precision_at_25",
    }
    assert all(0.0 <= v <= 1.0 for v in out.metrics["up"].values())
    # Recommendations are real items with softmax scores; popularity-count returns no scores.
    assert len(out.recommendations) == 10
    assert {r["itemId"] for r in out.recommendations} <= items
    scores = [r["score"] for r in out.recommendations]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert all("score" not in r for r in out.popular)
    counts = data["interactions"].groupby("ITEM_ID")["USER_ID"].nunique()
    assert out.popular[0]["itemId"] == counts.sort_values(ascending=False, kind="stable").index[0]
    # Ranking: the unknown item comes last without a score; scored items sum to 1.
    assert out.ranking[-1] == {"itemId": "never-seen-item"}
    assert abs(sum(r.get("score", 0) for r in out.ranking) - 1.0) < 1e-3
    assert len(out.ranking) == 21
    # The statuses that were seen are the ones AWS documents.
    assert out.statuses["version-up"][-1] == "ACTIVE"

    version = personalize.describe_solution_version(solutionVersionArn=out.arns["version-up"])["solutionVersion"]
    assert version["trainingMode"] == "FULL" and version["trainingHours"] > 0
    assert version["name"].startswith("workflow-up/") and len(version["solutionVersionArn"].split("/")[-1]) == 8
    assert personalize.describe_dataset(datasetArn=out.arns["dataset-ITEMS"])["dataset"]["datasetType"] == "ITEMS"
    assert out.arns["dataset-ITEMS"].endswith("dataset/workflow-group/ITEMS")
    listed = personalize.list_solution_versions(solutionArn=out.arns["solution-up"])["solutionVersions"]
    assert [v["solutionVersionArn"] for v in listed] == [out.arns["version-up"]]
    assert {c["name"] for c in personalize.list_campaigns()["campaigns"]} == {
        "workflow-up-campaign", "workflow-rank-campaign", "workflow-pop-campaign"}

    # A solution with a deployed campaign cannot be deleted.
    with pytest.raises(ClientError) as error:
        personalize.delete_solution(solutionArn=out.arns["solution-up"])
    assert error.value.response["Error"]["Code"] == "ResourceInUseException"

    tear_down(personalize, out)
    for key in ("group", "solution-up", "campaign-up"):
        describe = {"group": lambda a: personalize.describe_dataset_group(datasetGroupArn=a),
                    "solution-up": lambda a: personalize.describe_solution(solutionArn=a),
                    "campaign-up": lambda a: personalize.describe_campaign(campaignArn=a)}[key]
        with pytest.raises(ClientError) as error:
            describe(out.arns[key])
        assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


@mock_personalize
def test_workflow_decorator_mode():
    c = clients()
    check_outcome(run_workflow(c), c["personalize"])


def test_workflow_server_mode(server_url):
    c = clients(endpoint_url=server_url, aws_access_key_id="test", aws_secret_access_key="test")
    check_outcome(run_workflow(c), c["personalize"])


def test_moto_mock_aws_serves_personalize_once_imported():
    with mock_aws():
        personalize = boto3.client("personalize", region_name=REGION)
        arn = personalize.create_dataset_group(name="via-mock-aws")["datasetGroupArn"]
        assert personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"] == "ACTIVE"
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        with pytest.raises(ClientError) as error:
            runtime.get_recommendations(campaignArn=arn.replace("dataset-group", "campaign"), userId="u")
        assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_context_manager_and_reset():
    with mock_personalize():
        boto3.client("personalize", region_name=REGION).create_dataset_group(name="first")
    with mock_personalize():
        assert boto3.client("personalize", region_name=REGION).list_dataset_groups()["datasetGroups"] == []


@mock_personalize
class TestClassDecorator:
    def test_isolated_per_test(self):
        personalize = boto3.client("personalize", region_name=REGION)
        personalize.create_dataset_group(name="in-class")
        assert len(personalize.list_dataset_groups()["datasetGroups"]) == 1

    def test_regions_are_separate(self):
        boto3.client("personalize", region_name="eu-west-1").create_dataset_group(name="eu")
        assert boto3.client("personalize", region_name=REGION).list_dataset_groups()["datasetGroups"] == []
