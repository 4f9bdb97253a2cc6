"""Datasets: Avro schemas, bulk CSV import/export, the per-dataset record store, streamed-record
conversion and the training view of a dataset group.

Public API (re-exported here):

* schema: parse_schema, PersonalizeSchema, SchemaField, check_schema_update,
  canonical_dataset_type, dataset_label, camel_case
* csv_io: read_csv_records, write_csv_records, read_user_ids (data deletion input), empty_frame
* store: DatasetRecords
* records: event_to_row, properties_to_row, record_id_field
* training: build_training_data, build_item_records, check_training_minimums, check_import_minimum
* errors: DataError, SchemaError, ImportFailure, RecordError, TrainingDataError

Importing this package loads pandas and fastavro, never torch.
"""
from personalize_mock.data.csv_io import empty_frame, read_csv_records, read_user_ids, write_csv_records
from personalize_mock.data.errors import DataError, ImportFailure, RecordError, SchemaError, TrainingDataError
from personalize_mock.data.records import event_to_row, properties_to_row, record_id_field
from personalize_mock.data.schema import (
    DATASET_TYPES,
    PersonalizeSchema,
    SchemaField,
    camel_case,
    canonical_dataset_type,
    check_schema_update,
    dataset_label,
    parse_schema,
)
from personalize_mock.data.store import DatasetRecords
from personalize_mock.data.training import (
    build_item_records,
    build_training_data,
    check_import_minimum,
    check_training_minimums,
)

__all__ = [
    "DATASET_TYPES",
    "DataError",
    "DatasetRecords",
    "ImportFailure",
    "PersonalizeSchema",
    "RecordError",
    "SchemaError",
    "SchemaField",
    "TrainingDataError",
    "build_item_records",
    "build_training_data",
    "camel_case",
    "canonical_dataset_type",
    "check_import_minimum",
    "check_schema_update",
    "check_training_minimums",
    "dataset_label",
    "empty_frame",
    "event_to_row",
    "parse_schema",
    "properties_to_row",
    "read_csv_records",
    "read_user_ids",
    "record_id_field",
    "write_csv_records",
]
