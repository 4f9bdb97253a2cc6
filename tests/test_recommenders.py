"""Domain dataset groups and recommenders: use cases train on their event types, serve without
scores, remove what the user already bought, and stop, start, update and delete as AWS documents."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from personalize_mock import demo, mock_personalize, synthetic
from test_control import BUCKET, REGION, code, import_job, put

RECIPE = "arn:aws:personalize:::recipe/"
ECOMMERCE_INTERACTIONS = {
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
    "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
               {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}],
}


@pytest.fixture
def ecommerce():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        data = synthetic.generate(n_users=150, n_items=120, n_interactions=4000, seed=11)
        frame = data["interactions"][["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]].copy()
        frame["EVENT_TYPE"] = frame["EVENT_TYPE"].map({"click": "View", "purchase": "Purchase"})
        group = personalize.create_dataset_group(name="shop", domain="ECOMMERCE")["datasetGroupArn"]
        schema = personalize.create_schema(name="shop-interactions", domain="ECOMMERCE",
                                           schema=json.dumps(ECOMMERCE_INTERACTIONS))["schemaArn"]
        dataset = personalize.create_dataset(name="shop-interactions", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="Interactions")["datasetArn"]
        assert import_job(personalize, dataset, put("shop.csv", synthetic.to_csv_bytes(frame)), "shop")["status"] \
            == "ACTIVE"
        yield personalize, group, frame


def create(personalize, group, use_case, **kwargs):
    arn = personalize.create_recommender(name=use_case, datasetGroupArn=group, recipeArn=RECIPE + use_case,
                                         **kwargs)["recommenderArn"]
    return arn, demo.wait(lambda: personalize.describe_recommender(recommenderArn=arn)["recommender"])


def test_use_cases_train_and_serve(ecommerce):
    personalize, group, frame = ecommerce
    runtime = boto3.client("personalize-runtime", region_name=REGION)
    arn, recommender = create(personalize, group, "aws-ecomm-popular-items-by-views")
    assert recommender["status"] == "ACTIVE", recommender.get("failureReason")
    assert set(recommender["modelMetrics"]) >= {"coverage", "precision_at_10"}
    items = runtime.get_recommendations(recommenderArn=arn, userId="anyone", numResults=5)["itemList"]
    views = frame[frame["EVENT_TYPE"] == "View"].groupby("ITEM_ID")["USER_ID"].nunique()
    assert items[0]["itemId"] == views.sort_values(ascending=False, kind="stable").index[0]
    assert all("score" not in item for item in items)

    arn, recommender = create(personalize, group, "aws-ecomm-recommended-for-you",
                              recommenderConfig={"itemExplorationConfig": {"explorationWeight": "0.1"}})
    assert recommender["status"] == "ACTIVE", recommender.get("failureReason")
    buyer = frame[frame["EVENT_TYPE"] == "Purchase"]["USER_ID"].iloc[0]
    bought = set(frame[(frame["USER_ID"] == buyer) & (frame["EVENT_TYPE"] == "Purchase")]["ITEM_ID"])
    served = {i["itemId"] for i in runtime.get_recommendations(recommenderArn=arn, userId=buyer,
                                                                numResults=50)["itemList"]}
    assert served and not served & bought
    with pytest.raises(ClientError) as error:
        runtime.get_recommendations(recommenderArn=arn)
    assert code(error) == "InvalidInputException"


def test_recommender_lifecycle(ecommerce):
    personalize, group, _ = ecommerce
    runtime = boto3.client("personalize-runtime", region_name=REGION)
    arn, _ = create(personalize, group, "aws-ecomm-popular-items-by-views")
    personalize.update_recommender(recommenderArn=arn, recommenderConfig={"minRecommendationRequestsPerSecond": 3})
    described = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    assert described["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert described["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 3
    with pytest.raises(ClientError) as error:
        personalize.start_recommender(recommenderArn=arn)
    assert code(error) == "ResourceInUseException"
    personalize.stop_recommender(recommenderArn=arn)
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as error:
        runtime.get_recommendations(recommenderArn=arn, userId="u1")
    assert code(error) == "InvalidInputException"
    personalize.start_recommender(recommenderArn=arn)
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] == "ACTIVE"
    assert [r["recommenderArn"] for r in personalize.list_recommenders(datasetGroupArn=group)["recommenders"]] == [arn]
    with pytest.raises(ClientError) as error:
        personalize.delete_dataset_group(datasetGroupArn=group)
    assert code(error) == "ResourceInUseException"
    personalize.delete_recommender(recommenderArn=arn)
    with pytest.raises(ClientError) as error:
        personalize.describe_recommender(recommenderArn=arn)
    assert code(error) == "ResourceNotFoundException"


def test_recommender_rules(ecommerce):
    personalize, group, _ = ecommerce
    with pytest.raises(ClientError) as error:
        personalize.create_recommender(name="vod", datasetGroupArn=group, recipeArn=RECIPE + "aws-vod-most-popular")
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        personalize.create_recommender(name="custom", datasetGroupArn=group,
                                       recipeArn=RECIPE + "aws-user-personalization")
    assert code(error) == "InvalidInputException"
    custom = personalize.create_dataset_group(name="custom")["datasetGroupArn"]
    with pytest.raises(ClientError) as error:
        personalize.create_recommender(name="x", datasetGroupArn=custom,
                                       recipeArn=RECIPE + "aws-ecomm-popular-items-by-views")
    assert code(error) == "InvalidInputException"
    with pytest.raises(ClientError) as error:
        personalize.create_solution(name="s", datasetGroupArn=group,
                                    recipeArn=RECIPE + "aws-ecomm-popular-items-by-views")
    assert code(error) == "InvalidInputException"


def test_too_few_events_of_the_use_case_type_fail_the_recommender():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        rows = "".join(f"u{i % 40},i{i % 30},{1000 + i},View\n" for i in range(1200))
        group = personalize.create_dataset_group(name="few", domain="ECOMMERCE")["datasetGroupArn"]
        schema = personalize.create_schema(name="few", domain="ECOMMERCE",
                                           schema=json.dumps(ECOMMERCE_INTERACTIONS))["schemaArn"]
        dataset = personalize.create_dataset(name="few", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="Interactions")["datasetArn"]
        import_job(personalize, dataset, put("few.csv", ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" + rows).encode()),
                   "few")
        _, recommender = create(personalize, group, "aws-ecomm-popular-items-by-purchases")
        assert recommender["status"] == "CREATE FAILED"
        assert "Purchase" in recommender["failureReason"]
        assert "modelMetrics" not in recommender


def test_a_recommender_builds_the_projection_before_it_is_active(ecommerce, monkeypatch):
    from personalize_mock.control.backend import personalize_backends
    from personalize_mock.recipes.engines import projected_table

    monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "projected")
    monkeypatch.setattr(projected_table, "MIN_TABLE_BYTES", 0)  # the test's table is small
    personalize, group, _ = ecommerce
    arn, recommender = create(personalize, group, "aws-ecomm-recommended-for-you")
    assert recommender["status"] == "ACTIVE", recommender.get("failureReason")
    model = personalize_backends["123456789012"][REGION].get("recommender", arn).model
    assert isinstance(model._projection, projected_table.ProjectedItemTable)  # built before any request
