"""Training a solution version: the dataset group's data -> TrainingData -> an engine's model and
its offline metrics on the held-out split."""
from __future__ import annotations

import time
from typing import Any

from ..control.lifecycle import JobFailure

# One seed for every training: the same data and settings always give the same model.
TRAINING_SEED = 42


def build_training_data(backend: Any, solution: Any):
    from ..data import TrainingDataError, check_training_minimums
    from ..data import build_training_data as build

    datasets = backend.datasets_of(solution.group)
    interactions = datasets.get("INTERACTIONS")
    if interactions is None:
        raise JobFailure("Create failed. The dataset group has no Interactions dataset.")
    config = solution.solution_config
    threshold = config.get("eventValueThreshold")
    columns = config.get("trainingDataConfig") or {}
    items, users = datasets.get("ITEMS"), datasets.get("USERS")
    try:
        data = build(
            interactions.records,
            items.records if items is not None else None,
            users.records if users is not None else None,
            event_type=solution.event_type,
            event_value_threshold=float(threshold) if threshold is not None else None,
            excluded_columns=columns.get("excludedDatasetColumns"),
            included_columns=columns.get("includedDatasetColumns"),
            event_parameters=(config.get("eventsConfig") or {}).get("eventParametersList"),
        )
        check_training_minimums(data)
    except TrainingDataError as error:
        raise JobFailure(str(error)) from None
    return data


def train_solution_version(backend: Any, version: Any) -> None:
    """Runs on a worker thread; the outcome lands on the version only if nobody stopped it."""
    from ..recipes import catalog
    from ..recipes.engines import get_engine
    from ..recipes.evaluation import train_and_evaluate

    solution = version.solution
    recipe = solution.recipe
    started = time.perf_counter()
    data = build_training_data(backend, solution)
    config = solution.solution_config
    hyperparameters = catalog.hyperparameters_for(recipe, config.get("algorithmHyperParameters") or {},
                                                  config.get("featureTransformationParameters") or {})
    model, metrics = train_and_evaluate(get_engine(recipe.engine), data, hyperparameters, TRAINING_SEED)
    if version.stop_requested:
        return
    version.model = model
    version.metrics = metrics
    version.training_hours = round((time.perf_counter() - started) / 3600.0, 6)
