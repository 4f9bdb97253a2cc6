"""AWS's rules for solution settings, training modes and campaign settings, one function each."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..protocol.errors import InvalidInputException, ResourceNotFoundException

DEFAULT_SCHEDULE = "rate(7 days)"
_SCHEDULE = re.compile(r"rate\((\d+) days?\)")


def solution_settings(*, recipe_arn: str | None, perform_hpo: bool | None, perform_auto_ml: bool | None,
                      perform_auto_training: bool | None, perform_incremental_update: bool | None,
                      event_type: str | None, solution_config: dict | None, group_domain: str | None) -> dict[str, Any]:
    """Validate CreateSolution's settings and fill in AWS's defaults."""
    from ..recipes import catalog
    from ..recipes.engines import ENGINES

    if bool(perform_auto_ml) == bool(recipe_arn):
        raise InvalidInputException("Give exactly one of recipeArn and performAutoML=true.")
    recipe = None
    if recipe_arn:
        recipe = catalog.recipe_by_arn(recipe_arn)
        if recipe is None:
            raise ResourceNotFoundException(f"Resource {recipe_arn} does not exist.")
        if recipe.domain:
            raise InvalidInputException(
                f"Recipe {recipe_arn} is a {recipe.domain} use case: use CreateRecommender, not CreateSolution.")
        if recipe.engine not in ENGINES:
            raise InvalidInputException(f"Recipe {recipe.name} cannot be trained by personalize-mock yet.")
        if perform_hpo and not recipe.supports_hpo:
            raise InvalidInputException(f"Recipe {recipe.name} does not support hyperparameter optimization.")
        if perform_incremental_update and not recipe.supports_incremental_update:
            raise InvalidInputException(f"performIncrementalUpdate is not supported by recipe {recipe.name}.")

    config = dict(solution_config or {})
    try:
        if recipe is not None:
            catalog.hyperparameters_for(recipe, config.get("algorithmHyperParameters") or {},
                                        config.get("featureTransformationParameters") or {})
            if perform_hpo:
                hpo_config = config.get("hpoConfig") or {}
                catalog.hpo_search_space(recipe, hpo_config.get("algorithmHyperParameterRanges"),
                                         config.get("algorithmHyperParameters"))
                catalog.hpo_resource_config(recipe, hpo_config.get("hpoResourceConfig"))
        else:
            for arn in (config.get("autoMLConfig") or {}).get("recipeList") or []:
                candidate = catalog.recipe_by_arn(arn)
                if candidate is None or candidate.recipe_type != "USER_PERSONALIZATION" or candidate.domain \
                        or candidate.engine not in ENGINES:
                    raise ValueError(f"autoMLConfig.recipeList: {arn} is not a trainable USER_PERSONALIZATION recipe.")
    except ValueError as error:
        raise InvalidInputException(str(error)) from None
    if config.get("eventValueThreshold") is not None:
        try:
            float(config["eventValueThreshold"])
        except ValueError:
            raise InvalidInputException(
                f"eventValueThreshold must be a number, got {config['eventValueThreshold']!r}.") from None
    auto_training = True if perform_auto_training is None else perform_auto_training
    if auto_training:
        config["autoTrainingConfig"] = {"schedulingExpression": _schedule(config.get("autoTrainingConfig"))}
    return {
        "recipe": recipe,
        # AutoML tunes its candidates: AWS documents performHPO as implied by performAutoML.
        "performHPO": bool(perform_hpo or perform_auto_ml),
        "performAutoML": bool(perform_auto_ml),
        "performAutoTraining": auto_training,
        "performIncrementalUpdate": bool(perform_incremental_update if perform_incremental_update is not None
                                         else recipe is not None and recipe.supports_incremental_update),
        "eventType": event_type,
        "solutionConfig": config,
    }


def check_training_mode(solution: Any, mode: str) -> Any:
    """The base version an UPDATE refreshes (None for FULL)."""
    if mode == "AUTOTRAIN":
        raise InvalidInputException("trainingMode AUTOTRAIN is reserved for automatic training.")
    if mode != "UPDATE":
        return None
    full = [v for v in solution.versions if v.training_mode == "FULL" and not v.is_gone and v.status == "ACTIVE"]
    recipe = full[-1].recipe if full else solution.recipe
    if recipe is not None and not recipe.supports_update_training_mode:
        raise InvalidInputException(f"trainingMode UPDATE is not supported by recipe {recipe.name}; use FULL.")
    if not full:
        raise InvalidInputException(
            "trainingMode UPDATE needs an ACTIVE solution version trained with trainingMode FULL.")
    return full[-1]


def check_item_exploration(recipe: Any, config: dict) -> None:
    """itemExplorationConfig of a campaign, recommender or batch inference job: only where the
    recipe explores (User-Personalization, Top picks / Recommended for you), with valid values."""
    from ..recipes import catalog

    if config.get("itemExplorationConfig"):
        try:
            catalog.item_exploration_config(recipe, config["itemExplorationConfig"])
        except ValueError as error:
            raise InvalidInputException(f"{error}.") from None


def check_campaign_config(solution_version_arn: str, config: dict) -> None:
    if config.get("syncWithLatestSolutionVersion") and not solution_version_arn.endswith("/$LATEST"):
        raise InvalidInputException(
            "syncWithLatestSolutionVersion requires solutionVersionArn to be {solutionArn}/$LATEST.")


def check_servable(version: Any, config: dict) -> None:
    """What a campaign can deploy: real-time recipes only, exploration only where it exists."""
    recipe = version.recipe
    if recipe.recipe_type == "USER_SEGMENTATION":
        raise InvalidInputException(
            f"Solution versions trained with {recipe.name} serve batch segment jobs only, not campaigns.")
    check_item_exploration(recipe, config)
    if config.get("rankingInfluence") and not recipe.supports_ranking_influence:
        raise InvalidInputException(f"rankingInfluence is not supported by recipe {recipe.name}.")


def _schedule(auto_training_config: dict | None) -> str:
    schedule = (auto_training_config or {}).get("schedulingExpression") or DEFAULT_SCHEDULE
    match = _SCHEDULE.fullmatch(schedule)
    if not match or not 1 <= int(match.group(1)) <= 30:
        raise InvalidInputException(
            f"schedulingExpression must be rate(N day) or rate(N days) with N from 1 to 30, got {schedule!r}.")
    return schedule


def solution_update(solution: Any, perform_auto_training: bool | None, perform_incremental_update: bool | None,
                    update_config: dict) -> dict[str, Any]:
    """UpdateSolution's changes, checked: what latestSolutionUpdate reports and then applies."""
    auto = solution.perform_auto_training if perform_auto_training is None else perform_auto_training
    incremental = solution.perform_incremental_update if perform_incremental_update is None \
        else perform_incremental_update
    if incremental and not (solution.recipe is not None and solution.recipe.supports_incremental_update):
        raise InvalidInputException("performIncrementalUpdate is only supported by the Semantic-Similarity recipe.")
    config: dict[str, Any] = {}
    if auto:
        current = update_config.get("autoTrainingConfig") or solution.solution_config.get("autoTrainingConfig")
        config["autoTrainingConfig"] = {"schedulingExpression": _schedule(current)}
    if "eventsConfig" in update_config:
        config["eventsConfig"] = update_config["eventsConfig"]
    return {"solutionUpdateConfig": config, "performAutoTraining": auto, "performIncrementalUpdate": incremental}


