"""Control-plane rules: lifecycles through the state manager, errors AWS gives, pagination, tags,
imports that fail without touching data, training minimums."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_api import state_manager

from personalize_mock import demo, mock_personalize, synthetic

REGION = "us-east-1"
BUCKET = "control-tests"


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


@pytest.fixture
def personalize():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield boto3.client("personalize", region_name=REGION)


def put(key: str, body: bytes) -> str:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def make_group(personalize, name="g", kinds=("INTERACTIONS",)) -> dict[str, str]:
    arns = {"group": personalize.create_dataset_group(name=name)["datasetGroupArn"]}
    for kind in kinds:
        schema = personalize.create_schema(name=f"{name}-{kind.lower()}", schema=demo.avro_schema(kind))["schemaArn"]
        arns[kind] = personalize.create_dataset(name=f"{name}-{kind.lower()}", schemaArn=schema,
                                                datasetGroupArn=arns["group"], datasetType=kind)["datasetArn"]
    return arns


def import_job(personalize, dataset_arn, location, name, mode="FULL") -> dict:
    arn = personalize.create_dataset_import_job(jobName=name, datasetArn=dataset_arn, importMode=mode,
                                                dataSource={"dataLocation": location})["datasetImportJobArn"]
    return personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]


def test_manual_progression_shows_every_status(personalize, unset_transitions):
    unset_transitions.append("personalize::dataset_group")
    state_manager.set_transition("personalize::dataset_group", {"progression": "manual", "times": 2})
    arn = personalize.create_dataset_group(name="slow")["datasetGroupArn"]
    seen = [personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"] for _ in range(5)]
    assert seen == ["CREATE PENDING", "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE", "ACTIVE"]


def test_child_of_a_group_that_is_not_active_is_refused(personalize, unset_transitions):
    unset_transitions.append("personalize::dataset_group")
    state_manager.set_transition("personalize::dataset_group", {"progression": "manual", "times": 5})
    arn = personalize.create_dataset_group(name="pending")["datasetGroupArn"]
    schema = personalize.create_schema(name="s", schema=demo.avro_schema("INTERACTIONS"))["schemaArn"]
    with pytest.raises(ClientError) as error:
        personalize.create_dataset(name="d", schemaArn=schema, datasetGroupArn=arn, datasetType="Interactions")
    assert code(error) == "ResourceInUseException"


def test_errors_aws_gives(personalize):
    arns = make_group(personalize)
    with pytest.raises(ClientError) as error:
        personalize.create_dataset_group(name="g")
    assert code(error) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as error:
        personalize.describe_solution(solutionArn=arns["group"].replace("dataset-group/g", "solution/nope"))
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        personalize.create_dataset_group(name="x" * 64)
    assert code(error) == "InvalidInputException" and "length less than or equal to 63" in str(error.value)
    with pytest.raises(ClientError) as error:
        personalize.create_dataset_group(name="ok", domain="GROCERY")
    assert code(error) == "InvalidInputException" and "enum value set" in str(error.value)
    with pytest.raises(ClientError) as error:
        personalize.create_schema(name="broken", schema='{"type": "record", "name": "Interactions", "fields": []}')
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:  # one dataset of each type per group
        personalize.create_dataset(name="again", schemaArn=personalize.list_schemas()["schemas"][0]["schemaArn"],
                                   datasetGroupArn=arns["group"], datasetType="INTERACTIONS")
    assert code(error) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as error:
        personalize.delete_schema(schemaArn=personalize.list_schemas()["schemas"][0]["schemaArn"])
    assert code(error) == "ResourceInUseException"
    with pytest.raises(ClientError) as error:
        personalize.delete_dataset_group(datasetGroupArn=arns["group"])
    assert code(error) == "ResourceInUseException"
    with pytest.raises(ClientError) as error:  # INCREMENTAL needs a bulk import first
        personalize.create_dataset_import_job(jobName="inc", datasetArn=arns["INTERACTIONS"], importMode="INCREMENTAL",
                                              dataSource={"dataLocation": f"s3://{BUCKET}/x.csv"})
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        personalize.create_solution(name="s", datasetGroupArn=arns["group"],
                                    recipeArn="arn:aws:personalize:::recipe/aws-nothing")
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        personalize.create_solution(name="s", datasetGroupArn=arns["group"],
                                    recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
                                    solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "9999"}})
    assert code(error) == "InvalidInputException"


def test_pagination_and_bad_tokens(personalize):
    for i in range(5):
        personalize.create_schema(name=f"s{i}", schema=demo.avro_schema("USERS"))
    names, token = [], None
    while True:
        page = personalize.list_schemas(maxResults=2, **({"nextToken": token} if token else {}))
        names += [s["name"] for s in page["schemas"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == ["s4", "s3", "s2", "s1", "s0"]
    with pytest.raises(ClientError) as error:
        personalize.list_schemas(nextToken="not-a-token")
    assert code(error) == "InvalidNextTokenException"
    paginated = [s["name"] for p in personalize.get_paginator("list_recipes").paginate(PaginationConfig={"PageSize": 3})
                 for s in p["recipes"]]
    assert paginated == sorted(paginated) and "aws-user-personalization" in paginated


def test_tags(personalize):
    arn = personalize.create_dataset_group(name="t", tags=[{"tagKey": "a", "tagValue": "1"}])["datasetGroupArn"]
    personalize.tag_resource(resourceArn=arn, tags=[{"tagKey": "b", "tagValue": "2"}])
    personalize.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert personalize.list_tags_for_resource(resourceArn=arn)["tags"] == [{"tagKey": "b", "tagValue": "2"}]
    with pytest.raises(ClientError) as error:
        personalize.tag_resource(resourceArn=arn, tags=[{"tagKey": f"k{i}", "tagValue": "v"} for i in range(50)])
    assert code(error) == "TooManyTagsException"
    with pytest.raises(ClientError) as error:
        personalize.list_tags_for_resource(resourceArn=arn.replace("/t", "/missing"))
    assert code(error) == "ResourceNotFoundException"


def test_bad_file_fails_the_import_and_keeps_the_data(personalize, monkeypatch):
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")
    arns = make_group(personalize)
    good = put("good.csv", b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,100,click,1\nu2,i2,200,click,\n")
    assert import_job(personalize, arns["INTERACTIONS"], good, "good")["status"] == "ACTIVE"
    bad = put("bad.csv", b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu3,i3,300,click,1\nu4,i4,later,click,1\n")
    job = import_job(personalize, arns["INTERACTIONS"], bad, "bad")
    assert job["status"] == "CREATE FAILED"
    assert "row 3" in job["failureReason"] and "TIMESTAMP" in job["failureReason"]
    missing = import_job(personalize, arns["INTERACTIONS"], f"s3://{BUCKET}/nothing-here.csv", "missing")
    assert missing["status"] == "CREATE FAILED" and missing["failureReason"]
    export = personalize.create_dataset_export_job(
        jobName="exp", datasetArn=arns["INTERACTIONS"], roleArn="arn:aws:iam::123456789012:role/r",
        ingestionMode="BULK", jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/export/"}})
    personalize.describe_dataset_export_job(datasetExportJobArn=export["datasetExportJobArn"])
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key="export/exp/exp_part_00000.csv")
    lines = body["Body"].read().decode().splitlines()
    assert lines[0].startswith("USER_ID,ITEM_ID,TIMESTAMP") and sorted(lines[1:])[0].startswith("u1,i1,100")
    assert len(lines) == 3  # the failed import added nothing


def test_training_minimums_fail_the_version(personalize, monkeypatch):
    arns = make_group(personalize)
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")
    rows = "".join(f"u{i % 3},i{i % 7},{1000 + i},click,1\n" for i in range(40))
    location = put("small.csv", ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" + rows).encode())
    assert import_job(personalize, arns["INTERACTIONS"], location, "small")["status"] == "ACTIVE"
    solution = personalize.create_solution(name="pop", datasetGroupArn=arns["group"],
                                           recipeArn="arn:aws:personalize:::recipe/aws-popularity-count")["solutionArn"]
    relaxed = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert personalize.describe_solution_version(solutionVersionArn=relaxed)["solutionVersion"]["status"] == "ACTIVE"
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "aws")
    strict = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    version = personalize.describe_solution_version(solutionVersionArn=strict)["solutionVersion"]
    assert version["status"] == "CREATE FAILED"
    assert "fewer than 1000 interactions" in version["failureReason"]
    with pytest.raises(ClientError) as error:
        personalize.get_solution_metrics(solutionVersionArn=strict)
    assert code(error) == "ResourceInUseException"
    with pytest.raises(ClientError) as error:
        personalize.create_campaign(name="c", solutionVersionArn=strict)
    assert code(error) == "ResourceInUseException"


def test_recipe_catalogue(personalize):
    recipe = personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")["recipe"]
    assert recipe["recipeType"] == "RELATED_ITEMS"
    algorithm = personalize.describe_algorithm(algorithmArn=recipe["algorithmArn"])["algorithm"]
    assert algorithm["defaultHyperParameters"]["popularity_discount_factor"] == "0.5"
    domain = personalize.list_recipes(domain="VIDEO_ON_DEMAND")["recipes"]
    assert {r["domain"] for r in domain} == {"VIDEO_ON_DEMAND"}
    with pytest.raises(ClientError) as error:
        personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-unknown")
    assert code(error) == "ResourceNotFoundException"


def test_events_reach_the_deployed_model(personalize, unset_transitions):
    data = synthetic.generate(n_users=60, n_items=80, n_interactions=1500, seed=3)
    arns = make_group(personalize)
    location = put("i.csv", synthetic.to_csv_bytes(data["interactions"]))
    assert import_job(personalize, arns["INTERACTIONS"], location, "i")["status"] == "ACTIVE"
    solution = personalize.create_solution(name="up", datasetGroupArn=arns["group"],
                                           recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")
    version = personalize.create_solution_version(solutionArn=solution["solutionArn"])["solutionVersionArn"]
    campaign = personalize.create_campaign(name="c", solutionVersionArn=version)["campaignArn"]
    tracker = personalize.create_event_tracker(name="t", datasetGroupArn=arns["group"])
    runtime = boto3.client("personalize-runtime", region_name=REGION)
    before = [r["itemId"] for r in runtime.get_recommendations(campaignArn=campaign, userId="newcomer")["itemList"]]
    events = boto3.client("personalize-events", region_name=REGION)
    series = data["truth"]["next_item"]
    start = str(series["ITEM_ID"].iloc[0])
    events.put_events(trackingId=tracker["trackingId"], userId="newcomer", sessionId="s",
                      eventList=[{"eventType": "click", "itemId": start, "sentAt": 1_700_000_000 + i} for i in range(3)])
    after = [r["itemId"] for r in runtime.get_recommendations(campaignArn=campaign, userId="newcomer")["itemList"]]
    assert before != after
    with pytest.raises(ClientError) as error:
        events.put_events(trackingId="no-such-tracker", sessionId="s",
                          eventList=[{"eventType": "click", "itemId": start, "sentAt": 1}])
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        events.put_users(datasetArn=arns["INTERACTIONS"], users=[{"userId": "x", "properties": "{}"}])
    assert code(error) == "InvalidInputException"


def test_unanswerable_runtime_requests(personalize):
    runtime = boto3.client("personalize-runtime", region_name=REGION)
    with pytest.raises(ClientError) as error:
        runtime.get_recommendations(campaignArn="arn:aws:personalize:us-east-1:123456789012:campaign/none",
                                    userId="u", numResults=501)
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        runtime.get_personalized_ranking(campaignArn="arn:aws:personalize:us-east-1:123456789012:campaign/none",
                                         userId="u", inputList=["a"])
    assert code(error) == "ResourceNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_stop_solution_version(personalize, unset_transitions, monkeypatch):
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")
    arns = make_group(personalize)
    rows = "".join(f"u{i % 5},i{i % 9},{1000 + i},click,1\n" for i in range(60))
    import_job(personalize, arns["INTERACTIONS"], put("s.csv", ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
                                                                 + rows).encode()), "s")
    solution = personalize.create_solution(name="pop", datasetGroupArn=arns["group"],
                                           recipeArn="arn:aws:personalize:::recipe/aws-popularity-count")["solutionArn"]
    unset_transitions.append("personalize::solution_version")
    state_manager.set_transition("personalize::solution_version", {"progression": "manual", "times": 2})
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    statuses = [personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"]]
    personalize.stop_solution_version_creation(solutionVersionArn=version)
    for _ in range(3):
        statuses.append(personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"])
    assert statuses == ["CREATE PENDING", "CREATE STOPPED", "CREATE STOPPED", "CREATE STOPPED"]
    with pytest.raises(ClientError) as error:
        personalize.stop_solution_version_creation(solutionVersionArn=version)
    assert code(error) == "ResourceInUseException"
