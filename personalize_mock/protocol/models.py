"""Service models from botocore_models/: the contract for parsing, checking and serialising."""
from __future__ import annotations

import json
from functools import lru_cache

from botocore.model import OperationModel, ServiceModel

from botocore_models import ROOT

SERVICES = ("personalize", "personalize-runtime", "personalize-events")


def _model_dir(service_name: str):
    (version_dir,) = sorted((ROOT / service_name).iterdir())
    return version_dir


@lru_cache(maxsize=None)
def service_model(service_name: str) -> ServiceModel:
    spec = json.loads((_model_dir(service_name) / "service-2.json").read_text())
    return ServiceModel(spec, service_name=service_name)


@lru_cache(maxsize=None)
def paginators(service_name: str) -> dict:
    return json.loads((_model_dir(service_name) / "paginators-1.json").read_text())["pagination"]


@lru_cache(maxsize=None)
def _rest_routes(service_name: str) -> dict[tuple[str, str], str]:
    model = service_model(service_name)
    routes = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes[(http["method"], http["requestUri"].split("?")[0])] = name
    return routes


def find_operation(service_name: str, method: str, path: str, target: str | None) -> OperationModel | None:
    """The operation a request addresses: by X-Amz-Target (json) or by method and path (rest-json).

    None of the three models binds URI labels, so a rest-json route is a fixed path."""
    model = service_model(service_name)
    if model.protocol == "json":
        prefix = model.metadata["targetPrefix"] + "."
        if not target or not target.startswith(prefix):
            return None
        name = target[len(prefix):]
        return model.operation_model(name) if name in model.operation_names else None
    name = _rest_routes(service_name).get((method.upper(), path.rstrip("/") or "/"))
    return model.operation_model(name) if name else None


def error_status(service_name: str, code: str) -> int:
    """HTTP status of a modelled error (runtime/events carry one, the control plane uses 400)."""
    model = service_model(service_name)
    if code in model.shape_names:
        return model.shape_for(code).metadata.get("error", {}).get("httpStatusCode", 400)
    return 400
