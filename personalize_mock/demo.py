"""`make demo`: the whole job end to end, in process, with nothing but boto3 calls.

Generated data (users with tastes) goes into moto's S3, is imported into a dataset group, trains
aws-user-personalization and aws-popularity-count, is deployed in a campaign, answers
GetRecommendations, and runs a batch inference job whose output is read back from S3. The same
steps, timed stage by stage, are the decorator-mode benchmark (bench/workflow.py)."""
from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Callable, Iterator

from . import synthetic

REGION = "us-east-1"
BUCKET = "personalize-demo-data"
RECIPE = "arn:aws:personalize:::recipe/"

SCHEMAS = {
    "INTERACTIONS": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": ["null", "float"]},
    ],
    "ITEMS": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": "string", "categorical": True},
        {"name": "PRICE", "type": "float"},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
    ],
    "USERS": [
        {"name": "USER_ID", "type": "string"},
        {"name": "AGE_GROUP", "type": "string", "categorical": True},
        {"name": "MEMBERSHIP", "type": "string", "categorical": True},
    ],
}
RECORD_NAMES = {"INTERACTIONS": "Interactions", "ITEMS": "Items", "USERS": "Users"}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "personalize.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def avro_schema(kind: str, fields: list[dict] | None = None) -> str:
    """The Avro schema JSON of a dataset type: the demo's fields, or the given ones."""
    return json.dumps({"type": "record", "name": RECORD_NAMES[kind], "namespace": "com.amazonaws.personalize.schema",
                       "fields": SCHEMAS[kind] if fields is None else fields, "version": "1.0"})


def wait(describe: Callable[[], dict], timeout: float = 600.0) -> dict:
    """Poll until ACTIVE or CREATE FAILED, as AWS's samples do."""
    deadline = time.time() + timeout
    while True:
        resource = describe()
        if resource["status"] in ("ACTIVE", "CREATE FAILED") or time.time() > deadline:
            return resource
        time.sleep(0.05)


def _active(resource: dict) -> dict:
    if resource["status"] != "ACTIVE":
        raise RuntimeError(f"{resource.get('name') or resource.get('jobName')} ended "
                           f"{resource['status']}: {resource.get('failureReason')}")
    return resource


@contextlib.contextmanager
def _untimed(name: str) -> Iterator[None]:
    yield


