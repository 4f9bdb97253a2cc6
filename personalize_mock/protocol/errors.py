"""AWS-shaped errors. The class name is the exception code the SDKs raise."""
from __future__ import annotations


class PersonalizeError(Exception):
    """Raised anywhere below the protocol layer; written as {"__type": code, "message": ...}."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__


class InvalidInputException(PersonalizeError):
    pass


class InvalidNextTokenException(PersonalizeError):
    pass


class LimitExceededException(PersonalizeError):
    pass


class ResourceAlreadyExistsException(PersonalizeError):
    pass


class ResourceInUseException(PersonalizeError):
    pass


class ResourceNotFoundException(PersonalizeError):
    pass


class TooManyTagKeysException(PersonalizeError):
    pass


class TooManyTagsException(PersonalizeError):
    pass


class SerializationException(PersonalizeError):
    """A body that is not JSON, or a value of the wrong wire type (what AWS JSON services answer)."""


class UnknownOperationException(PersonalizeError):
    pass


class InternalFailure(PersonalizeError):
    """A defect of ours: answered as a clean 500, never as a traceback."""
