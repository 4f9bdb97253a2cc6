"""boto3 calls answered in process at before-call (PERSONALIZE_MOCK_IN_PROCESS_CALLS=direct, the
default) give what moto's stubber gives (=moto): the same results, errors and exceptions."""
from __future__ import annotations

import datetime
import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.exceptions import ServiceNotWhitelisted

from personalize_mock import demo, mock_personalize, synthetic
from personalize_mock.control.backend import personalize_backends
from workflow import REGION, SCHEMAS, upload_data

LANE = "PERSONALIZE_MOCK_IN_PROCESS_CALLS"
VOLATILE = {"RequestId", "x-amzn-requestid", "date", "recommendationId", "trackingId"}  # random per call
RANDOM_ID = re.compile(r"((?:solution/[^/]+|event-tracker)/)[0-9a-f]{8}")  # solution versions, event trackers


@pytest.fixture(autouse=True)
def _relaxed(monkeypatch):
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")


def _stable(value):
    """A response without what differs between two identical calls."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return "<datetime>"
    return RANDOM_ID.sub(r"\1<id>", value) if isinstance(value, str) else value


def _scenario() -> list:
    """A user's calls to the three services, successes and failures, as (operation, outcome)."""
    names = ("personalize", "personalize-runtime", "personalize-events", "s3", "iam")
    personalize, runtime, events, s3, iam = (boto3.client(n, region_name=REGION) for n in names)
    seen: list = []

    def call(client, operation: str, **params):
        try:
            response = getattr(client, operation)(**params)
        except ClientError as error:
            seen.append((operation, type(error).__name__, _stable(error.response)))
            return None
        seen.append((operation, _stable(response)))
        return response

    data = synthetic.generate(n_users=40, n_items=30, n_interactions=600, seed=3)
    locations = upload_data(s3, data)
    role = iam.create_role(RoleName="PersonalizeRole", AssumeRolePolicyDocument=json.dumps(demo.TRUST_POLICY))
    group = call(personalize, "create_dataset_group", name="lane-group")["datasetGroupArn"]
    call(personalize, "create_dataset_group", name="lane-group")  # ResourceAlreadyExistsException
    call(personalize, "describe_dataset_group", datasetGroupArn=group)
    schema = call(personalize, "create_schema", name="lane-interactions",
                  schema=json.dumps(SCHEMAS["INTERACTIONS"]))["schemaArn"]
    dataset = call(personalize, "create_dataset", name="lane-interactions", schemaArn=schema,
                   datasetGroupArn=group, datasetType="Interactions")["datasetArn"]
    job = call(personalize, "create_dataset_import_job", jobName="lane-import", datasetArn=dataset,
               dataSource={"dataLocation": locations["INTERACTIONS"]}, roleArn=role["Role"]["Arn"])
    assert demo.wait(lambda: personalize.describe_dataset_import_job(
        datasetImportJobArn=job["datasetImportJobArn"])["datasetImportJob"])["status"] == "ACTIVE"
    campaigns = {}
    for recipe in ("aws-user-personalization", "aws-popularity-count"):
        solution = call(personalize, "create_solution", name=f"lane-{recipe}", datasetGroupArn=group,
                        recipeArn=f"arn:aws:personalize:::recipe/{recipe}")["solutionArn"]
        version = call(personalize, "create_solution_version", solutionArn=solution)["solutionVersionArn"]
        demo.wait(lambda: personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"])
        call(personalize, "get_solution_metrics", solutionVersionArn=version)
        campaigns[recipe] = call(personalize, "create_campaign", name=f"lane-{recipe}",
                                 solutionVersionArn=version)["campaignArn"]
        demo.wait(lambda: personalize.describe_campaign(campaignArn=campaigns[recipe])["campaign"])
    call(personalize, "list_campaigns")
    user = str(data["interactions"]["USER_ID"].iloc[0])
    for campaign in campaigns.values():
        call(runtime, "get_recommendations", campaignArn=campaign, userId=user, numResults=5)
    call(runtime, "get_recommendations", campaignArn=campaigns["aws-popularity-count"] + "-gone", userId=user)
    call(runtime, "get_personalized_ranking", campaignArn=campaigns["aws-user-personalization"], userId=user,
         inputList=["a", "b"])  # InvalidInputException: not a ranking campaign
    call(runtime, "get_recommendations", campaignArn=campaigns["aws-user-personalization"], userId=user,
         numResults=1000)  # InvalidInputException: over the limit
    tracker = call(personalize, "create_event_tracker", name="lane-tracker", datasetGroupArn=group)
    call(events, "put_events", trackingId=tracker["trackingId"], userId=user, sessionId="s1",
         eventList=[{"eventType": "click", "itemId": str(data["items"]["ITEM_ID"].iloc[0]),
                     "sentAt": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)}])
    call(events, "put_events", trackingId="no-such-tracker", userId=user, sessionId="s1",
         eventList=[{"eventType": "click", "itemId": "x", "sentAt": 1}])
    call(personalize, "describe_campaign", campaignArn=campaigns["aws-popularity-count"] + "-gone")
    return seen


