"""Training a solution version: the dataset group's data -> TrainingData -> an engine's model and
its offline metrics on the held-out split, with HPO and AutoML when the solution asks for them."""
from __future__ import annotations

import json
import time
from typing import Any

from ..control.lifecycle import JobFailure
from ..recipes.base import realtime_work

# One seed for every training: the same data and settings always give the same model.
TRAINING_SEED = 42
# AutoML's default objective and candidates (AWS's AutoML chose among user-personalization recipes).
AUTOML_DEFAULT_METRIC = "precision_at_25"
MAX_COLD_ITEMS = 80_000  # HRNN-Coldstart's documented upper bound (spec recipes-runtime.md §6.4)
# What a recipe that can do without interactions (Semantic-Similarity) trains with when the
# dataset group has no Interactions dataset: an empty one with the required fields.
_NO_INTERACTIONS_SCHEMA = json.dumps({
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
    "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
               {"name": "TIMESTAMP", "type": "long"}]})


def check_required_data(recipe: Any, datasets: dict) -> None:
    """A training fails when the dataset group lacks a dataset its recipe needs (recipe None:
    AutoML, which chooses among recipes that need Interactions only), or when the recipe learns
    from item text (Semantic-Similarity) and the Items schema has no itemName or textual field."""
    from ..data import dataset_label

    required = recipe.required_datasets if recipe is not None else {"INTERACTIONS"}
    missing = sorted(required - datasets.keys())
    if missing == ["INTERACTIONS"]:
        raise JobFailure("Create failed. The dataset group has no Interactions dataset.")
    if missing:
        labels = [dataset_label(kind) for kind in missing]
        names = " and ".join(f"{'an' if label[0] in 'AEIOU' else 'a'} {label} dataset" for label in labels)
        raise JobFailure(f"Create failed. {recipe.name} needs {names} in the dataset group.")
    if recipe is not None and recipe.requires_item_text:
        fields = datasets["ITEMS"].records.schema.fields
        if not any(f.item_name for f in fields) or not any(f.textual for f in fields):
            raise JobFailure(f"Create failed. {recipe.name} needs an Items schema with a string field that has "
                             "\"itemName\": true (the item's title) and at least one textual field.")


def build_training_data(backend: Any, group: Any, solution_config: dict, *, event_type: str | None = None,
                        recipe: Any = None):
    from ..data import DatasetRecords, TrainingDataError, check_training_minimums, parse_schema
    from ..data import build_training_data as build

    datasets = backend.datasets_of(group)
    check_required_data(recipe, datasets)
    interactions = datasets.get("INTERACTIONS")
    records = interactions.records if interactions is not None else DatasetRecords(parse_schema(_NO_INTERACTIONS_SCHEMA))
    config = solution_config or {}
    threshold = config.get("eventValueThreshold")
    columns = config.get("trainingDataConfig") or {}
    items, users = datasets.get("ITEMS"), datasets.get("USERS")
    try:
        data = build(
            records,
            items.records if items is not None else None,
            users.records if users is not None else None,
            event_type=event_type,
            event_value_threshold=float(threshold) if threshold is not None else None,
            excluded_columns=columns.get("excludedDatasetColumns"),
            included_columns=columns.get("includedDatasetColumns"),
            event_parameters=(config.get("eventsConfig") or {}).get("eventParametersList"),
        )
        # Next-Best-Action needs no action interactions, but its item interactions follow the rules;
        # a recipe that learns from item content alone has no minimums.
        if recipe is None or "INTERACTIONS" in recipe.required_datasets:
            check_training_minimums(data, event_type=event_type)
    except TrainingDataError as error:
        raise JobFailure(str(error)) from None
    if recipe is not None and recipe.runtime_api == "actions":
        data = _with_actions(data, datasets)
    return data


def _with_actions(data: Any, datasets: dict) -> Any:
    from dataclasses import replace

    from ..data.actions import build_action_data

    actions, interactions = datasets["ACTIONS"], datasets.get("ACTION_INTERACTIONS")  # check_required_data
    return replace(data, actions=build_action_data(actions.records,
                                                   interactions.records if interactions is not None else None))