def run(clients: dict[str, Any], data: dict, stage: Callable[[str], Any] = _untimed,
        recipes: tuple[str, ...] = ("aws-user-personalization", "aws-popularity-count")) -> dict:
    """Run the workflow; `stage(name)` is a context manager wrapped around each stage."""
    personalize, runtime, s3, iam = (clients[k] for k in ("personalize", "personalize-runtime", "s3", "iam"))
    result: dict[str, Any] = {"metrics": {}, "recommendations": {}}

    with stage("upload"):
        s3.create_bucket(Bucket=BUCKET)
        for kind, frame in (("INTERACTIONS", data["interactions"]), ("ITEMS", data["items"]),
                            ("USERS", data["users"])):
            s3.put_object(Bucket=BUCKET, Key=f"input/{kind.lower()}.csv", Body=synthetic.to_csv_bytes(frame))
        role = iam.create_role(RoleName="PersonalizeDemoRole",
                               AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]

    with stage("import"):
        group = personalize.create_dataset_group(name="demo")["datasetGroupArn"]
        _active(wait(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]))
        jobs = []
        for kind in SCHEMAS:
            schema = personalize.create_schema(name=f"demo-{kind.lower()}", schema=avro_schema(kind))["schemaArn"]
            dataset = personalize.create_dataset(name=f"demo-{kind.lower()}", schemaArn=schema,
                                                 datasetGroupArn=group, datasetType=kind)["datasetArn"]
            _active(wait(lambda: personalize.describe_dataset(datasetArn=dataset)["dataset"]))
            jobs.append(personalize.create_dataset_import_job(
                jobName=f"demo-import-{kind.lower()}", datasetArn=dataset, roleArn=role,
                dataSource={"dataLocation": f"s3://{BUCKET}/input/{kind.lower()}.csv"})["datasetImportJobArn"])
        for job in jobs:
            _active(wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]))

    versions = {}
    for recipe in recipes:
        with stage(f"train {recipe}"):
            solution = personalize.create_solution(name=f"demo-{recipe}", datasetGroupArn=group,
                                                   recipeArn=RECIPE + recipe)["solutionArn"]
            version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
            _active(wait(lambda: personalize.describe_solution_version(
                solutionVersionArn=version)["solutionVersion"]))
            versions[recipe] = version
            result["metrics"][recipe] = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]

    main = recipes[0]
    with stage("campaign"):
        campaign = personalize.create_campaign(name="demo-campaign", solutionVersionArn=versions[main],
                                               minProvisionedTPS=1)["campaignArn"]
        _active(wait(lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]))

    users = [str(u) for u in data["interactions"]["USER_ID"].drop_duplicates().iloc[:100]]
    with stage("get_recommendations x100"):
        for user in users:
            items = runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=10)["itemList"]
            result["recommendations"][user] = items

    with stage("batch inference"):
        lines = "".join(json.dumps({"userId": u}) + "\n" for u in users[:20])
        s3.put_object(Bucket=BUCKET, Key="batch/users.json", Body=lines.encode())
        job = personalize.create_batch_inference_job(
            jobName="demo-batch", solutionVersionArn=versions[main], roleArn=role, numResults=10,
            jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/batch/users.json"}},
            jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/batch/out/"}})["batchInferenceJobArn"]
        _active(wait(lambda: personalize.describe_batch_inference_job(
            batchInferenceJobArn=job)["batchInferenceJob"]))
        body = s3.get_object(Bucket=BUCKET, Key="batch/out/users.json.out")["Body"].read().decode()
        result["batch"] = [json.loads(line) for line in body.splitlines()]
    return result


def _print_report(data: dict, result: dict) -> None:
    items = data["items"].set_index("ITEM_ID")
    tastes = data["truth"]["tastes"].set_index("USER_ID")
    print("\nOffline metrics on the held-out split (GetSolutionMetrics):")
    names = sorted(next(iter(result["metrics"].values())))
    print(f"  {'metric':<46}" + "".join(f"{r:>28}" for r in result["metrics"]))
    for name in names:
        print(f"  {name:<46}" + "".join(f"{m[name]:>28.4f}" for m in result["metrics"].values()))
    print("\nGetRecommendations for three users (their planted tastes, then what the campaign returned):")
    for user in list(result["recommendations"])[:3]:
        taste = tastes.loc[user]
        print(f"  user {user}: early tastes {taste['EARLY_GENRES']}, late tastes {taste['LATE_GENRES']}")
        for entry in result["recommendations"][user][:5]:
            print(f"      {entry['itemId']:<10} score {entry['score']:.5f}  genres {items.loc[entry['itemId'], 'GENRES']}")
    print(f"\nBatch inference job: {len(result['batch'])} lines written to s3://{BUCKET}/batch/out/users.json.out")
    first = result["batch"][0]
    print(f"  first line: input {first['input']} -> {first['output']['recommendedItems'][:5]} ...")


def main() -> None:
    import boto3

    from . import mock_personalize

    print("Generating 1,000 users, 2,000 items and 50,000 interactions with planted tastes...")
    data = synthetic.generate(n_users=1000, n_items=2000, n_interactions=50_000, seed=0)
    started = time.perf_counter()

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        print(f"  {name:<40} {time.perf_counter() - t0:6.2f} s")

    with mock_personalize():
        clients = {name: boto3.client(name, region_name=REGION)
                   for name in ("personalize", "personalize-runtime", "s3", "iam")}
        print("Running the workflow against the mocked services (stage, wall time):")
        result = run(clients, data, stage)
    print(f"  {'total':<40} {time.perf_counter() - started:6.2f} s")
    _print_report(data, result)


if __name__ == "__main__":
    main()