def _run(monkeypatch, lane: str) -> tuple[list, int]:
    """The scenario under a lane, and how many of its calls to our services moto's stubber saw."""
    monkeypatch.setenv(LANE, lane)
    wire: list[str] = []

    with mock_personalize():
        session = boto3.Session()
        for service in ("personalize", "personalize-runtime", "personalize-events"):
            session.events.register(f"before-send.{service}", lambda request, **_: wire.append(request.url))
        boto3.DEFAULT_SESSION = session
        try:
            return _scenario(), len(wire)
        finally:
            boto3.DEFAULT_SESSION = None


def test_direct_lane_answers_as_moto_does(monkeypatch):
    direct, direct_wire = _run(monkeypatch, "direct")
    moto, moto_wire = _run(monkeypatch, "moto")
    assert direct_wire == 0 and moto_wire > 20  # the lanes really differ in how the calls travelled
    assert [entry[0] for entry in direct] == [entry[0] for entry in moto]
    for ours, theirs in zip(direct, moto):
        assert ours == theirs
    errors = {entry[2]["Error"]["Code"] for entry in direct if len(entry) == 3}
    assert errors == {"ResourceAlreadyExistsException", "ResourceNotFoundException", "InvalidInputException"}
    # a modelled exception class, with the HTTP status the model gives it
    gone = next(entry for entry in direct if entry[0] == "get_recommendations" and len(entry) == 3)
    assert gone[1] == "ResourceNotFoundException" and gone[2]["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_before_call_hooks_still_see_the_calls():
    """The lane answers last of the before-call handlers: a user's hook (here one that adds a
    header moto reads) runs before it."""
    with mock_personalize():
        personalize = boto3.client("personalize", region_name=REGION)
        seen = []

        def hook(params, **_):
            seen.append(params["url"])
            params["headers"]["X-Moto-Account-Id"] = "777788889999"

        personalize.meta.events.register("before-call", hook)  # the least specific event: called last
        arn = personalize.create_dataset_group(name="hooked")["datasetGroupArn"]
    assert seen == ["https://personalize.us-east-1.amazonaws.com/"] and arn.split(":")[4] == "777788889999"


def test_direct_lane_serves_the_account_of_the_credentials(monkeypatch):
    """Assumed-role credentials of another account reach that account's backend, as through moto."""
    for lane in ("direct", "moto"):
        monkeypatch.setenv(LANE, lane)
        with mock_personalize():
            sts = boto3.client("sts", region_name=REGION)
            other = "111122223333"
            credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{other}:role/admin",
                                          RoleSessionName="lane")["Credentials"]
            personalize = boto3.client("personalize", region_name=REGION,
                                       aws_access_key_id=credentials["AccessKeyId"],
                                       aws_secret_access_key=credentials["SecretAccessKey"],
                                       aws_session_token=credentials["SessionToken"])
            arn = personalize.create_dataset_group(name=f"elsewhere-{lane}")["datasetGroupArn"]
            assert arn.split(":")[4] == other
            assert list(personalize_backends[other][REGION].resources["dataset_group"]) == [arn]
            assert boto3.client("personalize", region_name=REGION).list_dataset_groups()["datasetGroups"] == []
            monkeypatch.setenv("MOTO_ACCOUNT_ID", "444455556666")
            arn = personalize.create_dataset_group(name=f"env-{lane}")["datasetGroupArn"]
            assert arn.split(":")[4] == "444455556666"
            monkeypatch.delenv("MOTO_ACCOUNT_ID")


def test_direct_lane_steps_aside_where_moto_would_not_answer(monkeypatch):
    with mock_aws(config={"core": {"service_whitelist": ["s3"]}}):
        with pytest.raises(ServiceNotWhitelisted):
            boto3.client("personalize-runtime", region_name=REGION).get_recommendations(campaignArn="x", userId="u")


def test_calls_go_through_moto_while_its_recorder_records(monkeypatch, tmp_path):
    from moto.moto_api import recorder

    monkeypatch.setattr(recorder, "_location", str(tmp_path / "recording"))
    with mock_personalize():
        recorder.start_recording()
        try:
            boto3.client("personalize", region_name=REGION).create_dataset_group(name="recorded")
        finally:
            recorder.stop_recording()
        urls = [json.loads(line)["url"] for line in recorder.download_recording().splitlines() if line]
    assert urls == ["https://personalize.us-east-1.amazonaws.com/"]


def test_unknown_lane_setting_is_refused(monkeypatch):
    monkeypatch.setenv(LANE, "carrier-pigeon")
    with mock_personalize():
        with pytest.raises(ValueError, match=LANE):
            boto3.client("personalize", region_name=REGION).list_dataset_groups()
