"""The answer to one request of any of the three services, driven by the models (`respond`), and
the moto response class that feeds it the requests moto routes (decorator mode's stubber, the
werkzeug server). personalize_mock.protocol.inprocess feeds it boto3 calls directly."""
from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores

from .errors import InternalFailure, PersonalizeError, UnknownOperationException
from .models import error_status, find_operation, service_model
from .serialization import parse_body, serialize
from .validation import check_input

log = logging.getLogger("personalize_mock")
_snake_case = functools.lru_cache(maxsize=4096)(camelcase_to_underscores)  # operation and member names: a few hundred


@dataclass(frozen=True)
class Call:
    """One request to a service, however it arrived."""

    service: str  # botocore's name: personalize, personalize-runtime, personalize-events
    method: str  # HTTP method
    path: str  # URI path (rest-json routes by method and path)
    target: str | None  # X-Amz-Target (json routes by it)
    body: bytes | str | None  # the JSON body
    account: str
    region: str


def backend_of(service: str, account: str, region: str) -> Any:
    """The backend serving `service` for an account and region, from moto's registry (where
    personalize_mock.plugin put ours)."""
    import moto.backends

    return moto.backends.get_backend(service)[account][region]


def respond(call: Call) -> tuple[int, dict[str, str], str]:
    """(status, headers, JSON body) of a call: parse the body along the operation's input shape,
    check it, call backend.<snake_case(operation)>(**params), serialise the result along the output
    shape; an AWS-shaped error where any step says no."""
    model = service_model(call.service)
    content_type = "application/x-amz-json-1.1" if model.protocol == "json" else "application/json"
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
    try:
        operation = find_operation(call.service, call.method, call.path, call.target)
        if operation is None:
            raise UnknownOperationException(
                f"No operation of {call.service} matches {call.method} {call.path}"
                + (f" ({call.target})" if call.target else ""))
        method = getattr(backend_of(call.service, call.account, call.region), _snake_case(operation.name), None)
        if method is None:
            raise UnknownOperationException(f"personalize-mock does not implement {operation.name} yet.")
        params = parse_body(call.body, operation.input_shape)
        check_input(params, operation.input_shape)
        result = method(**{_snake_case(k): v for k, v in params.items()})
        return 200, headers, json.dumps(serialize(result or {}, operation.output_shape))
    except PersonalizeError as error:
        return _error(call.service, error, headers)
    except Exception as exc:  # a defect of ours: answer cleanly, keep the traceback in the log
        log.exception("personalize_mock: unexpected error in %s", call.service)
        return _error(call.service, InternalFailure(f"{type(exc).__name__}: {exc}"), headers, status=500)


def _error(service: str, error: PersonalizeError, headers: dict, status: int | None = None):
    headers["x-amzn-ErrorType"] = error.code
    status = status or error_status(service, error.code)
    return status, headers, json.dumps({"__type": error.code, "message": error.message})


class ModelDrivenResponse(BaseResponse):
    """A service's routes in moto: moto's BaseResponse does the transport work (body, headers,
    region, account) for decorator mode and the werkzeug server; `respond` does the rest.
    Subclasses name the botocore service."""

    SERVICE: str = ""

    def __init__(self) -> None:
        super().__init__(service_name=self.SERVICE)

    def call_action(self):
        return respond(Call(self.SERVICE, self.method, self.path, self.headers.get("X-Amz-Target"), self.body,
                            self.current_account, self.region))
