"""One class per Personalize resource: its ARN, lifecycle chains and description.

view() returns every member the resource has, named as in the model; the protocol layer projects
it onto the output shape of the operation at hand (Describe* wrapper or List* summary), so each
resource is described in exactly one place."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .lifecycle import CREATE, DELETE, GONE, Lifecycle, now


class Resource(Lifecycle):
    KIND: ClassVar[str]
    ARN_MEMBER: ClassVar[str]
    NAME_MEMBER: ClassVar[str] = "name"

    def __init__(self, arn: str, name: str) -> None:
        super().__init__()
        self.arn = arn
        self.name = name

    def view(self) -> dict[str, Any]:
        return {
            self.NAME_MEMBER: self.name,
            self.ARN_MEMBER: self.arn,
            "status": self.status,
            "creationDateTime": self.created,
            "lastUpdatedDateTime": self.updated,
            "failureReason": self.failure_reason,
        }

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.created, self.arn)


@dataclass
class Schema:
    """Schemas have no status: they exist from CreateSchema until DeleteSchema."""

    arn: str
    name: str
    schema: str  # returned verbatim, exactly as submitted
    domain: str | None
    parsed: Any  # personalize_mock.data.schema.PersonalizeSchema
    created: datetime = field(default_factory=now)
    KIND: ClassVar[str] = "schema"

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schemaArn": self.arn,
            "schema": self.schema,
            "domain": self.domain,
            "creationDateTime": self.created,
            "lastUpdatedDateTime": self.created,
        }

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.created, self.arn)

    is_gone = False


class DatasetGroup(Resource):
    KIND = "dataset_group"
    ARN_MEMBER = "datasetGroupArn"
    # A group is removed as soon as its deletion is picked up: no DELETE IN_PROGRESS is documented.
    CHAINS = {"create": CREATE, "delete": ("DELETE PENDING", GONE)}

    def __init__(self, arn: str, name: str, domain: str | None, role_arn: str | None, kms_key_arn: str | None):
        super().__init__(arn, name)
        self.domain = domain
        self.role_arn = role_arn
        self.kms_key_arn = kms_key_arn

    def view(self) -> dict[str, Any]:
        return {**super().view(), "domain": self.domain, "roleArn": self.role_arn, "kmsKeyArn": self.kms_key_arn}


class Dataset(Resource):
    KIND = "dataset"
    ARN_MEMBER = "datasetArn"
    CHAINS = {
        "create": CREATE,
        "delete": DELETE,
        "update": ("UPDATE PENDING", "UPDATE IN_PROGRESS", "ACTIVE"),
    }

    def __init__(self, arn: str, name: str, group: DatasetGroup, dataset_type: str, schema: Schema, records: Any):
        super().__init__(arn, name)
        self.group = group
        self.dataset_type = dataset_type
        self.schema = schema
        self.records = records  # personalize_mock.data.store.DatasetRecords
        self.latest_update: dict[str, Any] | None = None
        self.tracking_id: str | None = None
        self.data_updated = self.created  # last import or streamed record: auto-training needs new data

    def view(self) -> dict[str, Any]:
        view = {
            **super().view(),
            "datasetGroupArn": self.group.arn,
            "datasetType": self.dataset_type,
            "schemaArn": self.schema.arn,
            "trackingId": self.tracking_id,
        }
        if self.latest_update is not None:
            # The replacement schema is checked when UpdateDataset is called, so the update can
            # only succeed; its status follows the dataset's UPDATE chain.
            status = "ACTIVE" if view["status"] == "ACTIVE" else "CREATE IN_PROGRESS"
            view["latestDatasetUpdate"] = {**self.latest_update, "status": status}
        return view


class DatasetImportJob(Resource):
    KIND = "dataset_import_job"
    ARN_MEMBER = "datasetImportJobArn"
    NAME_MEMBER = "jobName"
    CHAINS = {"create": CREATE}

    def __init__(self, arn: str, name: str, dataset: Dataset, data_location: str, role_arn: str | None,
                 import_mode: str, publish_metrics: bool | None):
        super().__init__(arn, name)
        self.dataset = dataset
        self.data_location = data_location
        self.role_arn = role_arn
        self.import_mode = import_mode
        self.publish_metrics = publish_metrics

    def view(self) -> dict[str, Any]:
        return {
            **super().view(),
            "datasetArn": self.dataset.arn,
            "dataSource": {"dataLocation": self.data_location},
            "roleArn": self.role_arn,
            "importMode": self.import_mode,
            "publishAttributionMetricsToS3": self.publish_metrics,
        }


class Solution(Resource):
    KIND = "solution"
    ARN_MEMBER = "solutionArn"

    def __init__(self, arn: str, name: str, group: DatasetGroup, recipe: Any, config: dict[str, Any]):
        super().__init__(arn, name)
        self.group = group
        self.recipe = recipe  # personalize_mock.recipes.catalog.Recipe, None with performAutoML
        self.perform_hpo: bool = config["performHPO"]
        self.perform_auto_ml: bool = config["performAutoML"]
        self.perform_auto_training: bool = config["performAutoTraining"]
        self.perform_incremental_update: bool = config["performIncrementalUpdate"]
        self.event_type: str | None = config.get("eventType")
        self.solution_config: dict[str, Any] = config["solutionConfig"]
        self.versions: list[SolutionVersion] = []
        self.auto_ml_result: dict[str, str] | None = None
        self.latest_update: SolutionUpdate | None = None

    @property
    def recipe_arn(self) -> str | None:
        return self.recipe.arn if self.recipe is not None else None

    def latest_version(self) -> "SolutionVersion | None":
        live = [v for v in self.versions if not v.is_gone]
        return live[-1] if live else None

    def view(self) -> dict[str, Any]:
        latest = self.latest_version()
        return {
            **super().view(),
            "performHPO": self.perform_hpo,
            "performAutoML": self.perform_auto_ml,
            "performAutoTraining": self.perform_auto_training,
            "performIncrementalUpdate": self.perform_incremental_update,
            "recipeArn": self.recipe_arn,
            "datasetGroupArn": self.group.arn,
            "eventType": self.event_type,
            "solutionConfig": self.solution_config,
            "autoMLResult": self.auto_ml_result,
            "latestSolutionVersion": latest.view() if latest is not None else None,
            "latestSolutionUpdate": self.latest_update.view() if self.latest_update is not None else None,
        }


class SolutionVersion(Resource):
    KIND = "solution_version"
    ARN_MEMBER = "solutionVersionArn"
    CHAINS = {
        "create": CREATE,
        "stop": ("CREATE STOPPING", "CREATE STOPPED"),
        "stopped": ("CREATE STOPPED",),
        "delete": ("DELETE PENDING", GONE),  # versions go with their solution
    }

    def __init__(self, arn: str, name: str, solution: Solution, training_mode: str, training_type: str):
        super().__init__(arn, name)
        self.solution = solution
        self.training_mode = training_mode
        self.training_type = training_type
        self.training_hours: float | None = None
        self.tuned_hpo_params: dict[str, Any] | None = None
        self.tuned_hyperparameters: dict[str, str] | None = None  # every value the model trained with
        self.base_version: SolutionVersion | None = None  # trainingMode UPDATE: the FULL version it refreshes
        self.data_as_of = self.created  # the data it trains on arrived before this moment
        self.recipe = solution.recipe  # with performAutoML: the recipe AutoML picked, set by training
        self.model: Any = None  # the engine's trained Model, set when training succeeds
        self.items_mark: tuple[Any, int] | None = None  # the Items records its model has seen (incremental updates)
        self.metrics: dict[str, float] | None = None
        self.item_activity: Any = None  # what serving explores with (runtime.exploration), set by training
        self.stop_requested = False

    def view(self) -> dict[str, Any]:
        solution = self.solution
        return {
            **super().view(),
            "solutionArn": solution.arn,
            "performHPO": solution.perform_hpo,
            "performAutoML": solution.perform_auto_ml,
            "performIncrementalUpdate": solution.perform_incremental_update,
            "recipeArn": self.recipe.arn if self.recipe is not None else None,
            "eventType": solution.event_type,
            "datasetGroupArn": solution.group.arn,
            "solutionConfig": solution.solution_config,
            "trainingHours": self.training_hours if self.status == "ACTIVE" else None,
            "trainingMode": self.training_mode,
            "trainingType": self.training_type,
            "tunedHPOParams": self.tuned_hpo_params,
        }


class Campaign(Resource):
    KIND = "campaign"
    ARN_MEMBER = "campaignArn"

    def __init__(self, arn: str, name: str, version_arn: str, version: SolutionVersion,
                 min_tps: int, config: dict[str, Any]):
        super().__init__(arn, name)
        self.solution_version_arn = version_arn  # as given: a version ARN or {solutionArn}/$LATEST
        self.version = version  # the version being served
        self.min_provisioned_tps = min_tps
        self.campaign_config = config
        self.latest_update: CampaignUpdate | None = None

    def view(self) -> dict[str, Any]:
        return {
            **super().view(),
            "solutionVersionArn": self.solution_version_arn,
            "minProvisionedTPS": self.min_provisioned_tps,
            "campaignConfig": self.campaign_config,
            "latestCampaignUpdate": self.latest_update.view() if self.latest_update else None,
        }


class Update(Lifecycle):
    """An Update* call's own lifecycle (latestCampaignUpdate, latestSolutionUpdate): the resource
    keeps its old settings until the update is ACTIVE, then `changes` apply once."""

    CHAINS = {"create": CREATE}

    def __init__(self, changes: dict[str, Any]):
        super().__init__()
        self.changes = changes
        self.applied = False

    @property
    def running(self) -> bool:
        return self.status not in ("ACTIVE", "CREATE FAILED")

    def view(self) -> dict[str, Any]:
        return {
            **self.changes,
            "status": self.status,
            "failureReason": self.failure_reason,
            "creationDateTime": self.created,
            "lastUpdatedDateTime": self.updated,
        }


class CampaignUpdate(Update):
    KIND = "campaign_update"

    def __init__(self, changes: dict[str, Any], version: SolutionVersion):
        super().__init__(changes)
        self.version = version  # the version solutionVersionArn resolved to


class SolutionUpdate(Update):
    KIND = "solution_update"


class RecommenderUpdate(Update):
    KIND = "recommender_update"


class EventTracker(Resource):
    KIND = "event_tracker"
    ARN_MEMBER = "eventTrackerArn"

    def __init__(self, arn: str, name: str, group: DatasetGroup, account_id: str, tracking_id: str):
        super().__init__(arn, name)
        self.group = group
        self.account_id = account_id
        self.tracking_id = tracking_id

    def view(self) -> dict[str, Any]:
        return {
            **super().view(),
            "accountId": self.account_id,
            "trackingId": self.tracking_id,
            "datasetGroupArn": self.group.arn,
        }


class Recommender(Resource):
    """A domain use case, trained and served as one resource."""

    KIND = "recommender"
    ARN_MEMBER = "recommenderArn"
    CHAINS = {
        "create": CREATE,
        "delete": DELETE,
        "stop": ("STOP PENDING", "STOP IN_PROGRESS", "INACTIVE"),
        "start": ("START PENDING", "START IN_PROGRESS", "ACTIVE"),
    }

    def __init__(self, arn: str, name: str, group: DatasetGroup, recipe: Any, config: dict[str, Any]):
        super().__init__(arn, name)
        self.group = group
        self.recipe = recipe
        self.recommender_config = config
        self.latest_update: Update | None = None
        self.model: Any = None
        self.metrics: dict[str, float] | None = None
        self.excluded: dict[str, set[str]] = {}  # the use case's built-in exclusion, per user
        self.item_activity: Any = None  # what serving explores with (runtime.exploration), set by training

    def view(self) -> dict[str, Any]:
        view = {
            **super().view(),
            "datasetGroupArn": self.group.arn,
            "recipeArn": self.recipe.arn,
            "recommenderConfig": self.recommender_config,
            "latestRecommenderUpdate": self.latest_update.view() if self.latest_update is not None else None,
        }
        # Absent while the recommender is being created or deleted (model documentation).
        if self.phase != "delete" and not view["status"].startswith("CREATE"):
            view["modelMetrics"] = self.metrics
        return view


class BatchInferenceJob(Resource):
    KIND = "batch_inference_job"
    ARN_MEMBER = "batchInferenceJobArn"
    NAME_MEMBER = "jobName"
    CHAINS = {"create": CREATE}

    def __init__(self, arn: str, name: str, version: SolutionVersion, settings: dict[str, Any]):
        super().__init__(arn, name)
        self.version = version
        self.settings = settings  # the create request's members, as given, with AWS's defaults

    def view(self) -> dict[str, Any]:
        return {**super().view(), **self.settings, "solutionVersionArn": self.version.arn}


class BatchSegmentJob(BatchInferenceJob):
    KIND = "batch_segment_job"
    ARN_MEMBER = "batchSegmentJobArn"


class DatasetExportJob(Resource):
    KIND = "dataset_export_job"
    ARN_MEMBER = "datasetExportJobArn"
    NAME_MEMBER = "jobName"
    CHAINS = {"create": CREATE}

    def __init__(self, arn: str, name: str, dataset: Dataset, settings: dict[str, Any]):
        super().__init__(arn, name)
        self.dataset = dataset
        self.settings = settings

    def view(self) -> dict[str, Any]:
        return {**super().view(), **self.settings, "datasetArn": self.dataset.arn}


class DataDeletionJob(Resource):
    KIND = "data_deletion_job"
    ARN_MEMBER = "dataDeletionJobArn"
    NAME_MEMBER = "jobName"
    # Deletion jobs are the one resource whose statuses carry no CREATE prefix.
    CHAINS = {"create": ("PENDING", "IN_PROGRESS", "COMPLETED")}
    FAILED = {"create": "FAILED"}

    def __init__(self, arn: str, name: str, group: DatasetGroup, settings: dict[str, Any]):
        super().__init__(arn, name)
        self.group = group
        self.settings = settings
        self.num_deleted: int | None = None

    def view(self) -> dict[str, Any]:
        view = {**super().view(), **self.settings, "datasetGroupArn": self.group.arn}
        if view["status"] == "COMPLETED":
            view["numDeleted"] = self.num_deleted
        return view


ALL_KINDS = [
    "dataset_group", "dataset", "dataset_import_job", "solution", "solution_version", "campaign",
    "campaign_update", "solution_update", "recommender", "recommender_update", "event_tracker", "batch_inference_job", "batch_segment_job", "dataset_export_job", "data_deletion_job",
]

__all__ = [
    "ALL_KINDS", "BatchInferenceJob", "BatchSegmentJob", "DataDeletionJob", "DatasetExportJob", "Campaign", "CampaignUpdate", "Recommender", "RecommenderUpdate", "SolutionUpdate", "Update", "Dataset", "DatasetGroup", "DatasetImportJob", "EventTracker",
    "GONE", "Resource", "Schema", "Solution", "SolutionVersion",
]
