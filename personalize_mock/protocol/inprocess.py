"""boto3 calls to the three services answered in process, at botocore's before-call event.

Under moto's mock a boto3 call to a moto service is signed as an HTTP request, rebuilt by moto's
stubber as a werkzeug request, unpacked by moto's BaseResponse, and its answer parsed back by
botocore: about 2 ms a call, more than the engine's own work for a real-time GetRecommendations
(bench/scale.py). Here the request botocore has serialised (method, path, headers, JSON body)
goes straight to dispatch.respond, the core every route uses, and botocore's own parser reads the
answer: results, errors and exceptions are the ones the wire gives.

What a call answered here does not pass through: signing and the events botocore emits between
before-call and after-call (request-created, before-sign, before-send, needs-retry,
before-parse), so a before-send hook sees no request; a 5xx answer (a defect of ours) is not
retried. Where moto would not answer the call itself (no mock active, an endpoint URL that is not
the service's AWS one, a passthrough or non-whitelisted service, moto's request recorder on), the
lane steps aside and the call goes the usual way. Setting PERSONALIZE_MOCK_IN_PROCESS_CALLS=moto
sends every call the usual way (personalize_mock.settings).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.handlers import REGISTER_LAST
from botocore.parsers import create_parser
from moto.core import models as moto_models
from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
from moto.core.utils import get_equivalent_url_in_aws_domain
from moto.moto_api import recorder

from personalize_mock import settings

from . import dispatch

# botocore service name -> moto's backend key (its passthrough and whitelist settings use it)
MOTO_KEYS = {"personalize": "personalize", "personalize-runtime": "personalizeruntime",
             "personalize-events": "personalizeevents"}
_ACCESS_KEY = re.compile(r"[A-Z0-9]{20}")  # what moto reads as an access key in an Authorization header
_NO_ACCESS_KEY = "AKIAEXAMPLE"  # moto's stand-in where a request carries none


def handlers() -> list[tuple]:
    """Entries for botocore's BUILTIN_HANDLERS (every session made later has them): the last
    handler of the least specific before-call event, so that every before-call handler botocore
    or the user registers, for any service or operation, still sees the call first."""
    return [("before-call", answer_call, REGISTER_LAST)]


def answer_call(model, params: dict, request_signer, context: dict, **_: Any):
    """botocore's before-call handler (every service's calls): (http response, parsed response)
    of a call to one of the three services, or None to let the call go the usual way."""
    service = model.service_model.service_name
    if service not in MOTO_KEYS or settings.in_process_calls() != "direct":
        return None
    region = _served_region(service, params["url"])
    if region is None:
        return None
    headers = params["headers"]
    call = dispatch.Call(service, params["method"], urlsplit(params["url"]).path, headers.get("X-Amz-Target"),
                         params["body"], _account(headers, request_signer), region)
    status, response_headers, body = dispatch.respond(call)
    http = AWSResponse(params["url"], status, response_headers, _Raw(body.encode("utf-8")))
    return http, _parsed(model, http)


def _served_region(service: str, url: str) -> str | None:
    """The region of a call moto would answer itself (as its stubber decides), else None."""
    if not moto_models.botocore_stubber.enabled or getattr(recorder, "_user_enabled", False):
        return None  # no mock active; or the recorder, which records what the stubber sees
    parsed, _ = get_equivalent_url_in_aws_domain(url)
    clean = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    key = MOTO_KEYS[service]
    endpoint = _url_base(service).match(clean)
    if endpoint is None or passthrough_url(clean) or passthrough_service(key) or not service_whitelisted(key):
        return None  # not this service's AWS endpoint, or moto's settings leave it alone (or refuse it)
    return endpoint.group(1)


@lru_cache(maxsize=None)
def _url_base(service: str) -> re.Pattern:
    return re.compile(r"https?://" + re.escape(service) + r"\.([^./]+)\.amazonaws\.com(/|$)")


def _account(headers: dict, request_signer) -> str:
    """The account moto would serve: MOTO_ACCOUNT_ID, else the x-moto-account-id header, else the
    account of the credentials' access key (moto's BaseResponse.get_current_account)."""
    from moto.iam.models import get_account_id_from

    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    named = next((value for name, value in headers.items() if name.lower() == "x-moto-account-id"), None)
    if named is not None:  # header names are case-blind on the wire
        return named
    credentials = getattr(request_signer, "_credentials", None)  # botocore keeps them there
    access_key = credentials.get_frozen_credentials().access_key if credentials is not None else None
    return get_account_id_from(access_key if access_key and _ACCESS_KEY.fullmatch(access_key) else _NO_ACCESS_KEY)


def _parsed(model, http: AWSResponse) -> dict:
    """The response as botocore's endpoint parses it, modelled error fields included."""
    parser = _parser(model.service_model.resolved_protocol)
    response = convert_to_response_dict(http, model)
    parsed = parser.parse(response, model.output_shape)
    if http.status_code >= 300:
        shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if shape is not None:
            parsed.update(parser.parse(response, shape))
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return parsed


@lru_cache(maxsize=None)
def _parser(protocol: str):
    return create_parser(protocol)  # botocore's parsers keep no state between responses


class _Raw:
    """The body of an answer as AWSResponse reads it (urllib3's stream())."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any):
        yield self._body
