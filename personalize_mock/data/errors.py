"""The data layer's exceptions. Each carries a message meant for the user, never a traceback.

How the control plane surfaces them:

* SchemaError: CreateSchema / CreateDataset / UpdateDataset -> InvalidInputException(message).
* ImportFailure: a dataset import job ends CREATE FAILED with failureReason = reason.
* RecordError: PutEvents / PutItems / PutUsers / PutActions -> InvalidInputException(message).
* TrainingDataError: a solution version (or recommender) ends CREATE FAILED with
  failureReason = reason.
"""
from __future__ import annotations


class DataError(Exception):
    """Base class of the data layer's user-facing errors; str(error) is the message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SchemaError(DataError, ValueError):
    """An Avro schema that Amazon Personalize would refuse, or that does not fit a dataset."""


class ImportFailure(DataError):
    """A bulk import that fails; `reason` is the failureReason of the import job.

    `file`, `row` and `column` locate the problem when there is one place to point at (row numbers
    count the header as row 1, so the first data row is row 2).
    """

    def __init__(self, reason: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column


class RecordError(DataError, ValueError):
    """A streamed record (PutEvents / PutItems / PutUsers / PutActions) that does not fit the schema."""


class TrainingDataError(DataError):
    """Data that cannot be trained on; `reason` is the failureReason of the solution version."""

    @property
    def reason(self) -> str:
        return self.message
