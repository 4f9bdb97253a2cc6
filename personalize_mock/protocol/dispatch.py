"""moto response classes driven by the models: one call_action for every operation of a service."""
from __future__ import annotations

import functools
import json
import logging
import uuid
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores

from .errors import InternalFailure, PersonalizeError, UnknownOperationException
from .models import error_status, find_operation, service_model
from .serialization import parse_body, serialize
from .validation import check_input

log = logging.getLogger("personalize_mock")
_snake_case = functools.lru_cache(maxsize=4096)(camelcase_to_underscores)  # operation and member names: a few hundred


class ModelDrivenResponse(BaseResponse):
    """Subclasses name the botocore service and how to find their backend.

    moto's BaseResponse still does the transport work (body, headers, region, account) for both
    decorator mode and the werkzeug server; everything about the API comes from the model."""

    SERVICE: str = ""

    def __init__(self) -> None:
        super().__init__(service_name=self.SERVICE)

    def backend(self) -> Any:
        raise TypeError(f"{type(self).__name__} must say where its backend is")

    def call_action(self):
        model = service_model(self.SERVICE)
        content_type = "application/x-amz-json-1.1" if model.protocol == "json" else "application/json"
        headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
        try:
            operation = find_operation(self.SERVICE, self.method, self.path, self.headers.get("X-Amz-Target"))
            if operation is None:
                raise UnknownOperationException(
                    f"No operation of {self.SERVICE} matches {self.method} {self.path}"
                    + (f" ({self.headers.get('X-Amz-Target')})" if self.headers.get("X-Amz-Target") else "")
                )
            method = getattr(self.backend(), _snake_case(operation.name), None)
            if method is None:
                raise UnknownOperationException(f"personalize-mock does not implement {operation.name} yet.")
            params = parse_body(self.body, operation.input_shape)
            check_input(params, operation.input_shape)
            result = method(**{_snake_case(k): v for k, v in params.items()})
            body = serialize(result or {}, operation.output_shape)
            return 200, headers, json.dumps(body)
        except PersonalizeError as error:
            return self._error(error, headers)
        except Exception as exc:  # a defect of ours: answer cleanly, keep the traceback in the log
            log.exception("personalize_mock: unexpected error in %s", self.SERVICE)
            return self._error(InternalFailure(f"{type(exc).__name__}: {exc}"), headers, status=500)

    def _error(self, error: PersonalizeError, headers: dict, status: int | None = None):
        headers["x-amzn-ErrorType"] = error.code
        status = status or error_status(self.SERVICE, error.code)
        return status, headers, json.dumps({"__type": error.code, "message": error.message})
