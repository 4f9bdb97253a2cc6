"""A tour of every implemented operation the first workflow does not call, on its resources.

Used by the conformance test: each answer is checked against its output shape there."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from moto.moto_api import state_manager

from personalize_mock import demo, synthetic
from workflow import BUCKET, ITEMS_SCHEMA, Outcome

ACTIONS_SCHEMA = {
    "type": "record", "name": "Actions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [{"name": "ACTION_ID", "type": "string"}, {"name": "VALUE", "type": ["null", "int"]}],
    "version": "1.0",
}
ACTION_INTERACTIONS_SCHEMA = {
    "type": "record", "name": "ActionInteractions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"}, {"name": "ACTION_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"},
    ],
    "version": "1.0",
}


def tour(clients: dict, out: Outcome) -> None:
    personalize, runtime, events, s3 = (clients[k] for k in
                                        ("personalize", "personalize-runtime", "personalize-events", "s3"))
    group = out.arns["group"]
    role = "arn:aws:iam::123456789012:role/PersonalizeRole"

    # Catalogue.
    recipe = personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")["recipe"]
    personalize.describe_algorithm(algorithmArn=recipe["algorithmArn"])
    personalize.describe_feature_transformation(featureTransformationArn=recipe["featureTransformationArn"])
    personalize.list_recipes(maxResults=5)

    # Lists and describes not in the workflow.
    personalize.list_dataset_groups()
    personalize.list_schemas()
    personalize.describe_schema(schemaArn=out.arns["schema-ITEMS"])
    personalize.list_datasets(datasetGroupArn=group)
    personalize.list_dataset_import_jobs(datasetArn=out.arns["dataset-INTERACTIONS"])
    personalize.list_solutions(datasetGroupArn=group)
    personalize.list_solution_versions(solutionArn=out.arns["solution-up"])
    personalize.list_campaigns(solutionArn=out.arns["solution-up"])
    personalize.describe_solution(solutionArn=out.arns["solution-up"])

    # Tags.
    personalize.tag_resource(resourceArn=group, tags=[{"tagKey": "team", "tagValue": "recs"}])
    personalize.list_tags_for_resource(resourceArn=group)
    personalize.untag_resource(resourceArn=group, tagKeys=["team"])

    # Streaming: an event tracker, events, items and users.
    tracker = personalize.create_event_tracker(name="tour-tracker", datasetGroupArn=group)
    personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
    personalize.list_event_trackers(datasetGroupArn=group)
    item = str(out.data["items"]["ITEM_ID"].iloc[0])
    events.put_events(trackingId=tracker["trackingId"], userId="tour-new-user", sessionId="s-1",
                      eventList=[{"eventType": "click", "itemId": item, "sentAt": datetime.now(timezone.utc),
                                  "eventValue": 0.5}])
    runtime.get_recommendations(campaignArn=out.arns["campaign-up"], userId="tour-new-user", numResults=5)
    events.put_items(datasetArn=out.arns["dataset-ITEMS"], items=[
        {"itemId": "tour-item", "properties": json.dumps({"genres": "Comedy", "price": 9.5,
                                                          "creationTimestamp": 1_700_000_000})}])
    events.put_users(datasetArn=out.arns["dataset-USERS"], users=[
        {"userId": "tour-new-user", "properties": json.dumps({"ageGroup": "25-34", "membership": "free"})}])

    # Schema replacement: a new nullable column on Items.
    extended = dict(ITEMS_SCHEMA, fields=ITEMS_SCHEMA["fields"] + [
        {"name": "BRAND", "type": ["null", "string"], "categorical": True}])
    new_schema = personalize.create_schema(name="tour-items-v2", schema=json.dumps(extended))["schemaArn"]
    personalize.update_dataset(datasetArn=out.arns["dataset-ITEMS"], schemaArn=new_schema)

    # Solution update: automatic training off.
    personalize.update_solution(solutionArn=out.arns["solution-pop"], performAutoTraining=False)

    # Campaign update.
    personalize.update_campaign(campaignArn=out.arns["campaign-up"], minProvisionedTPS=2)
    personalize.describe_campaign(campaignArn=out.arns["campaign-up"])

    # Stopping a training: hold versions in CREATE PENDING with a manual transition.
    state_manager.set_transition("personalize::solution_version", {"progression": "manual", "times": 100})
    try:
        held = personalize.create_solution_version(solutionArn=out.arns["solution-pop"])["solutionVersionArn"]
        personalize.stop_solution_version_creation(solutionVersionArn=held)
    finally:
        state_manager.unset_transition("personalize::solution_version")
    personalize.describe_solution_version(solutionVersionArn=held)

    # Batch inference through S3.
    users = out.data["interactions"]["USER_ID"].unique()[:3]
    s3.put_object(Bucket=BUCKET, Key="batch/in/users.json",
                  Body="".join(json.dumps({"userId": str(u)}) + "\n" for u in users).encode())
    job = personalize.create_batch_inference_job(
        jobName="tour-batch", solutionVersionArn=out.arns["version-up"], roleArn=role, numResults=5,
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/batch/in/users.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/batch/out/"}})["batchInferenceJobArn"]
    personalize.describe_batch_inference_job(batchInferenceJobArn=job)
    personalize.list_batch_inference_jobs(solutionVersionArn=out.arns["version-up"])

    # A segmentation solution and a batch segment job.
    segments = personalize.create_solution(name="tour-affinity", datasetGroupArn=group,
                                           recipeArn="arn:aws:personalize:::recipe/aws-item-affinity")["solutionArn"]
    segment_version = personalize.create_solution_version(solutionArn=segments)["solutionVersionArn"]
    s3.put_object(Bucket=BUCKET, Key="segments/in/items.json", Body=(json.dumps({"itemId": item}) + "\n").encode())
    segment_job = personalize.create_batch_segment_job(
        jobName="tour-segments", solutionVersionArn=segment_version, roleArn=role, numResults=10,
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/segments/in/items.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/segments/out/"}})["batchSegmentJobArn"]
    assert personalize.describe_batch_segment_job(
        batchSegmentJobArn=segment_job)["batchSegmentJob"]["status"] == "ACTIVE"
    personalize.list_batch_segment_jobs(solutionVersionArn=segment_version)
    segment_lines = s3.get_object(Bucket=BUCKET, Key="segments/out/items.json.out")["Body"].read().splitlines()
    assert len(json.loads(segment_lines[0])["output"]["usersList"]) == 10
    personalize.delete_solution(solutionArn=segments)

    # Export and user deletion.
    export = personalize.create_dataset_export_job(
        jobName="tour-export", datasetArn=out.arns["dataset-INTERACTIONS"], roleArn=role, ingestionMode="ALL",
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/export/"}})["datasetExportJobArn"]
    personalize.describe_dataset_export_job(datasetExportJobArn=export)
    personalize.list_dataset_export_jobs(datasetArn=out.arns["dataset-INTERACTIONS"])
    s3.put_object(Bucket=BUCKET, Key="deletion/users.csv", Body=b"USER_ID\ntour-new-user\n")
    deletion = personalize.create_data_deletion_job(
        jobName="tour-deletion", datasetGroupArn=group, roleArn=role,
        dataSource={"dataLocation": f"s3://{BUCKET}/deletion/users.csv"})["dataDeletionJobArn"]
    personalize.describe_data_deletion_job(dataDeletionJobArn=deletion)
    personalize.list_data_deletion_jobs(datasetGroupArn=group)

    # Actions and action interactions live in a group of their own.
    actions_group = personalize.create_dataset_group(name="tour-actions")["datasetGroupArn"]
    datasets = {}
    for kind, schema in (("Actions", ACTIONS_SCHEMA), ("Action_Interactions", ACTION_INTERACTIONS_SCHEMA)):
        schema_arn = personalize.create_schema(name=f"tour-{kind.lower()}", schema=json.dumps(schema))["schemaArn"]
        datasets[kind] = personalize.create_dataset(name=f"tour-{kind.lower()}", schemaArn=schema_arn,
                                                    datasetGroupArn=actions_group, datasetType=kind)["datasetArn"]
    events.put_actions(datasetArn=datasets["Actions"],
                       actions=[{"actionId": "upgrade", "properties": json.dumps({"value": 10})}])
    tracking_id = personalize.describe_dataset(datasetArn=datasets["Action_Interactions"])["dataset"]["trackingId"]
    events.put_action_interactions(trackingId=tracking_id, actionInteractions=[
        {"actionId": "upgrade", "userId": "u1", "sessionId": "s1", "eventType": "Taken",
         "timestamp": datetime.now(timezone.utc)}])

    # Next-Best-Action on that group: item interactions, actions and action interactions.
    schema_arn = personalize.create_schema(name="tour-actions-interactions",
                                           schema=demo.avro_schema("INTERACTIONS"))["schemaArn"]
    interactions = personalize.create_dataset(name="tour-actions-interactions", schemaArn=schema_arn,
                                              datasetGroupArn=actions_group, datasetType="Interactions")["datasetArn"]
    job = personalize.create_dataset_import_job(
        jobName="tour-actions-interactions", datasetArn=interactions,
        dataSource={"dataLocation": f"s3://{BUCKET}/input/interactions.csv"})["datasetImportJobArn"]
    assert personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"] == "ACTIVE"
    nba = personalize.create_solution(name="tour-nba", datasetGroupArn=actions_group,
                                      recipeArn="arn:aws:personalize:::recipe/aws-next-best-action")["solutionArn"]
    nba_version = personalize.create_solution_version(solutionArn=nba)["solutionVersionArn"]
    assert personalize.describe_solution_version(
        solutionVersionArn=nba_version)["solutionVersion"]["status"] == "ACTIVE"
    nba_campaign = personalize.create_campaign(name="tour-nba", solutionVersionArn=nba_version)["campaignArn"]
    runtime.get_action_recommendations(campaignArn=nba_campaign, userId="u1", numResults=3)

    personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])

    # A domain dataset group and a recommender through its whole life.
    shop = personalize.create_dataset_group(name="tour-shop", domain="ECOMMERCE")["datasetGroupArn"]
    schema = dict(json.loads(demo.avro_schema("INTERACTIONS")))
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "EVENT_VALUE"]
    schema_arn = personalize.create_schema(name="tour-shop", schema=json.dumps(schema), domain="ECOMMERCE")["schemaArn"]
    shop_dataset = personalize.create_dataset(name="tour-shop", schemaArn=schema_arn, datasetGroupArn=shop,
                                              datasetType="Interactions")["datasetArn"]
    frame = out.data["interactions"][["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]].copy()
    frame["EVENT_TYPE"] = frame["EVENT_TYPE"].map({"click": "View", "purchase": "Purchase"})
    s3.put_object(Bucket=BUCKET, Key="shop/interactions.csv", Body=synthetic.to_csv_bytes(frame))
    shop_import = personalize.create_dataset_import_job(
        jobName="tour-shop", datasetArn=shop_dataset,
        dataSource={"dataLocation": f"s3://{BUCKET}/shop/interactions.csv"})["datasetImportJobArn"]
    assert personalize.describe_dataset_import_job(
        datasetImportJobArn=shop_import)["datasetImportJob"]["status"] == "ACTIVE"
    recommender = personalize.create_recommender(
        name="tour-most-viewed", datasetGroupArn=shop,
        recipeArn="arn:aws:personalize:::recipe/aws-ecomm-popular-items-by-views")["recommenderArn"]
    personalize.describe_recommender(recommenderArn=recommender)
    personalize.list_recommenders(datasetGroupArn=shop)
    runtime.get_recommendations(recommenderArn=recommender, userId="someone", numResults=3)
    personalize.update_recommender(recommenderArn=recommender,
                                   recommenderConfig={"minRecommendationRequestsPerSecond": 2})
    personalize.stop_recommender(recommenderArn=recommender)
    personalize.start_recommender(recommenderArn=recommender)
    personalize.delete_recommender(recommenderArn=recommender)
