"""Input checks a real endpoint makes and boto3 does not.

botocore's ParamValidator covers required members, types, minimums and unknown members; the
constraints it skips (max, pattern, enum) are walked here over the same shape. Failures read like
AWS's: "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: ..."."""
from __future__ import annotations

from functools import lru_cache

import regex
from botocore.model import Shape
from botocore.validate import ParamValidator

from .errors import InvalidInputException


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> regex.Pattern:
    # AWS patterns are Java regexes matched against the whole value; `regex` knows \p{...}.
    return regex.compile(pattern.replace(r"\p{ASCII}", r"[\x00-\x7F]"))


def _constraint_errors(value, shape: Shape, path: str, errors: list[str]) -> None:
    if value is None:
        return
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _constraint_errors(value[name], member, f"{path}.{name}" if path else name, errors)
        return
    if shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        for i, item in enumerate(value, start=1):
            _constraint_errors(item, shape.member, f"{path}.{i}.member", errors)
        return
    if shape.type_name == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        for key, item in value.items():
            _constraint_errors(key, shape.key, f"{path}.key", errors)
            _constraint_errors(item, shape.value, f"{path}.{key}", errors)
        return
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        if "pattern" in meta and not _compiled(meta["pattern"]).fullmatch(value):
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        return
    if shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must have value less than or equal to {meta['max']}")


def check_input(params: dict, shape: Shape | None) -> None:
    """Raise InvalidInputException listing every violated constraint of the input shape."""
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise InvalidInputException(report.generate_report())
    errors: list[str] = []
    _constraint_errors(params, shape, "", errors)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise InvalidInputException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