def fit_and_evaluate(recipe: Any, data: Any, hyperparameters: dict[str, str]) -> tuple[Any, dict[str, float]]:
    """The served model and its metrics; engines with their own evaluation (segmentation,
    trending, actions) provide train_and_evaluate themselves."""
    from ..recipes.engines import get_engine
    from ..recipes.evaluation import train_and_evaluate

    engine = get_engine(recipe.engine)
    try:
        if hasattr(engine, "train_and_evaluate"):
            return engine.train_and_evaluate(data, hyperparameters, TRAINING_SEED)
        return train_and_evaluate(engine, data, hyperparameters, TRAINING_SEED)
    except ValueError as error:  # an engine's statement that the data cannot train this recipe
        raise JobFailure(f"Create failed. {error}") from None


def split_score(recipe: Any, data: Any, hyperparameters: dict[str, str], parts: Any) -> dict[str, float]:
    """Metrics of one candidate on a fixed held-out split (HPO trials, AutoML candidates)."""
    from ..recipes.engines import get_engine
    from ..recipes.evaluation import evaluate

    model = get_engine(recipe.engine).fit(parts.train, hyperparameters, TRAINING_SEED)
    return evaluate(model, parts)


def tune(recipe: Any, data: Any, config: dict, base: dict[str, str]) -> tuple[dict[str, str], dict]:
    """HPO: the best hyperparameters within the budget, and tunedHPOParams."""
    from ..recipes import catalog, hpo
    from ..recipes.evaluation import split

    hpo_config = config.get("hpoConfig") or {}
    space = catalog.hpo_search_space(recipe, hpo_config.get("algorithmHyperParameterRanges"),
                                     config.get("algorithmHyperParameters"))
    budget = catalog.hpo_resource_config(recipe, hpo_config.get("hpoResourceConfig"))
    objective = (hpo_config.get("hpoObjective") or {}).get("metricName") or hpo.DEFAULT_OBJECTIVE
    parts = split(data, TRAINING_SEED)
    best, _ = hpo.search(lambda c: split_score(recipe, data, c, parts), space, base,
                         budget["maxNumberOfTrainingJobs"], TRAINING_SEED, objective)
    return best.hyperparameters, {"algorithmHyperParameters": hpo.tuned_values(best, space)}


def choose_recipe(backend: Any, solution: Any, data: Any) -> Any:
    """AutoML: train every candidate recipe on the same split and keep the best on the metric."""
    from ..recipes import catalog
    from ..recipes.evaluation import split

    auto_ml = solution.solution_config.get("autoMLConfig") or {}
    metric = auto_ml.get("metricName") or AUTOML_DEFAULT_METRIC
    candidates = [catalog.recipe_by_arn(arn) for arn in auto_ml.get("recipeList") or []] or automl_defaults()
    parts = split(data, TRAINING_SEED)
    scored = []
    for recipe in candidates:
        hyperparameters = catalog.hyperparameters_for(recipe)
        scored.append((split_score(recipe, data, hyperparameters, parts).get(metric, 0.0), recipe))
    best = max(scored, key=lambda pair: pair[0])[1]  # max keeps the first of equals: list order breaks ties
    solution.auto_ml_result = {"bestRecipeArn": best.arn}
    return best


def automl_defaults() -> list[Any]:
    from ..recipes import catalog
    from ..recipes.engines import ENGINES

    return [r for r in catalog.list_recipes() if r.recipe_type == "USER_PERSONALIZATION"
            and r.engine in ENGINES and not r.domain]


