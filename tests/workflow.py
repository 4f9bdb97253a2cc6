"""The first end-to-end path as a user writes it with boto3, for decorator mode and server mode.

Every call is plain boto3: the same function runs in process under @mock_personalize and against
`python server.py` through endpoint_url."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from personalize_mock import demo, synthetic

REGION = "us-east-1"
BUCKET = "personalize-workflow-data"

SCHEMAS = {kind: json.loads(demo.avro_schema(kind)) for kind in demo.SCHEMAS}
ITEMS_SCHEMA = SCHEMAS["ITEMS"]


@dataclass
class Outcome:
    """What the workflow produced, for the tests to assert on."""

    data: dict
    arns: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    recommendations: list[dict] = field(default_factory=list)
    ranking: list[dict] = field(default_factory=list)
    popular: list[dict] = field(default_factory=list)
    statuses: dict[str, list[str]] = field(default_factory=dict)


def wait_for(describe, key: str, outcome: Outcome, timeout: float = 120.0) -> dict:
    """Poll a describe call as the AWS samples do, until ACTIVE or CREATE FAILED."""
    deadline = time.time() + timeout
    seen = outcome.statuses.setdefault(key, [])
    while True:
        resource = describe()
        seen.append(resource["status"])
        if resource["status"] in ("ACTIVE", "CREATE FAILED") or time.time() > deadline:
            return resource
        time.sleep(0.05)


def upload_data(s3, data: dict) -> dict[str, str]:
    s3.create_bucket(Bucket=BUCKET)
    locations = {}
    for kind, frame in (("INTERACTIONS", data["interactions"]), ("ITEMS", data["items"]), ("USERS", data["users"])):
        key = f"input/{kind.lower()}.csv"
        s3.put_object(Bucket=BUCKET, Key=key, Body=synthetic.to_csv_bytes(frame))
        locations[kind] = f"s3://{BUCKET}/{key}"
    return locations


def run_workflow(clients: dict[str, Any], n_users: int = 120, n_items: int = 150,
                 n_interactions: int = 3000) -> Outcome:
    personalize, runtime, s3, iam = (clients[k] for k in ("personalize", "personalize-runtime", "s3", "iam"))
    data = synthetic.generate(n_users=n_users, n_items=n_items, n_interactions=n_interactions, seed=7)
    out = Outcome(data=data)
    locations = upload_data(s3, data)
    role_arn = iam.create_role(RoleName="PersonalizeRole",
                               AssumeRolePolicyDocument=json.dumps(demo.TRUST_POLICY))["Role"]["Arn"]

    group_arn = personalize.create_dataset_group(name="workflow-group")["datasetGroupArn"]
    out.arns["group"] = group_arn
    wait_for(lambda: personalize.describe_dataset_group(datasetGroupArn=group_arn)["datasetGroup"], "group", out)

    for kind, schema in SCHEMAS.items():
        schema_arn = personalize.create_schema(name=f"workflow-{kind.lower()}", schema=json.dumps(schema))["schemaArn"]
        dataset_arn = personalize.create_dataset(name=f"workflow-{kind.lower()}", schemaArn=schema_arn,
                                                 datasetGroupArn=group_arn, datasetType=kind.capitalize())["datasetArn"]
        out.arns[f"schema-{kind}"] = schema_arn
        out.arns[f"dataset-{kind}"] = dataset_arn
        wait_for(lambda: personalize.describe_dataset(datasetArn=dataset_arn)["dataset"], f"dataset-{kind}", out)
        job_arn = personalize.create_dataset_import_job(
            jobName=f"workflow-import-{kind.lower()}", datasetArn=dataset_arn,
            dataSource={"dataLocation": locations[kind]}, roleArn=role_arn, importMode="FULL",
        )["datasetImportJobArn"]
        out.arns[f"import-{kind}"] = job_arn
        job = wait_for(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"],
                       f"import-{kind}", out)
        assert job["status"] == "ACTIVE", job

    recipes = {
        "up": "arn:aws:personalize:::recipe/aws-user-personalization",
        "pop": "arn:aws:personalize:::recipe/aws-popularity-count",
        "rank": "arn:aws:personalize:::recipe/aws-personalized-ranking",
    }
    for key, recipe_arn in recipes.items():
        solution_arn = personalize.create_solution(name=f"workflow-{key}", datasetGroupArn=group_arn,
                                                   recipeArn=recipe_arn)["solutionArn"]
        out.arns[f"solution-{key}"] = solution_arn
        wait_for(lambda: personalize.describe_solution(solutionArn=solution_arn)["solution"], f"solution-{key}", out)
        version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
        out.arns[f"version-{key}"] = version_arn
        version = wait_for(lambda: personalize.describe_solution_version(solutionVersionArn=version_arn)["solutionVersion"],
                           f"version-{key}", out)
        assert version["status"] == "ACTIVE", version
        out.metrics[key] = personalize.get_solution_metrics(solutionVersionArn=version_arn)["metrics"]

    for key in ("up", "rank", "pop"):
        campaign_arn = personalize.create_campaign(name=f"workflow-{key}-campaign",
                                                   solutionVersionArn=out.arns[f"version-{key}"],
                                                   minProvisionedTPS=1)["campaignArn"]
        out.arns[f"campaign-{key}"] = campaign_arn
        campaign = wait_for(lambda: personalize.describe_campaign(campaignArn=campaign_arn)["campaign"],
                            f"campaign-{key}", out)
        assert campaign["status"] == "ACTIVE", campaign

    user = str(data["interactions"]["USER_ID"].iloc[0])
    out.recommendations = runtime.get_recommendations(campaignArn=out.arns["campaign-up"], userId=user,
                                                      numResults=10)["itemList"]
    out.popular = runtime.get_recommendations(campaignArn=out.arns["campaign-pop"], userId=user,
                                              numResults=10)["itemList"]
    candidates = list(data["items"]["ITEM_ID"].iloc[:20]) + ["never-seen-item"]
    out.ranking = runtime.get_personalized_ranking(campaignArn=out.arns["campaign-rank"], userId=user,
                                                   inputList=candidates)["personalizedRanking"]
    return out


def tear_down(personalize, out: Outcome) -> None:
    """Delete in dependency order, as the samples' cleanup code does."""
    for key in ("up", "rank", "pop"):
        personalize.delete_campaign(campaignArn=out.arns[f"campaign-{key}"])
    for key in ("up", "rank", "pop"):
        personalize.delete_solution(solutionArn=out.arns[f"solution-{key}"])
    for kind in SCHEMAS:
        personalize.delete_dataset(datasetArn=out.arns[f"dataset-{kind}"])
    for kind in SCHEMAS:
        personalize.delete_schema(schemaArn=out.arns[f"schema-{kind}"])
    personalize.delete_dataset_group(datasetGroupArn=out.arns["group"])
