"""Hyperparameter optimization: a seeded random search over the recipe's tunable ranges.

Every candidate is trained on the same held-out split and scored on the same test users, so the
comparison is fair and repeatable; the first candidate is always the defaults (moved into the
ranges), so HPO never does worse than no HPO on the objective."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable

from .catalog import CATEGORICAL, INTEGER, Hyperparameter

# AWS does not let callers choose the HPO objective (spec recipes-runtime §1.4); ranking quality on
# the held-out newest interactions is what its metrics report, so that is what we maximise.
DEFAULT_OBJECTIVE = "normalized_discounted_cumulative_gain_at_25"


@dataclass
class Trial:
    hyperparameters: dict[str, str]
    metrics: dict[str, float]


def _draw(hp: Hyperparameter, rng: random.Random) -> str:
    if hp.kind == CATEGORICAL:
        return str(rng.choice(list(hp.values)))
    if hp.kind == INTEGER:
        return str(rng.randint(int(hp.min), int(hp.max)))
    lo, hi = float(hp.min), float(hp.max)
    if lo > 0 and hi / lo >= 100:  # wide positive ranges are searched on a log scale
        return repr(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return repr(rng.uniform(lo, hi))


def candidates(space: tuple[Hyperparameter, ...], base: dict[str, str], n: int, seed: int) -> list[dict[str, str]]:
    """n distinct settings: the base values first, then seeded random draws over the space."""
    rng = random.Random(seed)
    first = dict(base)
    for hp in space:
        first[hp.name] = hp.default
    out, seen = [first], {tuple(sorted(first.items()))}
    attempts = 0
    while len(out) < n and attempts < 50 * n:
        attempts += 1
        candidate = dict(base)
        for hp in space:
            candidate[hp.name] = _draw(hp, rng)
        key = tuple(sorted(candidate.items()))
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


def search(evaluate: Callable[[dict[str, str]], dict[str, float]], space: tuple[Hyperparameter, ...],
           base: dict[str, str], n_jobs: int, seed: int, objective: str = DEFAULT_OBJECTIVE) -> tuple[Trial, list[Trial]]:
    """Run up to n_jobs trials; return the best (ties: the earlier trial) and all of them."""
    trials = [Trial(c, evaluate(c)) for c in candidates(space, base, max(1, n_jobs), seed)]
    best = max(trials, key=lambda t: (t.metrics.get(objective, 0.0), -trials.index(t)))
    return best, trials


def tuned_values(best: Trial, space: tuple[Hyperparameter, ...]) -> dict[str, Any]:
    """What DescribeSolutionVersion reports under tunedHPOParams.algorithmHyperParameters."""
    return {hp.name: best.hyperparameters[hp.name] for hp in space}
