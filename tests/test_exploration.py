"""Item exploration at serving time: campaigns and batch inference jobs of User-Personalization mix
cold items (few interactions, recent) into their lists as itemExplorationConfig says."""
from __future__ import annotations

import json

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from personalize_mock import demo, mock_personalize, synthetic
from personalize_mock.control.backend import personalize_backends
from test_control import BUCKET, REGION, code, import_job, make_group, put
from test_training_options import RECIPE, train

DAY = 86_400
K = 10
USERS = ["u3", "u8", "u21"]
FRESH = [f"fresh-{k}" for k in range(12)]  # no interactions, created 2 days before the latest interaction
STALE = [f"stale-{k}" for k in range(6)]  # no interactions, created 60 days before


def cold(items: pd.DataFrame, interactions: pd.DataFrame, days: float) -> set[str]:
    """The exploration pool as spec §6.1 defines it: fewer than 15 interactions, age within `days`."""
    counts = interactions["ITEM_ID"].value_counts().reindex(items["ITEM_ID"], fill_value=0).to_numpy()
    age = interactions["TIMESTAMP"].max() - items["CREATION_TIMESTAMP"].to_numpy()
    return set(items["ITEM_ID"][(counts < 15) & (age <= days * DAY)])


@pytest.fixture(scope="module")
def served():
    with mock_personalize():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        data = synthetic.generate(n_users=60, n_items=80, n_interactions=1200, seed=5)
        interactions = data["interactions"]
        latest = int(interactions["TIMESTAMP"].max())
        extra = pd.DataFrame({"ITEM_ID": FRESH + STALE, "GENRES": "Comedy", "PRICE": 10.0,
                              "CREATION_TIMESTAMP": [latest - 2 * DAY] * len(FRESH) + [latest - 60 * DAY] * len(STALE)})
        items = pd.concat([data["items"], extra], ignore_index=True)
        arns = make_group(personalize, kinds=("INTERACTIONS", "ITEMS"))
        import_job(personalize, arns["ITEMS"], put("items.csv", synthetic.to_csv_bytes(items)), "items")
        import_job(personalize, arns["INTERACTIONS"], put("i.csv", synthetic.to_csv_bytes(interactions)), "i")
        solution = personalize.create_solution(name="up", datasetGroupArn=arns["group"],
                                               recipeArn=RECIPE + "aws-user-personalization")["solutionArn"]
        version = train(personalize, solution)["solutionVersionArn"]
        configs = {"none": None, "w0": {"explorationWeight": "0"}, "w1": {"explorationWeight": "1"},
                   "w1-1day": {"explorationWeight": "1", "explorationItemAgeCutOff": "1"}}
        campaigns = {}
        for name, exploration in configs.items():
            config = {"campaignConfig": {"itemExplorationConfig": exploration}} if exploration else {}
            arn = personalize.create_campaign(name=name, solutionVersionArn=version, **config)["campaignArn"]
            assert demo.wait(lambda: personalize.describe_campaign(campaignArn=arn)["campaign"])["status"] == "ACTIVE"
            campaigns[name] = arn

        def recommend(name, user):
            return runtime.get_recommendations(campaignArn=campaigns[name], userId=user, numResults=K)["itemList"]

        yield {"personalize": personalize, "s3": s3, "recommend": recommend, "version": version, "items": items,
               "interactions": interactions, "arns": arns}


def test_weight_zero_is_pure_relevance(served):
    model = personalize_backends["123456789012"][REGION].get("solution_version", served["version"]).model
    for user in USERS:
        listed = served["recommend"]("w0", user)
        assert [i["itemId"] for i in listed] == [i for i, _ in model.recommend(user_id=user, k=K)]
        assert not {i["itemId"] for i in listed} & set(FRESH + STALE)


def test_weight_one_serves_the_pool_and_the_cut_off_bounds_it(served):
    pool = cold(served["items"], served["interactions"], 30)
    assert set(FRESH) <= pool and not set(STALE) & pool and len(pool) > K
    seen = set()
    for user in USERS:
        listed = served["recommend"]("w1", user)
        ids = [i["itemId"] for i in listed]
        assert len(ids) == K and set(ids) <= pool
        scores = [i["score"] for i in listed]
        assert scores == sorted(scores, reverse=True)
        assert all(i["score"] == 0.0 for i in listed if i["itemId"] in FRESH)  # no interactions: no score
        assert served["recommend"]("w1", user) == listed  # seeded: the same request, the same answer
        seen |= set(ids)
    assert seen & set(FRESH)
    one_day = cold(served["items"], served["interactions"], 1)
    for user in USERS:
        ids = {i["itemId"] for i in served["recommend"]("w1-1day", user)}
        assert not ids & set(FRESH)  # two days old: past a one-day cut-off
        assert one_day <= ids if len(one_day) <= K else ids <= one_day  # as many pool items as there are


