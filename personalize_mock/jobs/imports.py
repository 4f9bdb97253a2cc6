"""Dataset import jobs: S3 CSV -> checked records -> the dataset, all or nothing."""
from __future__ import annotations

from typing import Any

from ..control.lifecycle import JobFailure, now
from . import s3io


def import_dataset(backend: Any, job: Any) -> None:
    """Runs on a worker thread. A failure raises JobFailure before the dataset is touched, so the
    data imported earlier stays as it was."""
    from ..data import ImportFailure, check_import_minimum, dataset_label, read_csv_records

    dataset = job.dataset
    label = dataset_label(dataset.dataset_type)
    prefix = f"Failed to create a data import job for {label} dataset."
    blobs = s3io.read_objects(backend.account_id, backend.region_name, job.data_location, prefix)
    try:
        frame = read_csv_records(blobs, dataset.schema.parsed, label)
        check_import_minimum(frame, dataset.dataset_type)
    except ImportFailure as failure:  # its reason already says which dataset, file, row and column
        raise JobFailure(str(failure)) from None
    dataset.records.import_bulk(frame, job.import_mode)
    dataset.data_updated = now()


def export_dataset(backend: Any, job: Any) -> None:
    """Dataset export: the records of the chosen ingestion mode as CSV with a header row."""
    from ..data.csv_io import write_csv_records

    dataset = job.dataset
    frame = dataset.records.frame(job.settings["ingestionMode"])
    destination = job.settings["jobOutput"]["s3DataDestination"]["path"].rstrip("/")
    target = f"{destination}/{job.name}/{job.name}_part_00000.csv"
    s3io.write_object(backend.account_id, backend.region_name, target,
                      write_csv_records(frame, dataset.schema.parsed), "Invalid S3 output path.")


def delete_users(backend: Any, job: Any) -> None:
    """Data deletion: the listed users' metadata and interactions leave every dataset of the group."""
    from ..data import ImportFailure
    from ..data.csv_io import read_user_ids

    location = job.settings["dataSource"]["dataLocation"]
    blobs = s3io.read_objects(backend.account_id, backend.region_name, location, "Failed to read the users to delete.")
    try:
        user_ids = set(read_user_ids(blobs))
    except ImportFailure as failure:
        raise JobFailure(str(failure)) from None
    job.num_deleted = sum(d.records.delete_users(user_ids) for d in backend.datasets_of(job.group).values()
                          if d.dataset_type in ("INTERACTIONS", "USERS", "ACTION_INTERACTIONS"))
