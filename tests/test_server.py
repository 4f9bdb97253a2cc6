"""The standalone server: the AWS CLI, raw HTTP, moto's other services and concurrent clients."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests

from personalize_mock import demo


def client(server_url, name):
    return boto3.client(name, region_name="us-east-1", endpoint_url=server_url,
                        aws_access_key_id="test", aws_secret_access_key="test")


def aws_cli() -> list[str]:
    found = Path(sys.executable).with_name("aws")
    if found.exists():
        return [str(found)]
    if shutil.which("aws"):
        return [shutil.which("aws")]
    pytest.skip("the AWS CLI is not installed")


def test_aws_cli(server_url):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}

    def run(*args):
        done = subprocess.run(aws_cli() + list(args) + ["--endpoint-url", server_url, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)
        return done

    created = run("personalize", "create-dataset-group", "--name", "from-cli")
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["datasetGroupArn"]
    described = json.loads(run("personalize", "describe-dataset-group", "--dataset-group-arn", arn).stdout)
    assert described["datasetGroup"]["status"] == "ACTIVE"
    recipes = json.loads(run("personalize", "list-recipes").stdout)["recipes"]
    assert "aws-user-personalization" in {r["name"] for r in recipes}
    missing = run("personalize-runtime", "get-recommendations", "--campaign-arn",
                  arn.replace("dataset-group", "campaign"), "--user-id", "1")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    run("personalize", "delete-dataset-group", "--dataset-group-arn", arn)


def test_raw_http_errors_are_aws_shaped(server_url):
    headers = {"X-Amz-Target": "AmazonPersonalize.CreateDatasetGroup", "Content-Type": "application/x-amz-json-1.1",
               "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/personalize/aws4_request, "
                                "SignedHeaders=host, Signature=x"}
    bad_json = requests.post(server_url + "/", data=b"{not json", headers=headers, timeout=10)
    assert bad_json.status_code == 400 and bad_json.json()["__type"] == "SerializationException"
    wrong_type = requests.post(server_url + "/", data=json.dumps({"name": 5}), headers=headers, timeout=10)
    assert wrong_type.status_code == 400 and wrong_type.json()["__type"] == "InvalidInputException"
    missing = requests.post(server_url + "/", data=b"{}", headers=headers, timeout=10)
    assert missing.status_code == 400 and "name" in missing.json()["message"]
    headers["X-Amz-Target"] = "AmazonPersonalize.ListDatasetGroups"
    assert requests.post(server_url + "/", data=json.dumps({"maxResults": 0}), headers=headers,
                         timeout=10).json()["__type"] == "InvalidInputException"
    runtime = requests.post(server_url + "/recommendations", data=json.dumps({"campaignArn": "bad"}),
                            headers={**headers, "Content-Type": "application/json"}, timeout=10)
    assert runtime.status_code == 400 and runtime.headers["x-amzn-ErrorType"] == "InvalidInputException"


def test_concurrent_clients(server_url):
    personalize = client(server_url, "personalize")

    def work(i: int) -> str:
        arn = personalize.create_schema(name=f"concurrent-{i}", schema=demo.avro_schema("USERS"))["schemaArn"]
        assert personalize.describe_schema(schemaArn=arn)["schema"]["name"] == f"concurrent-{i}"
        personalize.list_schemas()
        return arn

    with ThreadPoolExecutor(max_workers=8) as pool:
        arns = list(pool.map(work, range(40)))
    assert len(set(arns)) == 40
    listed = set()
    for page in personalize.get_paginator("list_schemas").paginate():
        listed |= {s["schemaArn"] for s in page["schemas"]}
    assert set(arns) <= listed
    # The same name from many clients at once: exactly one create wins.
    def race(_):
        try:
            personalize.create_schema(name="contested", schema=demo.avro_schema("USERS"))
            return "created"
        except personalize.exceptions.ResourceAlreadyExistsException:
            return "exists"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(race, range(16)))
    assert outcomes.count("created") == 1


def test_state_manager_and_reset_over_http(server_url):
    set_url = server_url + "/moto-api/state-manager/set-transition"
    body = {"model_name": "personalize::dataset_group", "transition": {"progression": "manual", "times": 2}}
    assert requests.post(set_url, data=json.dumps(body), timeout=10).status_code == 201
    try:
        personalize = client(server_url, "personalize")
        arn = personalize.create_dataset_group(name="http-controlled")["datasetGroupArn"]
        assert personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]["status"] == "CREATE PENDING"
    finally:
        requests.post(server_url + "/moto-api/state-manager/unset-transition",
                      data=json.dumps({"model_name": "personalize::dataset_group"}), timeout=10)
    requests.post(server_url + "/moto-api/reset", timeout=10)
    assert client(server_url, "personalize").list_dataset_groups()["datasetGroups"] == []