def test_default_weight_explores_three_in_ten(served):
    pool = cold(served["items"], served["interactions"], 30)
    for user in USERS:
        ids = [i["itemId"] for i in served["recommend"]("none", user)]
        assert len(ids) == K and len(set(ids) & pool) >= 3


def test_batch_inference_explores(served):
    s3, personalize = served["s3"], served["personalize"]
    s3.put_object(Bucket=BUCKET, Key="batch/users.json",
                  Body="".join(json.dumps({"userId": u}) + "\n" for u in USERS).encode())
    job = personalize.create_batch_inference_job(
        jobName="explore", solutionVersionArn=served["version"], roleArn="arn:aws:iam::123456789012:role/p",
        numResults=K, batchInferenceJobConfig={"itemExplorationConfig": {"explorationWeight": "1"}},
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/batch/users.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/batch/out/"}})["batchInferenceJobArn"]
    assert demo.wait(lambda: personalize.describe_batch_inference_job(
        batchInferenceJobArn=job)["batchInferenceJob"])["status"] == "ACTIVE"
    body = s3.get_object(Bucket=BUCKET, Key="batch/out/users.json.out")["Body"].read().decode()
    pool = cold(served["items"], served["interactions"], 30)
    for line in body.splitlines():
        assert set(json.loads(line)["output"]["recommendedItems"]) <= pool


def test_exploration_settings_are_checked(served):
    personalize, arns = served["personalize"], served["arns"]
    with pytest.raises(ClientError) as error:
        personalize.create_campaign(name="bad", solutionVersionArn=served["version"],
                                    campaignConfig={"itemExplorationConfig": {"explorationWeight": "1.5"}})
    assert code(error) == "InvalidInputException"
    popular = personalize.create_solution(name="pop", datasetGroupArn=arns["group"],
                                          recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
    version = train(personalize, popular)["solutionVersionArn"]
    with pytest.raises(ClientError) as error:  # only User-Personalization explores
        personalize.create_campaign(name="pop", solutionVersionArn=version,
                                    campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.5"}})
    assert code(error) == "InvalidInputException"


def test_hrnn_coldstart_recommends_its_cold_items(served, monkeypatch):
    personalize, arns = served["personalize"], served["arns"]
    runtime = boto3.client("personalize-runtime", region_name=REGION)
    solution = personalize.create_solution(
        name="coldstart", datasetGroupArn=arns["group"], recipeArn=RECIPE + "aws-hrnn-coldstart",
        solutionConfig={"featureTransformationParameters": {"cold_start_max_duration": "3"}})["solutionArn"]
    pool = cold(served["items"], served["interactions"], 3)
    failed = train(personalize, solution)  # AWS's minimum: 100 cold items
    assert failed["status"] == "CREATE FAILED"
    assert failed["failureReason"] == (f"Create failed. aws-hrnn-coldstart needs between 100 and 80,000 cold items "
                                       f"(fewer than 15 interactions, at most 3 days old); the data has {len(pool)}.")
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")
    version = train(personalize, solution)["solutionVersionArn"]
    with pytest.raises(ClientError) as error:  # its cold items come from the featurization, not this
        personalize.create_campaign(name="coldstart-bad", solutionVersionArn=version,
                                    campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.5"}})
    assert code(error) == "InvalidInputException"
    arn = personalize.create_campaign(name="coldstart", solutionVersionArn=version)["campaignArn"]
    assert demo.wait(lambda: personalize.describe_campaign(campaignArn=arn)["campaign"])["status"] == "ACTIVE"
    assert len(pool) >= K
    for user in USERS:
        ids = {i["itemId"] for i in runtime.get_recommendations(campaignArn=arn, userId=user, numResults=K)["itemList"]}
        assert len(ids) == K and ids <= pool
