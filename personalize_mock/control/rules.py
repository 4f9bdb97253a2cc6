"""AWS's rules for solution settings, training modes and campaign settings, one function each."""
from __future__ import annotations

import re
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

    if perform_auto_ml:
        raise InvalidInputException(
            "performAutoML is not supported by personalize-mock (AWS's AutoML only chose among the retired "
            "HRNN recipes); pass a recipeArn.")
    if not recipe_arn:
        raise InvalidInputException("A recipeArn is required when performAutoML is false.")
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
    if perform_incremental_update and recipe.name != "aws-semantic-similarity":
        raise InvalidInputException("performIncrementalUpdate is only supported by the Semantic-Similarity recipe.")

    config = dict(solution_config or {})
    try:
        catalog.hyperparameters_for(recipe, config.get("algorithmHyperParameters") or {},
                                    config.get("featureTransformationParameters") or {})
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
        schedule = (config.get("autoTrainingConfig") or {}).get("schedulingExpression") or DEFAULT_SCHEDULE
        match = _SCHEDULE.fullmatch(schedule)
        if not match or not 1 <= int(match.group(1)) <= 30:
            raise InvalidInputException(
                f"schedulingExpression must be rate(N day) or rate(N days) with N from 1 to 30, got {schedule!r}.")
        config["autoTrainingConfig"] = {"schedulingExpression": schedule}
    return {
        "recipe": recipe,
        "performHPO": bool(perform_hpo),
        "performAutoML": False,
        "performAutoTraining": auto_training,
        "performIncrementalUpdate": bool(perform_incremental_update),
        "eventType": event_type,
        "solutionConfig": config,
    }


def check_training_mode(solution: Any, mode: str) -> None:
    if mode == "AUTOTRAIN":
        raise InvalidInputException("trainingMode AUTOTRAIN is reserved for automatic training.")
    if mode == "UPDATE":
        if not solution.recipe.supports_update_training_mode:
            raise InvalidInputException(
                f"trainingMode UPDATE is not supported by recipe {solution.recipe.name}; use FULL.")
        if not any(v.training_mode == "FULL" and not v.is_gone and v.status == "ACTIVE" for v in solution.versions):
            raise InvalidInputException(
                "trainingMode UPDATE needs an ACTIVE solution version trained with trainingMode FULL.")


def _check_exploration(config: dict) -> None:
    exploration = config.get("itemExplorationConfig") or {}
    for key, value in exploration.items():
        if key not in ("explorationWeight", "explorationItemAgeCutOff"):
            raise InvalidInputException(f"Unknown itemExplorationConfig key {key!r}.")
        try:
            number = float(value)
        except ValueError:
            raise InvalidInputException(f"itemExplorationConfig.{key} must be a number, got {value!r}.") from None
        if key == "explorationWeight" and not 0.0 <= number <= 1.0:
            raise InvalidInputException("itemExplorationConfig.explorationWeight must be between 0 and 1.")
        if key == "explorationItemAgeCutOff" and number < 1:
            raise InvalidInputException("itemExplorationConfig.explorationItemAgeCutOff must be at least 1 day.")


def check_campaign_config(solution_version_arn: str, config: dict) -> None:
    if config.get("syncWithLatestSolutionVersion") and not solution_version_arn.endswith("/$LATEST"):
        raise InvalidInputException(
            "syncWithLatestSolutionVersion requires solutionVersionArn to be {solutionArn}/$LATEST.")
    _check_exploration(config)


def check_servable(version: Any, config: dict) -> None:
    """What a campaign can deploy: real-time recipes only, exploration only where it exists."""
    recipe = version.solution.recipe
    if recipe.recipe_type == "USER_SEGMENTATION":
        raise InvalidInputException(
            f"Solution versions trained with {recipe.name} serve batch segment jobs only, not campaigns.")
    if config.get("itemExplorationConfig") and recipe.recipe_type != "USER_PERSONALIZATION":
        raise InvalidInputException(f"itemExplorationConfig is not supported by recipe {recipe.name}.")
