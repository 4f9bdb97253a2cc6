"""PersonalizeBackend: one method per control-plane operation, and the rules between resources.

Methods take the operation's top-level members in snake_case (nested structures stay as on the
wire) and return a dict shaped like the operation's output; the protocol layer checks the input
against the model first and projects the result onto the output shape."""
from __future__ import annotations

import base64
import importlib
import hashlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from moto.core.base_backend import BackendDict, BaseBackend
from moto.moto_api._internal import mock_random
from moto.utilities.tagging_service import TaggingService
from moto.utilities.utils import get_partition

from ..protocol.errors import (
    InvalidInputException,
    InvalidNextTokenException,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceInUseException,
    ResourceNotFoundException,
    TooManyTagKeysException,
    TooManyTagsException,
)
from ..jobs import batch, imports, training
from ..recipes.base import realtime_work
from . import rules
from .lifecycle import Lifecycle, now
from .resources import (
    BatchInferenceJob,
    BatchSegmentJob,
    Campaign,
    CampaignUpdate,
    Recommender,
    RecommenderUpdate,
    SolutionUpdate,
    DataDeletionJob,
    Dataset,
    DatasetExportJob,
    DatasetGroup,
    DatasetImportJob,
    EventTracker,
    Resource,
    Schema,
    Solution,
    SolutionVersion,
)

MAX_TAGS = 50

# Quotas per account and region (spec: control-plane §18), enforced as AWS enforces them.
QUOTA_DATASET_GROUPS = 5
QUOTA_IMPORTS_IN_PROGRESS = 5
QUOTA_SOLUTIONS_PER_GROUP = 10
QUOTA_VERSIONS_IN_PROGRESS = 20
QUOTA_CAMPAIGNS_PER_GROUP = 5
QUOTA_RECOMMENDERS_PER_GROUP = 5
QUOTA_SCHEMAS = 500
QUOTA_BATCH_JOBS_IN_PROGRESS = 5
QUOTA_PENDING_DELETIONS_PER_GROUP = 5
DEFAULT_BATCH_RESULTS = 25


def urls_beside(backend: BaseBackend):
    """The urls module of a backend's package (moto derives it from a module named `models`)."""
    return importlib.import_module(type(backend).__module__.rsplit(".", 1)[0] + ".urls")


