"""aws-trending-now and aws-next-best-action through the API: import, train, campaign, runtime."""
from __future__ import annotations

import json

import boto3

from personalize_mock import demo, mock_personalize
from test_control import BUCKET, REGION, import_job, make_group, put

RECIPE = "arn:aws:personalize:::recipe/"
DAY = 86_400
T0 = 1_700_000_000
HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"


def trained_campaign(personalize, group, recipe, **config):
    solution = personalize.create_solution(name=recipe, datasetGroupArn=group, recipeArn=RECIPE + recipe,
                                           **config)["solutionArn"]
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    described = demo.wait(lambda: personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"])
    assert described["status"] == "ACTIVE", described.get("failureReason")
    campaign = personalize.create_campaign(name=recipe, solutionVersionArn=version)["campaignArn"]
    return version, campaign


def test_trending_now_follows_the_surge():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        arns = make_group(personalize)
        rows = []
        # "steady" is the all-time favourite, flat every day; "rising" explodes on the last day.
        for day in range(16):
            for u in range(60):
                rows.append(f"s{u},steady,{T0 + day * DAY + u},click,1\n")
            for u in range(3 if day < 15 else 80):
                rows.append(f"r{u},rising,{T0 + day * DAY + 100 + u},click,1\n")
            rows.append(f"x{day},other{day},{T0 + day * DAY + 500},click,1\n")
        location = put("trend.csv", (HEADER + "".join(rows)).encode())
        job = import_job(personalize, arns["INTERACTIONS"], location, "trend")
        assert job["status"] == "ACTIVE", job.get("failureReason")
        version, campaign = trained_campaign(
            personalize, arns["group"], "aws-trending-now",
            solutionConfig={"featureTransformationParameters": {"trend_discovery_frequency": "1 day"}})
        metrics = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
        assert "trend_prediction_accuracy" in metrics
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        items = runtime.get_recommendations(campaignArn=campaign, numResults=3)["itemList"]
        assert items[0] == {"itemId": "rising"}  # no scores, no userId needed


def test_next_best_action_serves_propensities():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        arns = make_group(personalize)
        schemas = {
            "Actions": {"type": "record", "name": "Actions", "namespace": "com.amazonaws.personalize.schema",
                        "version": "1.0", "fields": [{"name": "ACTION_ID", "type": "string"},
                                                     {"name": "VALUE", "type": ["null", "int"]}]},
            "Action_Interactions": {
                "type": "record", "name": "ActionInteractions", "namespace": "com.amazonaws.personalize.schema",
                "version": "1.0", "fields": [{"name": "USER_ID", "type": "string"},
                                             {"name": "ACTION_ID", "type": "string"},
                                             {"name": "TIMESTAMP", "type": "long"},
                                             {"name": "EVENT_TYPE", "type": "string"}]},
        }
        for kind, schema in schemas.items():
            schema_arn = personalize.create_schema(name=kind.lower(), schema=json.dumps(schema))["schemaArn"]
            arns[kind] = personalize.create_dataset(name=kind.lower(), schemaArn=schema_arn,
                                                    datasetGroupArn=arns["group"], datasetType=kind)["datasetArn"]
        # Fans of the "a" items take "join"; fans of the "b" items decline it.
        items, actions = [], []
        for u in range(120):
            fan = "a" if u < 60 else "b"
            for j in range(12):
                items.append(f"user{u},{fan}{(u + j) % 20},{T0 + j * 3600 + u},click,1\n")
            actions += [f"user{u},join,{T0 + 19 * DAY + k * 3600 + u},Viewed\n" for k in range(8)]
            actions.append(f"user{u},join,{T0 + 20 * DAY + u},{'Taken' if fan == 'a' else 'Not Taken'}\n")
        assert import_job(personalize, arns["INTERACTIONS"], put("items.csv", (HEADER + "".join(items)).encode()),
                          "items")["status"] == "ACTIVE"
        assert import_job(personalize, arns["Actions"],
                          put("actions.csv", b"ACTION_ID,VALUE\njoin,5\nnewsletter,1\n"), "actions")["status"] == "ACTIVE"
        assert import_job(personalize, arns["Action_Interactions"],
                          put("taken.csv", ("USER_ID,ACTION_ID,TIMESTAMP,EVENT_TYPE\n" + "".join(actions)).encode()),
                          "taken")["status"] == "ACTIVE"
        _, campaign = trained_campaign(personalize, arns["group"], "aws-next-best-action")
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        fan = runtime.get_action_recommendations(campaignArn=campaign, userId="user3", numResults=2)["actionList"]
        other = runtime.get_action_recommendations(campaignArn=campaign, userId="user100", numResults=2)["actionList"]
        join_fan = next(a["score"] for a in fan if a["actionId"] == "join")
        join_other = next(a["score"] for a in other if a["actionId"] == "join")
        assert join_fan > join_other
        assert {a["actionId"] for a in fan} == {"join", "newsletter"}
        assert next(a["score"] for a in fan if a["actionId"] == "newsletter") == 0.0  # exploration
