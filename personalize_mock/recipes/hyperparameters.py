"""Readers of the hyperparameter strings that the recipe engines are trained with.

Every engine's parse_hyperparameters uses these, so that one value reads (and fails) alike in all
of them. The control plane has already checked the values it passes against the catalogue's AWS
ranges (catalog.hyperparameters_for); the engines enforce what they can run, usually a wider range,
plus engine-only settings that tests and benchmarks pass directly. A ValueError's text reaches the
user as the reason a training job failed, so the messages name the hyperparameter and the value.
"""
from __future__ import annotations

from typing import Mapping


def raw_hyperparameters(hyperparameters: Mapping[str, object] | None) -> dict[str, object]:
    """Keys without their "training." / "data." style prefixes (the last dotted part is the name)."""
    return {str(k).rsplit(".", 1)[-1]: v for k, v in (hyperparameters or {}).items()}


def is_auto(raw: Mapping[str, object], name: str) -> bool:
    """Whether name is absent or "auto" (any case, surrounding spaces ignored)."""
    return str(raw.get(name, "auto")).strip().lower() == "auto"


def integer(raw: Mapping[str, object], name: str, lo: int, hi: int, *, unit: str = "") -> int:
    """raw[name] as an int in [lo, hi]; unit follows the range in the message (" days")."""
    try:
        value = int(str(raw[name]).strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw[name]!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}]{unit}, got {value}")
    return value


def number(raw: Mapping[str, object], name: str, lo: float, hi: float, *, lo_open: bool = False,
           hi_open: bool = False, expected: str = "a number") -> float:
    """raw[name] as a float between lo and hi, each end included unless marked open (nan never
    is). The message prints lo and hi as given: 0 reads "0", 0.0 reads "0.0"."""
    try:
        value = float(str(raw[name]).strip())
    except ValueError:
        raise ValueError(f"{name} must be {expected}, got {raw[name]!r}") from None
    if not (lo < value if lo_open else lo <= value) or not (value < hi if hi_open else value <= hi):
        raise ValueError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}, "
                         f"got {value}")
    return value


def fraction(raw: Mapping[str, object], name: str) -> float:
    """raw[name] as a float in [0, 1] (percentiles, discount factors)."""
    return number(raw, name, 0, 1)


def choice(raw: Mapping[str, object], name: str, values: tuple[str, ...]) -> str:
    """raw[name] lower-cased and stripped, one of values."""
    text = str(raw[name]).strip().lower()
    if text not in values:
        raise ValueError(f"{name} must be {' or '.join(values)}, got {raw[name]!r}")
    return text


def boolean(raw: Mapping[str, object], name: str) -> bool:
    """raw[name] "true" or "false" (any case)."""
    return choice(raw, name, ("true", "false")) == "true"