def next_automatic_training(solution: Any, versions: list[Any]) -> datetime | None:
    """When the next automatic version is due: an hour after the solution was created if no
    version exists yet, else one schedule interval after the latest version."""
    if not solution.perform_auto_training:
        return None
    days = int(_SCHEDULE.fullmatch(_schedule(solution.solution_config.get("autoTrainingConfig"))).group(1))
    if not versions:
        return solution.created + timedelta(hours=1)
    return versions[-1].created + timedelta(days=days)


def use_case(recipe_arn: str, group: Any) -> Any:
    """The domain use-case recipe a recommender may use in this dataset group."""
    from ..recipes import catalog
    from ..recipes.engines import ENGINES

    recipe = catalog.recipe_by_arn(recipe_arn)
    if recipe is None:
        raise ResourceNotFoundException(f"Resource {recipe_arn} does not exist.")
    if not group.domain:
        raise InvalidInputException(f"Dataset group {group.arn} has no domain: recommenders need an ECOMMERCE "
                                    "or VIDEO_ON_DEMAND dataset group.")
    if recipe.domain != group.domain:
        raise InvalidInputException(f"Recipe {recipe.name} is not a {group.domain} use case.")
    if recipe.engine not in ENGINES:
        raise InvalidInputException(f"Use case {recipe.name} cannot be trained by personalize-mock yet.")
    return recipe


def check_recommender_config(recipe: Any, config: dict) -> None:
    check_item_exploration(recipe, config)
    rps = config.get("minRecommendationRequestsPerSecond")
    if rps is not None and rps < 1:
        raise InvalidInputException("minRecommendationRequestsPerSecond must be at least 1.")