def train_solution_version(backend: Any, version: Any) -> None:
    """Runs on a worker thread; the outcome lands on the version only if nobody stopped it."""
    from ..recipes import catalog

    solution = version.solution
    started = time.perf_counter()
    config = solution.solution_config
    items_mark = backend.items_mark(solution.group)  # before reading: a record put meanwhile is folded in later
    data = build_training_data(backend, solution.group, config, event_type=solution.event_type,
                               recipe=solution.recipe)
    base = version.base_version
    if base is not None:
        # trainingMode UPDATE keeps its base's recipe and settings. AWS evaluates no new metrics for
        # an update: GetSolutionMetrics answers those of the FULL training it refreshes.
        version.recipe = recipe = base.recipe
        hyperparameters = dict(base.tuned_hyperparameters)
    else:
        version.recipe = recipe = choose_recipe(backend, solution, data) if solution.perform_auto_ml \
            else solution.recipe
        hyperparameters = catalog.hyperparameters_for(recipe, config.get("algorithmHyperParameters") or {},
                                                      config.get("featureTransformationParameters") or {})
    item_activity = served_item_activity(recipe, hyperparameters, data)
    check_cold_items(recipe, hyperparameters, item_activity)
    if base is not None:
        model, metrics = update_model(recipe, base.model, data), dict(base.metrics or {})
    else:
        if (solution.perform_hpo or solution.perform_auto_ml) and recipe.supports_hpo:
            hyperparameters, version.tuned_hpo_params = tune(recipe, data, config, hyperparameters)
        model, metrics = fit_and_evaluate(recipe, data, hyperparameters)
    if version.stop_requested:
        return
    version.tuned_hyperparameters = hyperparameters
    version.items_mark = items_mark
    version.model = model
    version.metrics = metrics
    version.item_activity = item_activity
    version.training_hours = round((time.perf_counter() - started) / 3600.0, 6)


def update_model(recipe: Any, base_model: Any, data: Any) -> Any:
    """trainingMode UPDATE: the base version's model refreshed with the current data and new items."""
    from ..recipes.engines import get_engine

    try:
        return get_engine(recipe.engine).fit_update(base_model, data, TRAINING_SEED)
    except ValueError as error:
        raise JobFailure(f"Create failed. {error}") from None


def check_cold_items(recipe: Any, hyperparameters: dict[str, str], item_activity: Any) -> None:
    """HRNN-Coldstart trains only when its cold items (as its featurization defines them, the
    items it will recommend from) number between the minimum (100) and MAX_COLD_ITEMS."""
    from ..runtime import exploration
    from ..settings import training_minimums

    if recipe.supports_item_exploration or "cold_start_max_interactions" not in hyperparameters:
        return
    cold = exploration.exploration_for(recipe, None, hyperparameters, item_activity, "")
    n, low = len(cold.pool_items().positions), training_minimums().cold_items
    if not low <= n <= MAX_COLD_ITEMS:
        raise JobFailure(f"Create failed. {recipe.name} needs between {low} and {MAX_COLD_ITEMS:,} cold items "
                         f"(fewer than {cold.max_interactions} interactions, at most {cold.age_cut_off / exploration.DAY:g} "
                         f"days old); the data has {n}.")


def served_item_activity(recipe: Any, hyperparameters: dict[str, str], data: Any) -> Any:
    """The catalogue's interaction counts and ages that serving explores with (None where the
    recipe does not explore)."""
    from ..runtime import exploration

    return exploration.item_activity(data) if exploration.explores(recipe, hyperparameters) else None


def train_recommender(backend: Any, recommender: Any) -> None:
    """A use case: its event type filters the training data, its engine learns, and its built-in
    exclusion (items the user already bought or watched) is gathered per user."""
    from ..recipes import catalog

    recipe = recommender.recipe
    columns = recommender.recommender_config.get("trainingDataConfig") or {}
    data = build_training_data(backend, recommender.group, {"trainingDataConfig": columns},
                               event_type=recipe.event_type, recipe=recipe)
    hyperparameters = catalog.hyperparameters_for(recipe)
    model, metrics = fit_and_evaluate(recipe, data, hyperparameters)
    recommender.excluded = excluded_items(backend, recommender)
    recommender.item_activity = served_item_activity(recipe, hyperparameters, data)
    work = realtime_work(model)
    if work is not None:
        work()  # ready before the recommender is ACTIVE, as a campaign's deployment builds it
    recommender.model, recommender.metrics = model, metrics


def excluded_items(backend: Any, recommender: Any) -> dict[str, set[str]]:
    event_type = recommender.recipe.exclude_event_type
    interactions = backend.datasets_of(recommender.group).get("INTERACTIONS")
    if not event_type or interactions is None:
        return {}
    frame = interactions.records.frame()
    if "EVENT_TYPE" not in frame.columns:
        return {}
    rows = frame[frame["EVENT_TYPE"].astype(str).str.lower() == event_type.lower()]
    return {user: set(items) for user, items in rows.groupby("USER_ID")["ITEM_ID"]}
