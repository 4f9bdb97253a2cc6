"""Dataset import jobs: S3 CSV -> checked records -> the dataset, all or nothing."""
from __future__ import annotations

from typing import Any

from ..control.lifecycle import JobFailure
from . import s3io

_LABELS = {"INTERACTIONS": "Interactions", "ITEMS": "Items", "USERS": "Users", "ACTIONS": "Actions",
           "ACTION_INTERACTIONS": "Action interactions"}


def import_dataset(backend: Any, job: Any) -> None:
    """Runs on a worker thread. A failure raises JobFailure before the dataset is touched, so the
    data imported earlier stays as it was."""
    from ..data.csv_import import ImportFailure, read_csv_records
    from ..data.training import TrainingDataError, check_import_minimum

    dataset = job.dataset
    label = _LABELS[dataset.dataset_type]
    prefix = f"Failed to create a data import job for {label} dataset."
    blobs = s3io.read_objects(backend.account_id, backend.region_name, job.data_location, prefix)
    try:
        frame = read_csv_records(blobs, dataset.schema.parsed, label)
        check_import_minimum(frame, dataset.dataset_type)
    except (ImportFailure, TrainingDataError) as failure:
        raise JobFailure(f"{prefix} {failure}") from None
    dataset.records.import_bulk(frame, job.import_mode)
