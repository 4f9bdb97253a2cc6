"""API coverage: every operation of the three pinned models is dispatched to a backend method whose
signature takes the operation's input members, and every answer validates against its output shape.

NOT_YET is the one, shrinking list of operations later issues implement."""
from __future__ import annotations

import inspect
import json

import boto3
import pytest
from botocore.validate import ParamValidator
from moto.core.utils import camelcase_to_underscores

from personalize_mock import mock_personalize
from personalize_mock.control.backend import PersonalizeBackend
from personalize_mock.events.backend import PersonalizeEventsBackend
from personalize_mock.protocol.models import SERVICES, service_model
from personalize_mock.runtime.backend import PersonalizeRuntimeBackend
from workflow import REGION, run_workflow, tear_down

BACKENDS = {
    "personalize": PersonalizeBackend,
    "personalize-runtime": PersonalizeRuntimeBackend,
    "personalize-events": PersonalizeEventsBackend,
}

NOT_YET = {
    "personalize": {
        "CreateFilter", "DescribeFilter", "ListFilters", "DeleteFilter",
        "CreateMetricAttribution", "DescribeMetricAttribution", "ListMetricAttributions",
        "ListMetricAttributionMetrics", "UpdateMetricAttribution", "DeleteMetricAttribution",
    },
    "personalize-runtime": set(),
    "personalize-events": set(),
}

# Operations issue 2 names: they may never be in NOT_YET.
REQUIRED = {
    "CreateDatasetGroup", "DescribeDatasetGroup", "ListDatasetGroups", "DeleteDatasetGroup",
    "CreateSchema", "DescribeSchema", "ListSchemas", "DeleteSchema",
    "CreateDataset", "DescribeDataset", "ListDatasets", "DeleteDataset",
    "CreateDatasetImportJob", "DescribeDatasetImportJob", "ListDatasetImportJobs",
    "CreateSolution", "DescribeSolution", "ListSolutions", "DeleteSolution",
    "CreateSolutionVersion", "DescribeSolutionVersion", "ListSolutionVersions", "GetSolutionMetrics",
    "CreateCampaign", "DescribeCampaign", "ListCampaigns", "DeleteCampaign",
    "TagResource", "UntagResource", "ListTagsForResource",
    "ListRecipes", "DescribeRecipe", "DescribeAlgorithm", "DescribeFeatureTransformation",
    "GetRecommendations", "GetPersonalizedRanking",
}


def all_operations():
    for service in SERVICES:
        for name in service_model(service).operation_names:
            yield service, name


def test_not_yet_list_is_honest():
    known = {(s, n) for s, n in all_operations()}
    for service, names in NOT_YET.items():
        assert names <= {n for s, n in known if s == service}, "NOT_YET names an operation the model lacks"
        assert not names & REQUIRED
        for name in names:
            assert not hasattr(BACKENDS[service], camelcase_to_underscores(name)), \
                f"{name} is implemented: remove it from NOT_YET"


@pytest.mark.parametrize("service,operation", list(all_operations()))
def test_operation_is_dispatched_to_a_backend_method(service, operation):
    if operation in NOT_YET[service]:
        pytest.skip("not implemented yet")
    method = getattr(BACKENDS[service], camelcase_to_underscores(operation), None)
    assert method is not None, f"{service}.{operation} has no backend method"
    parameters = inspect.signature(method).parameters
    shape = service_model(service).operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    for member in members:
        assert camelcase_to_underscores(member) in parameters, f"{operation} does not take {member}"
    for name, parameter in parameters.items():
        if name != "self":
            assert name in {camelcase_to_underscores(m) for m in members}, f"{operation}: unexpected {name}"
    required = shape.required_members if shape is not None else []
    for name, parameter in parameters.items():
        if name != "self" and name not in {camelcase_to_underscores(m) for m in required}:
            assert parameter.default is not inspect.Parameter.empty, f"{operation}: optional {name} needs a default"


@mock_personalize
def test_unknown_and_not_yet_operations_are_aws_errors():
    import requests

    url = f"https://personalize.{REGION}.amazonaws.com/"
    for target in ("AmazonPersonalize.NoSuchThing", f"AmazonPersonalize.{sorted(NOT_YET['personalize'])[0]}"):
        answer = requests.post(url, data=b"{}", headers={"X-Amz-Target": target,
                                                         "Content-Type": "application/x-amz-json-1.1"})
        assert answer.status_code == 400
        assert answer.json()["__type"] == "UnknownOperationException"


@mock_personalize
def test_every_answer_validates_against_its_output_shape(captured_responses):
    from tour import tour

    clients = {name: boto3.client(name, region_name=REGION)
               for name in ("personalize", "personalize-runtime", "personalize-events", "s3", "iam")}
    out = run_workflow(clients)
    tour(clients, out)
    tear_down(clients["personalize"], out)
    validator = ParamValidator()
    answered = set()
    for service, operation, status, body in captured_responses:
        if status != 200:
            continue
        answered.add((service, operation))
        shape = service_model(service).operation_model(operation).output_shape
        if shape is None:
            assert body == {}
            continue
        report = validator.validate(body, shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
    implemented = {(s, n) for s, n in all_operations() if n not in NOT_YET[s]}
    missing = implemented - answered
    assert not missing, f"operations never answered successfully in the tour: {sorted(missing)}"