def _not_found(arn: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Resource {arn} does not exist.")


class PersonalizeBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.resources: dict[str, dict[str, Any]] = {}
        self.tagger = TaggingService(tag_name="tags", key_name="tagKey", value_name="tagValue")
        self.lock = threading.RLock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def _url_module(self):
        return urls_beside(self)

    def reset(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        super().reset()

    @property
    def executor(self) -> ThreadPoolExecutor:
        with self.lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="personalize-job")
            return self._executor

    # ------------------------------------------------------------------ registry helpers

    def arn(self, path: str) -> str:
        return f"arn:{get_partition(self.region_name)}:personalize:{self.region_name}:{self.account_id}:{path}"

    def _registry(self, kind: str) -> dict[str, Any]:
        return self.resources.setdefault(kind, {})

    def _live(self, kind: str) -> list[Any]:
        """Resources of a kind that still exist; ones whose deletion finished are dropped here."""
        registry = self._registry(kind)
        for arn, resource in list(registry.items()):
            if resource.is_gone:
                self._forget(kind, arn)
        return sorted(registry.values(), key=lambda r: r.sort_key)

    def _forget(self, kind: str, arn: str) -> None:
        with self.lock:
            self._registry(kind).pop(arn, None)
            self.tagger.delete_all_tags_for_resource(arn)

    def get(self, kind: str, arn: str) -> Any:
        resource = self._registry(kind).get(arn)
        if resource is None or resource.is_gone:
            if resource is not None:
                self._forget(kind, arn)
            raise _not_found(arn)
        return resource

    def _describe(self, kind: str, arn: str) -> dict:
        """Describe calls drive moto's "manual" progression: each one is a tick."""
        resource = self.get(kind, arn)
        if isinstance(resource, Lifecycle):  # schemas have no status
            resource.advance()
        return resource.view()

    def _add(self, kind: str, resource: Any, tags: list[dict] | None = None, what: str | None = None) -> None:
        """Register a new resource: its ARN must be free (a resource still being deleted holds it)."""
        self._check_tags(tags or [])
        with self.lock:
            existing = self._registry(kind).get(resource.arn)
            if existing is not None and not existing.is_gone:
                raise ResourceAlreadyExistsException(f"{what or kind.replace('_', ' ').capitalize()} "
                                                     f"{resource.arn} already exists.")
            self._registry(kind)[resource.arn] = resource
            self.tagger.delete_all_tags_for_resource(resource.arn)
            if tags:
                self.tagger.tag_resource(resource.arn, tags)

    @staticmethod
    def _require_active(resource: Resource, what: str) -> None:
        status = resource.status
        if status != "ACTIVE":
            raise ResourceInUseException(f"{what} {resource.arn} is not in ACTIVE state (status: {status}).")

    @staticmethod
    def _require_deletable(resource: Resource) -> None:
        status = resource.status
        if status not in ("ACTIVE", "CREATE FAILED", "CREATE STOPPED"):
            raise ResourceInUseException(f"Resource {resource.arn} cannot be deleted while its status is {status}.")

    def _delete(self, resource: Resource) -> None:
        resource.enter("delete")

    @staticmethod
    def _page(items: list[Any], next_token: str | None, max_results: int | None, scope: Any,
              view: Callable[[Any], dict]) -> tuple[list[dict], str | None]:
        """Newest first; the token names the last ARN served and the filters it was served for."""
        items = sorted(items, key=lambda r: r.sort_key, reverse=True)
        scope_hash = hashlib.sha256(json.dumps(scope, sort_keys=True, default=str).encode()).hexdigest()[:16]
        start = 0
        if next_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(next_token.encode()))
                assert token["scope"] == scope_hash
                created, arn = token["after"]
            except Exception:
                raise InvalidNextTokenException("The nextToken provided is invalid.") from None
            after = (created, arn)
            start = next((i for i, r in enumerate(items) if (r.sort_key[0].timestamp(), r.sort_key[1]) < after),
                         len(items))
        limit = max_results or 100
        page = items[start:start + limit]
        token = None
        if start + limit < len(items):
            last = page[-1].sort_key
            token = base64.urlsafe_b64encode(json.dumps(
                {"scope": scope_hash, "after": [last[0].timestamp(), last[1]]}).encode()).decode()
        return [view(r) for r in page], token

    def _list(self, kind: str, key: str, next_token: str | None, max_results: int | None,
              keep: Callable[[Any], bool] = lambda r: True, scope: Any = None,
              view: Callable[[Any], dict] | None = None) -> dict:
        items = [r for r in self._live(kind) if keep(r)]
        page, token = self._page(items, next_token, max_results, [kind, scope], view or (lambda r: r.view()))
        return {key: page, "nextToken": token}

    def find(self, arn: str) -> Any:
        """Any taggable resource by ARN."""
        for kind in list(self.resources):
            resource = self.resources[kind].get(arn)
            if resource is not None and not resource.is_gone:
                return resource
        raise _not_found(arn)

    # ------------------------------------------------------------------ tags

    def _check_tags(self, tags: list[dict], existing: int = 0) -> None:
        keys = {t["tagKey"] for t in tags}
        if any(k.lower().startswith("aws:") for k in keys):
            raise InvalidInputException("Tag keys starting with 'aws:' are reserved for AWS use.")
        if len(keys) + existing > MAX_TAGS:
            raise TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags.")

    def tag_resource(self, resource_arn: str, tags: list[dict]) -> dict:
        self.find(resource_arn)
        current = self.tagger.get_tag_dict_for_resource(resource_arn)
        self._check_tags(tags, existing=len(set(current) - {t["tagKey"] for t in tags}))
        self.tagger.tag_resource(resource_arn, tags)
        return {}

    def untag_resource(self, resource_arn: str, tag_keys: list[str]) -> dict:
        self.find(resource_arn)
        if len(tag_keys) > MAX_TAGS:
            raise TooManyTagKeysException(f"At most {MAX_TAGS} tag keys can be removed in one request.")
        self.tagger.untag_resource_using_names(resource_arn, tag_keys)
        return {}

    def list_tags_for_resource(self, resource_arn: str) -> dict:
        self.find(resource_arn)
        return self.tagger.list_tags_for_resource(resource_arn)

    # ------------------------------------------------------------------ dataset groups

    def create_dataset_group(self, name: str, role_arn: str | None = None, kms_key_arn: str | None = None,
                             domain: str | None = None, tags: list[dict] | None = None) -> dict:
        if bool(role_arn) != bool(kms_key_arn) and kms_key_arn:
            raise InvalidInputException("A roleArn is required when a kmsKeyArn is given.")
        active = [g for g in self._live("dataset_group") if g.status == "ACTIVE"]
        if len(active) >= QUOTA_DATASET_GROUPS:
            raise LimitExceededException(
                f"Cannot create a dataset group. More than {QUOTA_DATASET_GROUPS} resources in ACTIVE state.")
        group = DatasetGroup(self.arn(f"dataset-group/{name}"), name, domain, role_arn, kms_key_arn)
        self._add("dataset_group", group, tags, "Dataset group")
        return {"datasetGroupArn": group.arn, "domain": domain}

    def describe_dataset_group(self, dataset_group_arn: str) -> dict:
        return {"datasetGroup": self._describe("dataset_group", dataset_group_arn)}

    def list_dataset_groups(self, next_token: str | None = None, max_results: int | None = None) -> dict:
        return self._list("dataset_group", "datasetGroups", next_token, max_results)

    def delete_dataset_group(self, dataset_group_arn: str) -> dict:
        group = self.get("dataset_group", dataset_group_arn)
        for kind, what in (("dataset", "datasets"), ("event_tracker", "event trackers"), ("solution", "solutions"),
                           ("recommender", "recommenders")):
            if any(r.group is group for r in self._live(kind)):
                raise ResourceInUseException(
                    f"Cannot delete dataset group {group.arn}: it still has {what}. Delete them first.")
        if group.phase == "delete":
            raise ResourceInUseException(f"Dataset group {group.arn} is already being deleted.")
        self._delete(group)
        return {}

    # ------------------------------------------------------------------ schemas

    def create_schema(self, name: str, schema: str, domain: str | None = None) -> dict:
        from ..data import SchemaError, parse_schema

        try:
            parsed = parse_schema(schema, domain)
        except SchemaError as error:
            raise InvalidInputException(str(error)) from None
        if len(self._live("schema")) >= QUOTA_SCHEMAS:
            raise LimitExceededException(f"Cannot create a schema. More than {QUOTA_SCHEMAS} schemas exist.")
        record = Schema(self.arn(f"schema/{name}"), name, schema, domain, parsed)
        self._add("schema", record, None, "Schema")
        return {"schemaArn": record.arn}

    def describe_schema(self, schema_arn: str) -> dict:
        return {"schema": self._describe("schema", schema_arn)}

    def list_schemas(self, next_token: str | None = None, max_results: int | None = None) -> dict:
        return self._list("schema", "schemas", next_token, max_results)

    def delete_schema(self, schema_arn: str) -> dict:
        schema = self.get("schema", schema_arn)
        users = [d.arn for d in self._live("dataset") if d.schema is schema]
        if users:
            raise ResourceInUseException(f"Schema {schema_arn} is used by dataset(s): {', '.join(users)}.")
        self._forget("schema", schema_arn)
        return {}

    # ------------------------------------------------------------------ datasets

    def create_dataset(self, name: str, schema_arn: str, dataset_group_arn: str, dataset_type: str,
                       tags: list[dict] | None = None) -> dict:
        from ..data import DatasetRecords, SchemaError, canonical_dataset_type

        group = self.get("dataset_group", dataset_group_arn)
        schema = self.get("schema", schema_arn)
        try:
            kind = canonical_dataset_type(dataset_type)
        except SchemaError as error:
            raise InvalidInputException(str(error)) from None
        self._require_active(group, "Dataset group")
        if group.domain and kind in ("ACTIONS", "ACTION_INTERACTIONS"):
            raise InvalidInputException(f"{dataset_type} datasets cannot be created in a domain dataset group.")
        if (schema.domain or None) != (group.domain or None):
            raise InvalidInputException(
                f"The schema domain ({schema.domain or 'none'}) does not match the dataset group domain "
                f"({group.domain or 'none'}).")
        try:
            schema.parsed.check_dataset_type(kind, group.domain)
        except SchemaError as error:
            raise InvalidInputException(str(error)) from None
        dataset = Dataset(self.arn(f"dataset/{group.name}/{kind}"), name, group, kind, schema,
                          DatasetRecords(schema.parsed))
        if kind == "ACTION_INTERACTIONS":
            dataset.tracking_id = str(uuid.UUID(int=mock_random.getrandbits(128), version=4))
        self._add("dataset", dataset, tags, "Dataset")
        return {"datasetArn": dataset.arn}

    def describe_dataset(self, dataset_arn: str) -> dict:
        return {"dataset": self._describe("dataset", dataset_arn)}

    def list_datasets(self, dataset_group_arn: str | None = None, next_token: str | None = None,
                      max_results: int | None = None) -> dict:
        return self._list("dataset", "datasets", next_token, max_results,
                          lambda d: dataset_group_arn is None or d.group.arn == dataset_group_arn,
                          scope=dataset_group_arn)

    def delete_dataset(self, dataset_arn: str) -> dict:
        dataset = self.get("dataset", dataset_arn)
        if dataset.phase == "delete":
            raise ResourceInUseException(f"Dataset {dataset_arn} is already being deleted.")
        if any(j.dataset is dataset and j.work_pending for j in self._live("dataset_import_job")):
            raise ResourceInUseException(f"Dataset {dataset_arn} has an import job in progress.")
        if any(v.solution.group is dataset.group and v.work_pending for v in self._live("solution_version")):
            raise ResourceInUseException(
                f"Dataset {dataset_arn} cannot be deleted while a solution version of its group is training.")
        self._delete(dataset)
        return {}

    def update_dataset(self, dataset_arn: str, schema_arn: str) -> dict:
        from ..data import SchemaError, check_schema_update

        dataset = self.get("dataset", dataset_arn)
        schema = self.get("schema", schema_arn)
        self._require_active(dataset, "Dataset")
        if dataset.dataset_type not in ("ITEMS", "USERS"):
            raise InvalidInputException("Only the schema of an Items or Users dataset can be replaced.")
        try:
            schema.parsed.check_dataset_type(dataset.dataset_type, dataset.group.domain)
            check_schema_update(dataset.schema.parsed, schema.parsed)
        except SchemaError as error:
            raise InvalidInputException(str(error)) from None
        dataset.records.replace_schema(schema.parsed)
        dataset.schema = schema
        dataset.enter("update")
        dataset.latest_update = {"schemaArn": schema.arn, "creationDateTime": dataset.updated,
                                 "lastUpdatedDateTime": dataset.updated}
        return {"datasetArn": dataset.arn}

    def datasets_of(self, group: DatasetGroup) -> dict[str, Dataset]:
        return {d.dataset_type: d for d in self._live("dataset") if d.group is group and d.phase != "delete"}

    # ------------------------------------------------------------------ dataset import jobs

    def create_dataset_import_job(self, job_name: str, dataset_arn: str, data_source: dict,
                                  role_arn: str | None = None, tags: list[dict] | None = None,
                                  import_mode: str | None = None,
                                  publish_attribution_metrics_to_s3: bool | None = None) -> dict:
        dataset = self.get("dataset", dataset_arn)
        self._require_active(dataset, "Dataset")
        mode = import_mode or "FULL"
        if mode == "INCREMENTAL" and not dataset.records.has_bulk_import:
            raise InvalidInputException(
                "INCREMENTAL import is only allowed after a first FULL bulk import into the dataset.")
        location = (data_source or {}).get("dataLocation")
        if not location:
            raise InvalidInputException("dataSource.dataLocation is required.")
        running = [j for j in self._live("dataset_import_job") if j.work_pending]
        if len(running) >= QUOTA_IMPORTS_IN_PROGRESS:
            raise LimitExceededException(
                f"More than {QUOTA_IMPORTS_IN_PROGRESS} resources with PENDING or IN_PROGRESS status.")
        job = DatasetImportJob(self.arn(f"dataset-import-job/{job_name}"), job_name, dataset, location, role_arn,
                               mode, publish_attribution_metrics_to_s3)
        self._add("dataset_import_job", job, tags, "Dataset import job")
        job.run(self.executor, lambda: imports.import_dataset(self, job))
        return {"datasetImportJobArn": job.arn}

    def describe_dataset_import_job(self, dataset_import_job_arn: str) -> dict:
        return {"datasetImportJob": self._describe("dataset_import_job", dataset_import_job_arn)}

    def list_dataset_import_jobs(self, dataset_arn: str | None = None, next_token: str | None = None,
                                 max_results: int | None = None) -> dict:
        return self._list("dataset_import_job", "datasetImportJobs", next_token, max_results,
                          lambda j: dataset_arn is None or j.dataset.arn == dataset_arn, scope=dataset_arn)

    # ------------------------------------------------------------------ dataset export jobs

    def create_dataset_export_job(self, job_name: str, dataset_arn: str, role_arn: str, job_output: dict,
                                  ingestion_mode: str | None = None, tags: list[dict] | None = None) -> dict:
        dataset = self.get("dataset", dataset_arn)
        self._require_active(dataset, "Dataset")
        settings = {"ingestionMode": ingestion_mode or "PUT", "roleArn": role_arn, "jobOutput": job_output}
        job = DatasetExportJob(self.arn(f"dataset-export-job/{job_name}"), job_name, dataset, settings)
        self._add("dataset_export_job", job, tags, "Dataset export job")
        job.run(self.executor, lambda: imports.export_dataset(self, job))
        return {"datasetExportJobArn": job.arn}

    def describe_dataset_export_job(self, dataset_export_job_arn: str) -> dict:
        return {"datasetExportJob": self._describe("dataset_export_job", dataset_export_job_arn)}

    def list_dataset_export_jobs(self, dataset_arn: str | None = None, next_token: str | None = None,
                                 max_results: int | None = None) -> dict:
        return self._list("dataset_export_job", "datasetExportJobs", next_token, max_results,
                          lambda j: dataset_arn is None or j.dataset.arn == dataset_arn, scope=dataset_arn)

    # ------------------------------------------------------------------ data deletion jobs

    def create_data_deletion_job(self, job_name: str, dataset_group_arn: str, data_source: dict, role_arn: str,
                                 tags: list[dict] | None = None) -> dict:
        group = self.get("dataset_group", dataset_group_arn)
        self._require_active(group, "Dataset group")
        pending = [j for j in self._live("data_deletion_job") if j.group is group and j.work_pending]
        if len(pending) >= QUOTA_PENDING_DELETIONS_PER_GROUP:
            raise LimitExceededException(
                f"More than {QUOTA_PENDING_DELETIONS_PER_GROUP} data deletion jobs with PENDING status.")
        settings = {"dataSource": data_source, "roleArn": role_arn}
        job = DataDeletionJob(self.arn(f"data-deletion-job/{job_name}"), job_name, group, settings)
        self._add("data_deletion_job", job, tags, "Data deletion job")
        job.run(self.executor, lambda: imports.delete_users(self, job))
        return {"dataDeletionJobArn": job.arn}

    def describe_data_deletion_job(self, data_deletion_job_arn: str) -> dict:
        return {"dataDeletionJob": self._describe("data_deletion_job", data_deletion_job_arn)}

    def list_data_deletion_jobs(self, dataset_group_arn: str | None = None, next_token: str | None = None,
                                max_results: int | None = None) -> dict:
        return self._list("data_deletion_job", "dataDeletionJobs", next_token, max_results,
                          lambda j: dataset_group_arn is None or j.group.arn == dataset_group_arn,
                          scope=dataset_group_arn)

    # ------------------------------------------------------------------ event trackers

    def create_event_tracker(self, name: str, dataset_group_arn: str, tags: list[dict] | None = None) -> dict:
        group = self.get("dataset_group", dataset_group_arn)
        self._require_active(group, "Dataset group")
        if any(t.group is group for t in self._live("event_tracker")):
            raise ResourceAlreadyExistsException(
                f"Dataset group {group.arn} already has an event tracker; only one is allowed.")
        tracker = EventTracker(self.arn(f"event-tracker/{mock_random.get_random_hex(8)}"), name, group,
                               self.account_id, str(uuid.UUID(int=mock_random.getrandbits(128), version=4)))
        self._add("event_tracker", tracker, tags, "Event tracker")
        return {"eventTrackerArn": tracker.arn, "trackingId": tracker.tracking_id}

    def describe_event_tracker(self, event_tracker_arn: str) -> dict:
        return {"eventTracker": self._describe("event_tracker", event_tracker_arn)}

    def list_event_trackers(self, dataset_group_arn: str | None = None, next_token: str | None = None,
                            max_results: int | None = None) -> dict:
        return self._list("event_tracker", "eventTrackers", next_token, max_results,
                          lambda t: dataset_group_arn is None or t.group.arn == dataset_group_arn,
                          scope=dataset_group_arn)

    def delete_event_tracker(self, event_tracker_arn: str) -> dict:
        tracker = self.get("event_tracker", event_tracker_arn)
        self._require_deletable(tracker)
        self._delete(tracker)
        return {}

    def tracker_by_tracking_id(self, tracking_id: str) -> EventTracker | None:
        return next((t for t in self._live("event_tracker") if t.tracking_id == tracking_id), None)

    # ------------------------------------------------------------------ recipes

    def list_recipes(self, recipe_provider: str | None = None, next_token: str | None = None,
                     max_results: int | None = None, domain: str | None = None) -> dict:
        from ..recipes import catalog

        recipes = catalog.list_recipes(recipe_provider or "SERVICE", domain)
        page, token = self._page_static(recipes, next_token, max_results, [recipe_provider, domain],
                                        catalog.recipe_summary)
        return {"recipes": page, "nextToken": token}

    def _page_static(self, items: list[Any], next_token: str | None, max_results: int | None, scope: Any,
                     view: Callable[[Any], dict]) -> tuple[list[dict], str | None]:
        """Pages over a fixed, ordered catalogue: the token is an offset bound to the filters."""
        scope_hash = hashlib.sha256(json.dumps(scope, default=str).encode()).hexdigest()[:16]
        start = 0
        if next_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(next_token.encode()))
                assert token["scope"] == scope_hash
                start = int(token["offset"])
            except Exception:
                raise InvalidNextTokenException("The nextToken provided is invalid.") from None
        limit = max_results or 100
        token = None
        if start + limit < len(items):
            token = base64.urlsafe_b64encode(
                json.dumps({"scope": scope_hash, "offset": start + limit}).encode()).decode()
        return [view(r) for r in items[start:start + limit]], token

    def describe_recipe(self, recipe_arn: str) -> dict:
        from ..recipes import catalog

        recipe = catalog.recipe_by_arn(recipe_arn)
        if recipe is None:
            raise _not_found(recipe_arn)
        return {"recipe": catalog.recipe_view(recipe)}

    def describe_algorithm(self, algorithm_arn: str) -> dict:
        from ..recipes import catalog

        algorithm = catalog.algorithm_by_arn(algorithm_arn)
        if algorithm is None:
            raise _not_found(algorithm_arn)
        return {"algorithm": catalog.algorithm_view(algorithm)}

    def describe_feature_transformation(self, feature_transformation_arn: str) -> dict:
        from ..recipes import catalog

        transformation = catalog.feature_transformation_by_arn(feature_transformation_arn)
        if transformation is None:
            raise _not_found(feature_transformation_arn)
        return {"featureTransformation": catalog.feature_transformation_view(transformation)}

    # ------------------------------------------------------------------ solutions

    def create_solution(self, name: str, dataset_group_arn: str, perform_hpo: bool | None = None,
                        perform_auto_ml: bool | None = None, perform_auto_training: bool | None = None,
                        perform_incremental_update: bool | None = None, recipe_arn: str | None = None,
                        event_type: str | None = None, solution_config: dict | None = None,
                        tags: list[dict] | None = None) -> dict:
        group = self.get("dataset_group", dataset_group_arn)
        config = rules.solution_settings(
            recipe_arn=recipe_arn, perform_hpo=perform_hpo, perform_auto_ml=perform_auto_ml,
            perform_auto_training=perform_auto_training, perform_incremental_update=perform_incremental_update,
            event_type=event_type, solution_config=solution_config, group_domain=group.domain)
        self._require_active(group, "Dataset group")
        active = [s for s in self._live("solution") if s.group is group and s.phase != "delete"]
        if len(active) >= QUOTA_SOLUTIONS_PER_GROUP:
            raise LimitExceededException(
                f"Cannot create a solution. More than {QUOTA_SOLUTIONS_PER_GROUP} resources in ACTIVE state.")
        solution = Solution(self.arn(f"solution/{name}"), name, group, config.pop("recipe"), config)
        self._add("solution", solution, tags, "Solution")
        return {"solutionArn": solution.arn}

    def describe_solution(self, solution_arn: str) -> dict:
        solution = self.get("solution", solution_arn)
        if solution.latest_update is not None:
            solution.latest_update.advance()
        self._apply_solution_update(solution)
        self._auto_train(solution)
        return {"solution": self._describe("solution", solution_arn)}

    def update_solution(self, solution_arn: str, perform_auto_training: bool | None = None,
                        perform_incremental_update: bool | None = None,
                        solution_update_config: dict | None = None) -> dict:
        solution = self.get("solution", solution_arn)
        self._apply_solution_update(solution)
        self._require_active(solution, "Solution")
        if solution.latest_update is not None and solution.latest_update.running:
            raise ResourceInUseException(f"Solution {solution_arn} already has an update in progress.")
        changes = rules.solution_update(solution, perform_auto_training, perform_incremental_update,
                                        solution_update_config or {})
        solution.latest_update = SolutionUpdate(changes)
        return {"solutionArn": solution.arn}

    @staticmethod
    def _apply_solution_update(solution: Solution) -> None:
        update = solution.latest_update
        if update is not None and not update.applied and update.status == "ACTIVE":
            changes = update.changes
            solution.perform_auto_training = changes["performAutoTraining"]
            solution.perform_incremental_update = changes["performIncrementalUpdate"]
            config = dict(solution.solution_config)
            for key, value in changes["solutionUpdateConfig"].items():
                config[key] = value
            if not solution.perform_auto_training:
                config.pop("autoTrainingConfig", None)
            solution.solution_config = config
            update.applied = True

    def _auto_train(self, solution: Solution) -> None:
        """Automatic training (performAutoTraining): a first version within an hour of the solution
        becoming ACTIVE unless a manual one came first, then one per schedule while new data
        arrives. The schedule follows the clock, so freezegun and the like move it."""
        if not solution.perform_auto_training or solution.phase != "create" or solution.status != "ACTIVE":
            return
        versions = [v for v in solution.versions if not v.is_gone]
        if any(v.work_pending for v in versions):
            return
        due = rules.next_automatic_training(solution, versions)
        if due is None or now() < due:
            return
        if versions:
            seen = versions[-1].data_as_of
            fresh = [d for d in self.datasets_of(solution.group).values()
                     if d.dataset_type in ("INTERACTIONS", "ACTION_INTERACTIONS") and d.data_updated > seen]
            if not fresh:
                return
        self._start_version(solution, None, "AUTOTRAIN", "AUTOMATIC", None, None)

    def list_solutions(self, dataset_group_arn: str | None = None, next_token: str | None = None,
                       max_results: int | None = None) -> dict:
        return self._list("solution", "solutions", next_token, max_results,
                          lambda s: dataset_group_arn is None or s.group.arn == dataset_group_arn,
                          scope=dataset_group_arn)

    def delete_solution(self, solution_arn: str) -> dict:
        solution = self.get("solution", solution_arn)
        if solution.phase == "delete":
            raise ResourceInUseException(f"Solution {solution_arn} is already being deleted.")
        versions = [v for v in solution.versions if not v.is_gone]
        if any(v.status in ("CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING") for v in versions):
            raise ResourceInUseException(f"Solution {solution_arn} has a solution version being created.")
        campaigns = [c.arn for c in self._live("campaign") if c.version.solution is solution]
        if campaigns:
            raise ResourceInUseException(
                f"Solution {solution_arn} has versions deployed in campaign(s): {', '.join(campaigns)}.")
        self._delete(solution)
        for version in versions:
            version.enter("delete")
        return {}

    # ------------------------------------------------------------------ solution versions

    def create_solution_version(self, solution_arn: str, name: str | None = None,
                                training_mode: str | None = None, tags: list[dict] | None = None) -> dict:
        solution = self.get("solution", solution_arn)
        self._require_active(solution, "Solution")
        mode = training_mode or "FULL"
        if any(v.work_pending for v in solution.versions):
            raise ResourceInUseException(f"Solution {solution_arn} already has a solution version being created.")
        base = rules.check_training_mode(solution, mode)
        running = [v for v in self._live("solution_version") if v.work_pending]
        if len(running) >= QUOTA_VERSIONS_IN_PROGRESS:
            raise LimitExceededException(
                f"More than {QUOTA_VERSIONS_IN_PROGRESS} resources with PENDING or IN_PROGRESS status.")
        if name is not None and any(v.name == name for v in solution.versions if not v.is_gone):
            raise ResourceAlreadyExistsException(f"Solution version {name} already exists in {solution_arn}.")
        version = self._start_version(solution, name, mode, "MANUAL", base, tags)
        return {"solutionVersionArn": version.arn}

    def _start_version(self, solution: Solution, name: str | None, mode: str, training_type: str,
                       base: SolutionVersion | None, tags: list[dict] | None) -> SolutionVersion:
        version_id = mock_random.get_random_hex(8)
        version = SolutionVersion(f"{solution.arn}/{version_id}", name or f"{solution.name}/{version_id}",
                                  solution, mode, training_type)
        version.base_version = base
        self._add("solution_version", version, tags, "Solution version")
        solution.versions.append(version)
        version.run(self.executor, lambda: training.train_solution_version(self, version))
        return version

    def describe_solution_version(self, solution_version_arn: str) -> dict:
        return {"solutionVersion": self._describe("solution_version", solution_version_arn)}

    def list_solution_versions(self, solution_arn: str | None = None, next_token: str | None = None,
                               max_results: int | None = None) -> dict:
        if solution_arn is not None:
            self._auto_train(self.get("solution", solution_arn))
        return self._list("solution_version", "solutionVersions", next_token, max_results,
                          lambda v: solution_arn is None or v.solution.arn == solution_arn, scope=solution_arn)

    def stop_solution_version_creation(self, solution_version_arn: str) -> dict:
        version = self.get("solution_version", solution_version_arn)
        status = version.status
        if status not in ("CREATE PENDING", "CREATE IN_PROGRESS"):
            raise ResourceInUseException(
                f"Solution version {solution_version_arn} can only be stopped while CREATE PENDING or "
                f"CREATE IN_PROGRESS (status: {status}).")
        version.stop_requested = True
        version.enter("stopped" if status == "CREATE PENDING" else "stop")
        return {}

    def get_solution_metrics(self, solution_version_arn: str) -> dict:
        version = self.get("solution_version", solution_version_arn)
        self._require_active(version, "Solution version")
        return {"solutionVersionArn": version.arn, "metrics": version.metrics or {}}

    def version_for_serving(self, solution_version_arn: str) -> SolutionVersion:
        """A version ARN, or {solutionArn}/$LATEST meaning the solution's latest ACTIVE version."""
        if solution_version_arn.endswith("/$LATEST"):
            solution = self.get("solution", solution_version_arn[: -len("/$LATEST")])
            active = [v for v in solution.versions if not v.is_gone and v.status == "ACTIVE"]
            if not active:
                raise InvalidInputException(f"Solution {solution.arn} has no ACTIVE solution version.")
            return active[-1]
        version = self.get("solution_version", solution_version_arn)
        self._require_active(version, "Solution version")
        return version

    # ------------------------------------------------------------------ campaigns

    def create_campaign(self, name: str, solution_version_arn: str, min_provisioned_tps: int | None = None,
                        campaign_config: dict | None = None, tags: list[dict] | None = None) -> dict:
        config = dict(campaign_config or {})
        rules.check_campaign_config(solution_version_arn, config)
        version = self.version_for_serving(solution_version_arn)
        rules.check_servable(version, config)
        group = version.solution.group
        active = [c for c in self._live("campaign") if c.version.solution.group is group and c.phase != "delete"]
        if len(active) >= QUOTA_CAMPAIGNS_PER_GROUP:
            raise LimitExceededException(
                f"Cannot create a campaign. More than {QUOTA_CAMPAIGNS_PER_GROUP} resources in ACTIVE state. "
                "Please delete some and try again.")
        campaign = Campaign(self.arn(f"campaign/{name}"), name, solution_version_arn, version,
                            min_provisioned_tps or 1, config)
        self._add("campaign", campaign, tags, "Campaign")
        self._deploy(campaign, version)
        return {"campaignArn": campaign.arn}

    def _deploy(self, deployment: Lifecycle, version: SolutionVersion) -> None:
        """What a model needs before it serves (e.g. a large GRU table's projection) is built while
        the campaign or its update is in progress: it becomes ACTIVE once that is done."""
        work = realtime_work(version.model)
        if work is not None:
            deployment.run(self.executor, work)

    def describe_campaign(self, campaign_arn: str) -> dict:
        campaign = self.get("campaign", campaign_arn)
        if campaign.latest_update is not None:
            campaign.latest_update.advance()
        self._apply_campaign_update(campaign)
        return {"campaign": self._describe("campaign", campaign_arn)}

    def list_campaigns(self, solution_arn: str | None = None, next_token: str | None = None,
                       max_results: int | None = None) -> dict:
        return self._list("campaign", "campaigns", next_token, max_results,
                          lambda c: solution_arn is None or c.version.solution.arn == solution_arn,
                          scope=solution_arn)

    def update_campaign(self, campaign_arn: str, solution_version_arn: str | None = None,
                        min_provisioned_tps: int | None = None, campaign_config: dict | None = None) -> dict:
        campaign = self.get("campaign", campaign_arn)
        self._apply_campaign_update(campaign)
        status = campaign.status
        if status not in ("ACTIVE", "CREATE FAILED") or (
                campaign.latest_update is not None and campaign.latest_update.running):
            raise ResourceInUseException(f"Campaign {campaign_arn} cannot be updated while it is {status} "
                                         "or while another update is in progress.")
        wants_metadata = (campaign_config or {}).get("enableMetadataWithRecommendations")
        if wants_metadata and campaign.campaign_config.get("enableMetadataWithRecommendations"):
            raise InvalidInputException(f"Campaign {campaign_arn} already returns metadata with recommendations.")
        version_arn = solution_version_arn or campaign.solution_version_arn
        config = {**campaign.campaign_config, **(campaign_config or {})}
        rules.check_campaign_config(version_arn, config)
        version = self.version_for_serving(version_arn)
        rules.check_servable(version, config)
        campaign.latest_update = CampaignUpdate(
            {"solutionVersionArn": version_arn, "minProvisionedTPS": min_provisioned_tps or campaign.min_provisioned_tps,
             "campaignConfig": config}, version)
        self._deploy(campaign.latest_update, version)
        return {"campaignArn": campaign.arn}

    @staticmethod
    def _apply_campaign_update(campaign: Campaign) -> None:
        """Once an update is ACTIVE the campaign serves its version and settings."""
        update = campaign.latest_update
        if update is not None and not update.applied and update.status == "ACTIVE":
            campaign.solution_version_arn = update.changes["solutionVersionArn"]
            campaign.version = update.version
            campaign.min_provisioned_tps = update.changes["minProvisionedTPS"]
            campaign.campaign_config = update.changes["campaignConfig"]
            update.applied = True

    def delete_campaign(self, campaign_arn: str) -> dict:
        campaign = self.get("campaign", campaign_arn)
        if campaign.phase == "delete":
            raise ResourceInUseException(f"Campaign {campaign_arn} is already being deleted.")
        self._require_deletable(campaign)
        self._delete(campaign)
        return {}

    def serving_campaign(self, campaign_arn: str) -> Campaign:
        """The campaign a runtime request names, with its current version; it must be ACTIVE."""
        campaign = self.get("campaign", campaign_arn)
        self._apply_campaign_update(campaign)
        status = campaign.status
        if status != "ACTIVE":
            raise InvalidInputException(f"Campaign {campaign_arn} is not ACTIVE (status: {status}).")
        if campaign.solution_version_arn.endswith("/$LATEST") and campaign.campaign_config.get(
                "syncWithLatestSolutionVersion"):
            latest = [v for v in campaign.version.solution.versions
                      if not v.is_gone and not v.work_pending and v.status == "ACTIVE"]
            if latest and latest[-1] is not campaign.version:
                campaign.version = latest[-1]
        self._incremental_update(campaign.version)
        return campaign

    def items_mark(self, group: DatasetGroup) -> tuple[Any, int] | None:
        """Where the group's Items records stand now (a training records it before reading them)."""
        items = self.datasets_of(group).get("ITEMS")
        return None if items is None else (items.records, items.records.mark)

    def _incremental_update(self, version: SolutionVersion) -> None:
        """performIncrementalUpdate: Items records that arrived after the version's model last saw
        the catalogue (PutItems, imports) are folded into it on its campaign's next request."""
        model = version.model
        if not version.solution.perform_incremental_update or not hasattr(model, "update_items"):
            return
        from ..data import build_item_records

        with self.lock:
            now_at, seen = self.items_mark(version.solution.group), version.items_mark
            if now_at is None or now_at == seen:
                return
            records = now_at[0]
            since = seen[1] if seen is not None and seen[0] is records else 0
            changed = records.records_since(since)
            if len(changed):
                model.update_items(build_item_records(changed, records.schema))
            version.items_mark = now_at

    # ------------------------------------------------------------------ batch inference jobs

    def create_batch_inference_job(self, job_name: str, solution_version_arn: str, job_input: dict,
                                   job_output: dict, role_arn: str, filter_arn: str | None = None,
                                   num_results: int | None = None, batch_inference_job_config: dict | None = None,
                                   tags: list[dict] | None = None, batch_inference_job_mode: str | None = None,
                                   theme_generation_config: dict | None = None) -> dict:
        version = self.get("solution_version", solution_version_arn)
        self._require_active(version, "Solution version")
        if filter_arn:  # no CreateFilter yet, so no filter ARN can exist
            raise _not_found(filter_arn)
        recipe = version.recipe
        mode = batch_inference_job_mode or "BATCH_INFERENCE"
        if not recipe.supports_batch_inference:
            raise InvalidInputException(f"Recipe {recipe.name} does not support batch inference jobs.")
        if mode == "THEME_GENERATION" and not recipe.supports_theme_generation:
            raise InvalidInputException("THEME_GENERATION needs a solution version trained with aws-similar-items.")
        rules.check_item_exploration(recipe, batch_inference_job_config or {})
        running = [j for j in self._live("batch_inference_job") if j.work_pending]
        if len(running) >= QUOTA_BATCH_JOBS_IN_PROGRESS:
            raise LimitExceededException(
                f"More than {QUOTA_BATCH_JOBS_IN_PROGRESS} resources with PENDING or IN_PROGRESS status.")
        settings = {
            "jobInput": job_input, "jobOutput": job_output, "roleArn": role_arn,
            "numResults": DEFAULT_BATCH_RESULTS if num_results is None else num_results,
            "batchInferenceJobConfig": batch_inference_job_config, "batchInferenceJobMode": mode,
            "themeGenerationConfig": theme_generation_config,
        }
        job = BatchInferenceJob(self.arn(f"batch-inference-job/{job_name}"), job_name, version, settings)
        self._add("batch_inference_job", job, tags, "Batch inference job")
        job.run(self.executor, lambda: batch.run_batch_inference(self, job))
        return {"batchInferenceJobArn": job.arn}

    def describe_batch_inference_job(self, batch_inference_job_arn: str) -> dict:
        return {"batchInferenceJob": self._describe("batch_inference_job", batch_inference_job_arn)}

    def list_batch_inference_jobs(self, solution_version_arn: str | None = None, next_token: str | None = None,
                                  max_results: int | None = None) -> dict:
        return self._list("batch_inference_job", "batchInferenceJobs", next_token, max_results,
                          lambda j: solution_version_arn is None or j.version.arn == solution_version_arn,
                          scope=solution_version_arn)

    # ------------------------------------------------------------------ batch segment jobs

    def create_batch_segment_job(self, job_name: str, solution_version_arn: str, job_input: dict, job_output: dict,
                                 role_arn: str, filter_arn: str | None = None, num_results: int | None = None,
                                 tags: list[dict] | None = None) -> dict:
        version = self.get("solution_version", solution_version_arn)
        self._require_active(version, "Solution version")
        if filter_arn:  # no CreateFilter yet, so no filter ARN can exist
            raise _not_found(filter_arn)
        if version.recipe.runtime_api != "segment":
            raise InvalidInputException(
                f"Batch segment jobs need a USER_SEGMENTATION solution version; {version.arn} was trained with "
                f"{version.recipe.name}.")
        running = [j for j in self._live("batch_segment_job") if j.work_pending]
        if len(running) >= QUOTA_BATCH_JOBS_IN_PROGRESS:
            raise LimitExceededException(
                f"More than {QUOTA_BATCH_JOBS_IN_PROGRESS} resources with PENDING or IN_PROGRESS status.")
        settings = {"jobInput": job_input, "jobOutput": job_output, "roleArn": role_arn,
                    "numResults": DEFAULT_BATCH_RESULTS if num_results is None else num_results}
        job = BatchSegmentJob(self.arn(f"batch-segment-job/{job_name}"), job_name, version, settings)
        self._add("batch_segment_job", job, tags, "Batch segment job")
        job.run(self.executor, lambda: batch.run_batch_segment(self, job))
        return {"batchSegmentJobArn": job.arn}

    def describe_batch_segment_job(self, batch_segment_job_arn: str) -> dict:
        return {"batchSegmentJob": self._describe("batch_segment_job", batch_segment_job_arn)}

    def list_batch_segment_jobs(self, solution_version_arn: str | None = None, next_token: str | None = None,
                                max_results: int | None = None) -> dict:
        return self._list("batch_segment_job", "batchSegmentJobs", next_token, max_results,
                          lambda j: solution_version_arn is None or j.version.arn == solution_version_arn,
                          scope=solution_version_arn)

    def campaigns_of(self, group: DatasetGroup) -> Iterable[Campaign]:
        return [c for c in self._live("campaign") if c.version.solution.group is group]

    def recommenders_of(self, group: DatasetGroup) -> Iterable[Recommender]:
        return [r for r in self._live("recommender") if r.group is group]

    # ------------------------------------------------------------------ recommenders

    def create_recommender(self, name: str, dataset_group_arn: str, recipe_arn: str,
                           recommender_config: dict | None = None, tags: list[dict] | None = None) -> dict:
        group = self.get("dataset_group", dataset_group_arn)
        recipe = rules.use_case(recipe_arn, group)
        config = dict(recommender_config or {})
        rules.check_recommender_config(recipe, config)
        self._require_active(group, "Dataset group")
        if len(self.recommenders_of(group)) >= QUOTA_RECOMMENDERS_PER_GROUP:
            raise LimitExceededException(
                f"Cannot create a recommender. More than {QUOTA_RECOMMENDERS_PER_GROUP} recommenders exist in "
                f"dataset group {group.arn}.")
        recommender = Recommender(self.arn(f"recommender/{name}"), name, group, recipe, config)
        self._add("recommender", recommender, tags, "Recommender")
        recommender.run(self.executor, lambda: training.train_recommender(self, recommender))
        return {"recommenderArn": recommender.arn}

    def describe_recommender(self, recommender_arn: str) -> dict:
        recommender = self.get("recommender", recommender_arn)
        if recommender.latest_update is not None:
            recommender.latest_update.advance()
        self._apply_recommender_update(recommender)
        return {"recommender": self._describe("recommender", recommender_arn)}

    def list_recommenders(self, dataset_group_arn: str | None = None, next_token: str | None = None,
                          max_results: int | None = None) -> dict:
        return self._list("recommender", "recommenders", next_token, max_results,
                          lambda r: dataset_group_arn is None or r.group.arn == dataset_group_arn,
                          scope=dataset_group_arn)

    def update_recommender(self, recommender_arn: str, recommender_config: dict) -> dict:
        recommender = self.get("recommender", recommender_arn)
        self._apply_recommender_update(recommender)
        self._require_active(recommender, "Recommender")
        if recommender.latest_update is not None and recommender.latest_update.running:
            raise ResourceInUseException(f"Recommender {recommender_arn} already has an update in progress.")
        if recommender_config.get("enableMetadataWithRecommendations") and \
                recommender.recommender_config.get("enableMetadataWithRecommendations"):
            raise InvalidInputException(
                f"Recommender {recommender_arn} already returns metadata with recommendations.")
        config = {**recommender.recommender_config, **recommender_config}
        rules.check_recommender_config(recommender.recipe, config)
        recommender.latest_update = RecommenderUpdate({"recommenderConfig": config})
        return {"recommenderArn": recommender.arn}

    @staticmethod
    def _apply_recommender_update(recommender: Recommender) -> None:
        update = recommender.latest_update
        if update is not None and not update.applied and update.status == "ACTIVE":
            recommender.recommender_config = update.changes["recommenderConfig"]
            update.applied = True

    def stop_recommender(self, recommender_arn: str) -> dict:
        recommender = self.get("recommender", recommender_arn)
        status = recommender.status
        if status != "ACTIVE":
            raise ResourceInUseException(f"Recommender {recommender_arn} can only be stopped when ACTIVE "
                                         f"(status: {status}).")
        recommender.enter("stop")
        return {"recommenderArn": recommender.arn}

    def start_recommender(self, recommender_arn: str) -> dict:
        recommender = self.get("recommender", recommender_arn)
        status = recommender.status
        if status != "INACTIVE":
            raise ResourceInUseException(f"Recommender {recommender_arn} can only be started when INACTIVE "
                                         f"(status: {status}).")
        recommender.enter("start")
        return {"recommenderArn": recommender.arn}

    def delete_recommender(self, recommender_arn: str) -> dict:
        recommender = self.get("recommender", recommender_arn)
        if recommender.phase == "delete":
            raise ResourceInUseException(f"Recommender {recommender_arn} is already being deleted.")
        status = recommender.status
        if status in ("CREATE PENDING", "CREATE IN_PROGRESS"):
            raise ResourceInUseException(f"Recommender {recommender_arn} cannot be deleted while {status}.")
        self._delete(recommender)
        return {}

    def serving_recommender(self, recommender_arn: str) -> Recommender:
        recommender = self.get("recommender", recommender_arn)
        self._apply_recommender_update(recommender)
        status = recommender.status
        if status != "ACTIVE":
            raise InvalidInputException(f"Recommender {recommender_arn} is not ACTIVE (status: {status}).")
        return recommender


personalize_backends = BackendDict(PersonalizeBackend, "personalize")


class DataPlaneBackend(BaseBackend):
    """personalize-runtime and personalize-events keep no state of their own: they answer from
    the personalize backend of the same account and region."""

    @property
    def _url_module(self):
        return urls_beside(self)

    @property
    def control(self) -> PersonalizeBackend:
        return personalize_backends[self.account_id][self.region_name]

__all__ = ["DataPlaneBackend", "PersonalizeBackend", "personalize_backends"]
