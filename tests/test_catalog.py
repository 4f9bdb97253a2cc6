"""The recipe catalogue: API views against the botocore model, listing, hyperparameter rules."""
from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import timezone
from pathlib import Path

import pytest
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from personalize_mock.recipes import catalog
from personalize_mock.recipes.catalog import (
    ALGORITHMS,
    ENGINE_NAMES,
    FEATURE_TRANSFORMATIONS,
    RECIPES,
    TREND_DISCOVERY_FREQUENCIES,
    algorithm_by_arn,
    algorithm_view,
    feature_transformation_by_arn,
    feature_transformation_view,
    hpo_resource_config,
    hpo_search_space,
    hyperparameters_for,
    item_exploration_config,
    list_recipes,
    recipe_by_arn,
    recipe_by_name,
    recipe_summary,
    recipe_view,
    typed_hyperparameters,
    validate_hpo_ranges,
)

MODEL_PATH = (
    Path(__file__).resolve().parent.parent
    / "botocore_models" / "personalize" / "2018-05-22" / "service-2.json"
)


@pytest.fixture(scope="module")
def model() -> ServiceModel:
    with open(MODEL_PATH) as f:
        return ServiceModel(json.load(f))


def assert_valid(model: ServiceModel, operation: str, output: dict) -> None:
    shape = model.operation_model(operation).output_shape
    report = ParamValidator().validate(output, shape)
    assert not report.has_errors(), report.generate_report()


def r(name: str) -> catalog.Recipe:
    recipe = recipe_by_name(name)
    assert recipe is not None, name
    return recipe


CURRENT_CUSTOM = {
    "aws-user-personalization", "aws-user-personalization-v2", "aws-personalized-ranking",
    "aws-personalized-ranking-v2", "aws-popularity-count", "aws-trending-now", "aws-sims",
    "aws-similar-items", "aws-semantic-similarity", "aws-next-best-action", "aws-item-affinity",
    "aws-item-attribute-affinity",
}
ECOMMERCE_USE_CASES = {
    "aws-ecomm-popular-items-by-views", "aws-ecomm-popular-items-by-purchases",
    "aws-ecomm-frequently-bought-together", "aws-ecomm-customers-who-viewed-x-also-viewed",
    "aws-ecomm-recommended-for-you",
}
VOD_USE_CASES = {
    "aws-vod-because-you-watched-x", "aws-vod-more-like-x", "aws-vod-most-popular",
    "aws-vod-trending-now", "aws-vod-top-picks",
}
LEGACY = {"aws-hrnn", "aws-hrnn-metadata", "aws-hrnn-coldstart"}


# ---------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("arn", list(RECIPES))
def test_recipe_view_matches_describe_recipe(model, arn):
    view = recipe_view(RECIPES[arn])
    assert_valid(model, "DescribeRecipe", {"recipe": view})
    assert view["recipeArn"] == arn
    assert view["status"] == "ACTIVE"
    assert view["creationDateTime"].tzinfo is timezone.utc
    assert view["lastUpdatedDateTime"] >= view["creationDateTime"]


@pytest.mark.parametrize("arn", list(ALGORITHMS))
def test_algorithm_view_matches_describe_algorithm(model, arn):
    algorithm = ALGORITHMS[arn]
    view = algorithm_view(algorithm)
    assert_valid(model, "DescribeAlgorithm", {"algorithm": view})
    assert view["algorithmArn"] == arn
    assert view["algorithmImage"]["dockerURI"]
    assert view["trainingInputMode"] == "File"
    # defaults are a string map that covers every range listed
    defaults = view["defaultHyperParameters"]
    assert all(isinstance(v, str) for v in defaults.values())
    ranges = view["defaultHyperParameterRanges"]
    names = [e["name"] for kind in ranges.values() for e in kind]
    assert sorted(names) == sorted(defaults)
    assert all(isinstance(e["isTunable"], bool) for kind in ranges.values() for e in kind)
    if algorithm.tunable:
        budget = view["defaultResourceConfig"]
        assert set(budget) == {"maxNumberOfTrainingJobs", "maxParallelTrainingJobs"}
        assert all(isinstance(v, str) and v.isdigit() for v in budget.values())
    else:
        assert "defaultResourceConfig" not in view


@pytest.mark.parametrize("arn", list(FEATURE_TRANSFORMATIONS))
def test_feature_transformation_view_matches_model(model, arn):
    view = feature_transformation_view(FEATURE_TRANSFORMATIONS[arn])
    assert_valid(model, "DescribeFeatureTransformation", {"featureTransformation": view})
    assert view["featureTransformationArn"] == arn
    assert view["status"] == "ACTIVE"
    assert all(isinstance(v, str) for v in view["defaultParameters"].values())


@pytest.mark.parametrize("domain", [None, "ECOMMERCE", "VIDEO_ON_DEMAND"])
def test_list_recipes_matches_model(model, domain):
    summaries = [recipe_summary(x) for x in list_recipes(domain=domain)]
    assert_valid(model, "ListRecipes", {"recipes": summaries})


def test_user_personalization_algorithm_values():
    view = algorithm_view(r("aws-user-personalization").algorithm)
    assert view["defaultHyperParameters"] == {
        "hidden_dimension": "149", "bptt": "32", "recency_mask": "true",
    }
    ranges = view["defaultHyperParameterRanges"]
    assert {"name": "hidden_dimension", "minValue": 32, "maxValue": 256, "isTunable": True} in (
        ranges["integerHyperParameterRanges"])
    assert ranges["categoricalHyperParameterRanges"] == [
        {"name": "recency_mask", "values": ["true", "false"], "isTunable": True}]
    assert ranges["continuousHyperParameterRanges"] == []
    sims = algorithm_view(r("aws-sims").algorithm)["defaultHyperParameterRanges"]
    assert sims["continuousHyperParameterRanges"] == [
        {"name": "popularity_discount_factor", "minValue": 0.0, "maxValue": 1.0, "isTunable": True}]


def test_documented_arns_and_types():
    pr = recipe_view(r("aws-personalized-ranking"))
    assert pr["algorithmArn"] == "arn:aws:personalize:::algorithm/aws-personalized-ranking"
    assert pr["featureTransformationArn"] == (
        "arn:aws:personalize:::feature-transformation/JSON-percentile-filtering")
    assert pr["recipeType"] == "PERSONALIZED_RANKING"
    pop = recipe_view(r("aws-popularity-count"))
    assert pop["featureTransformationArn"] == "arn:aws:personalize:::feature-transformation/sims"
    assert pop["recipeType"] == "USER_PERSONALIZATION"
    assert recipe_view(r("aws-trending-now"))["algorithmArn"] == (
        "arn:aws:personalize:::algorithm/aws-trending-now-custom")
    assert "featureTransformationArn" not in recipe_view(r("aws-user-personalization-v2"))
    expected_types = {
        "aws-user-personalization": "USER_PERSONALIZATION",
        "aws-user-personalization-v2": "USER_PERSONALIZATION",
        "aws-sims": "RELATED_ITEMS", "aws-similar-items": "RELATED_ITEMS",
        "aws-semantic-similarity": "RELATED_ITEMS",
        "aws-item-affinity": "USER_SEGMENTATION", "aws-item-attribute-affinity": "USER_SEGMENTATION",
        "aws-trending-now": "POPULAR_ITEMS", "aws-next-best-action": "PERSONALIZED_ACTIONS",
        "aws-hrnn": "USER_PERSONALIZATION",
    }
    for name, recipe_type in expected_types.items():
        assert r(name).recipe_type == recipe_type, name


def test_observed_listing_dates():
    summary = recipe_summary(r("aws-user-personalization"))
    assert summary["creationDateTime"].date().isoformat() == "2019-06-10"
    assert r("aws-next-best-action").created.date().isoformat() == "2023-08-11"
    assert r("aws-user-personalization-v2").created.date().isoformat() == "2024-01-01"
    assert r("aws-vod-top-picks").created.date().isoformat() == "2019-06-10"


# ---------------------------------------------------------------------------- catalogue integrity


def test_every_recipe_resolves_its_algorithm_and_feature_transformation():
    for recipe in RECIPES.values():
        view = recipe_view(recipe)
        assert algorithm_by_arn(view["algorithmArn"]) is recipe.algorithm
        if "featureTransformationArn" in view:
            assert feature_transformation_by_arn(view["featureTransformationArn"]) is (
                recipe.feature_transformation)
        assert recipe_by_arn(view["recipeArn"]) is recipe
        assert recipe.engine in ENGINE_NAMES
        assert recipe.runtime_api in {"recommend", "rank", "actions", "segment"}


def test_every_algorithm_and_feature_transformation_is_used():
    used_algorithms = {x.algorithm.arn for x in RECIPES.values()}
    used_fts = {x.feature_transformation.arn for x in RECIPES.values() if x.feature_transformation}
    assert used_algorithms == set(ALGORITHMS)
    assert used_fts == set(FEATURE_TRANSFORMATIONS)


def test_every_engine_trains_some_recipe():
    assert {x.engine for x in RECIPES.values()} == set(ENGINE_NAMES)


def test_catalogue_is_immutable():
    with pytest.raises(TypeError):
        RECIPES["x"] = None  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        r("aws-sims").name = "other"  # type: ignore[misc]


def test_unknown_and_malformed_arns():
    assert recipe_by_arn("arn:aws:personalize:::recipe/aws-nope") is None
    assert recipe_by_arn("aws-sims") is None
    assert recipe_by_arn("arn:aws:personalize:::algorithm/aws-sims") is None
    assert algorithm_by_arn("arn:aws:personalize:::recipe/aws-sims") is None
    assert feature_transformation_by_arn("arn:aws:personalize:::feature-transformation/nope") is None
    assert recipe_by_arn(None) is None  # type: ignore[arg-type]
    assert recipe_by_arn("arn:aws-cn:personalize:::recipe/aws-sims") is r("aws-sims")


def test_engines_and_use_case_fields():
    assert r("aws-hrnn").engine == "aws-user-personalization"
    assert r("aws-hrnn-coldstart").engine == "aws-user-personalization"
    views = r("aws-ecomm-popular-items-by-views")
    assert (views.engine, views.event_type, views.exclude_event_type) == (
        "aws-popularity-count", "View", None)
    rfy = r("aws-ecomm-recommended-for-you")
    assert (rfy.engine, rfy.event_type, rfy.exclude_event_type) == (
        "aws-user-personalization", None, "Purchase")
    assert rfy.supports_item_exploration and rfy.requires_user_id and not rfy.requires_item_id
    bywx = r("aws-vod-because-you-watched-x")
    assert (bywx.engine, bywx.event_type, bywx.exclude_event_type) == ("aws-sims", "Watch", "Watch")
    assert bywx.requires_item_id
    assert r("aws-vod-more-like-x").engine == "aws-similar-items"
    assert "ITEMS" in r("aws-vod-more-like-x").required_datasets
    assert r("aws-vod-trending-now").engine == "aws-trending-now"
    assert not r("aws-vod-trending-now").requires_user_id
    fbt = r("aws-ecomm-frequently-bought-together")
    assert fbt.requires_item_id and not fbt.requires_user_id and fbt.event_type == "Purchase"
    for name in ECOMMERCE_USE_CASES | VOD_USE_CASES:
        recipe = r(name)
        assert not recipe.supports_hpo and not recipe.returns_scores
        assert not recipe.supports_batch_inference


def test_capabilities():
    assert r("aws-user-personalization").supports_update_training_mode
    assert r("aws-hrnn-coldstart").supports_update_training_mode
    assert not r("aws-user-personalization-v2").supports_update_training_mode
    assert r("aws-personalized-ranking").runtime_api == "rank"
    assert r("aws-next-best-action").runtime_api == "actions"
    assert r("aws-item-affinity").supports_batch_segment
    assert not r("aws-trending-now").supports_batch_inference
    assert not r("aws-next-best-action").supports_batch_inference
    assert r("aws-similar-items").supports_theme_generation
    assert r("aws-semantic-similarity").required_datasets == frozenset({"ITEMS"})
    assert r("aws-user-personalization-v2").supports_events_config
    for name in ("aws-user-personalization", "aws-personalized-ranking", "aws-sims",
                 "aws-similar-items", "aws-hrnn"):
        assert r(name).supports_hpo, name
    for name in ("aws-user-personalization-v2", "aws-personalized-ranking-v2", "aws-item-affinity",
                 "aws-item-attribute-affinity", "aws-next-best-action", "aws-popularity-count",
                 "aws-trending-now", "aws-semantic-similarity"):
        assert not r(name).supports_hpo, name


# ---------------------------------------------------------------------------- listing


def test_list_recipes_without_domain_lists_every_offered_recipe_sorted():
    names = [x.name for x in list_recipes()]
    assert names == sorted(names)
    assert set(names) == CURRENT_CUSTOM | ECOMMERCE_USE_CASES | VOD_USE_CASES
    assert not LEGACY & set(names)
    assert list_recipes("SERVICE") == list_recipes()


def test_list_recipes_by_domain():
    ecomm = list_recipes(domain="ECOMMERCE")
    vod = list_recipes(domain="VIDEO_ON_DEMAND")
    assert [x.name for x in ecomm] == sorted(ECOMMERCE_USE_CASES)
    assert [x.name for x in vod] == sorted(VOD_USE_CASES)
    assert all(recipe_summary(x)["domain"] == "ECOMMERCE" for x in ecomm)
    assert all("domain" not in recipe_summary(x) for x in list_recipes() if x.domain is None)


def test_list_recipes_rejects_bad_arguments():
    with pytest.raises(ValueError):
        list_recipes(recipe_provider="CUSTOM")
    with pytest.raises(ValueError):
        list_recipes(domain="RETAIL")


def test_legacy_recipes_stay_describable():
    for name in LEGACY:
        recipe = recipe_by_arn(f"arn:aws:personalize:::recipe/{name}")
        assert recipe is not None and recipe.legacy
        assert recipe.supports_hpo
    assert hyperparameters_for(r("aws-hrnn"))["hidden_dimension"] == "43"


# ---------------------------------------------------------------------------- hyperparameters


def test_defaults_merge_with_user_values():
    merged = hyperparameters_for(
        r("aws-user-personalization"),
        {"hidden_dimension": "55", "recency_mask": "False"},
        {"max_user_history_length_percentile": "0.95"},
    )
    assert merged == {
        "hidden_dimension": "55", "bptt": "32", "recency_mask": "false",
        "min_user_history_length_percentile": "0.0", "max_user_history_length_percentile": "0.95",
    }
    assert hyperparameters_for(r("aws-sims")) == {
        "popularity_discount_factor": "0.5", "min_cointeraction_count": "3",
        "min_user_history_length_percentile": "0.005", "max_user_history_length_percentile": "0.995",
        "min_item_interaction_count_percentile": "0.01", "max_item_interaction_count_percentile": "0.9",
    }
    popularity = hyperparameters_for(r("aws-popularity-count"), {}, None)
    assert popularity["min_user_history_length_percentile"] == "0.005"
    assert hyperparameters_for(r("aws-user-personalization-v2")) == {"apply_recency_bias": "true"}
    assert hyperparameters_for(r("aws-next-best-action")) == {"action_optimization_period": "14"}
    assert hyperparameters_for(r("aws-semantic-similarity")) == {}


def test_domain_recipes_get_their_engine_defaults():
    assert hyperparameters_for(r("aws-vod-top-picks"))["hidden_dimension"] == "149"
    assert hyperparameters_for(r("aws-vod-trending-now")) == {"trend_discovery_frequency": "2 hours"}


def test_trend_discovery_frequency_spellings():
    trending = r("aws-trending-now")
    for given, canonical in [("30 minutes", "30 minutes"), ("30 min", "30 minutes"),
                             ("1h", "1 hour"), ("3h", "3 hours"), ("1 Day", "1 day"),
                             ("2  hours", "2 hours")]:
        merged = hyperparameters_for(trending, None, {"trend_discovery_frequency": given})
        assert merged["trend_discovery_frequency"] == canonical
        assert canonical in TREND_DISCOVERY_FREQUENCIES
    with pytest.raises(ValueError, match="not one of"):
        hyperparameters_for(trending, None, {"trend_discovery_frequency": "5 minutes"})


@pytest.mark.parametrize(
    "recipe, algorithm, featurization, message",
    [
        ("aws-user-personalization", {"hidden_dimension": "300"}, None, "outside its range"),
        ("aws-user-personalization", {"hidden_dimension": "31"}, None, "outside its range"),
        ("aws-user-personalization", {"hidden_dimension": "55.5"}, None, "must be an integer"),
        ("aws-user-personalization", {"hidden_dimension": "abc"}, None, "must be an integer"),
        ("aws-user-personalization", {"recency_mask": "yes"}, None, "not one of"),
        ("aws-user-personalization", {"learning_rate": "0.1"}, None, "Unknown hyperparameter"),
        ("aws-user-personalization", None, {"max_user_history_length_percentile": "1.5"},
         "outside its range"),
        ("aws-user-personalization", None, {"max_user_history_length_percentile": "nan"},
         "finite"),
        ("aws-user-personalization", None, {"max_user_history_length_percentile": "high"},
         "must be a number"),
        ("aws-user-personalization", {"min_user_history_length_percentile": "0.1"}, None,
         "featureTransformationParameters"),
        ("aws-user-personalization", None, {"bptt": "10"}, "algorithmHyperParameters"),
        ("aws-user-personalization", {"hidden_dimension": 55}, None, "string"),
        ("aws-user-personalization-v2", {"hidden_dimension": "100"}, None, "Unknown hyperparameter"),
        ("aws-sims", {"min_cointeraction_count": "11"}, None, "outside its range"),
        ("aws-next-best-action", None, {"action_optimization_period": "6"}, "outside its range"),
        ("aws-hrnn-coldstart", None, {"cold_start_max_duration": "0"}, "outside its range"),
        ("aws-hrnn-coldstart", None, {"cold_start_relative_from": "now"}, "not one of"),
        ("aws-popularity-count", {"hidden_dimension": "100"}, None, "accepted: none"),
        ("aws-similar-items", None, {"anything": "1"}, "Unknown hyperparameter"),
    ],
)
def test_invalid_hyperparameters_raise(recipe, algorithm, featurization, message):
    with pytest.raises(ValueError, match=message):
        hyperparameters_for(r(recipe), algorithm, featurization)


def test_typed_hyperparameters():
    recipe = r("aws-user-personalization")
    typed = typed_hyperparameters(recipe, hyperparameters_for(recipe, {"recency_mask": "false"}))
    assert typed["hidden_dimension"] == 149 and isinstance(typed["hidden_dimension"], int)
    assert typed["recency_mask"] is False
    assert typed["max_user_history_length_percentile"] == pytest.approx(0.99)
    assert typed_hyperparameters(recipe, {"extra": "x"}) == {"extra": "x"}


# ---------------------------------------------------------------------------- HPO


def test_hpo_ranges_are_validated_and_narrowed():
    recipe = r("aws-user-personalization")
    narrowed = validate_hpo_ranges(recipe, {
        "integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 22}],
        "continuousHyperParameterRanges": [],
        "categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["true", "false"]}],
    })
    assert (narrowed["bptt"].min, narrowed["bptt"].max) == (2, 22)
    assert narrowed["bptt"].default == "22"
    assert narrowed["recency_mask"].values == ("true", "false")
    assert validate_hpo_ranges(recipe, None) == {}


def test_hpo_search_space():
    recipe = r("aws-user-personalization")
    space = hpo_search_space(
        recipe,
        {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 4, "maxValue": 8}]},
        {"hidden_dimension": "55"},
    )
    assert [hp.name for hp in space] == ["bptt", "recency_mask"]
    assert (space[0].min, space[0].max) == (4, 8)
    assert [hp.name for hp in hpo_search_space(r("aws-similar-items"))] == [
        "item_id_hidden_dim", "item_metadata_hidden_dim"]


@pytest.mark.parametrize(
    "recipe, ranges, message",
    [
        ("aws-item-affinity", {}, "does not support"),
        ("aws-user-personalization-v2", None, "does not support"),
        ("aws-vod-top-picks", {}, "does not support"),
        ("aws-user-personalization",
         {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 1, "maxValue": 10}]},
         "outside the allowed range"),
        ("aws-user-personalization",
         {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 20, "maxValue": 10}]},
         "greater than"),
        ("aws-user-personalization",
         {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 2.5, "maxValue": 10}]},
         "integer"),
        ("aws-user-personalization",
         {"continuousHyperParameterRanges": [{"name": "bptt", "minValue": 2.0, "maxValue": 10.0}]},
         "cannot be given in"),
        ("aws-user-personalization",
         {"integerHyperParameterRanges": [{"name": "depth", "minValue": 2, "maxValue": 10}]},
         "Unknown hyperparameter"),
        ("aws-user-personalization",
         {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 10},
                                          {"name": "bptt", "minValue": 3, "maxValue": 9}]},
         "more than one"),
        ("aws-user-personalization",
         {"categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["maybe"]}]},
         "not one of"),
        ("aws-user-personalization",
         {"categoricalHyperParameterRanges": [{"name": "recency_mask", "values": []}]},
         "at least one"),
        ("aws-similar-items",
         {"continuousHyperParameterRanges": [
             {"name": "popularity_discount_factor", "minValue": 0.1, "maxValue": 0.2}]},
         "not tunable"),
        ("aws-user-personalization", {"floatRanges": []}, "Unknown member"),
    ],
)
def test_invalid_hpo_ranges_raise(recipe, ranges, message):
    with pytest.raises(ValueError, match=message):
        validate_hpo_ranges(r(recipe), ranges)


def test_hpo_resource_config():
    sims = r("aws-sims")
    defaults = hpo_resource_config(sims)
    assert defaults == {
        key: int(value) for key, value in algorithm_view(sims.algorithm)["defaultResourceConfig"].items()
    }
    given = {"maxNumberOfTrainingJobs": "40", "maxParallelTrainingJobs": "10"}
    assert hpo_resource_config(sims, given) == {
        "maxNumberOfTrainingJobs": 40, "maxParallelTrainingJobs": 10}
    for bad in ({"maxNumberOfTrainingJobs": "41"}, {"maxParallelTrainingJobs": "0"},
                {"maxParallelTrainingJobs": "two"}, {"maxJobs": "3"}):
        with pytest.raises(ValueError):
            hpo_resource_config(sims, bad)
    with pytest.raises(ValueError, match="does not support"):
        hpo_resource_config(r("aws-item-affinity"))


# ---------------------------------------------------------------------------- exploration


def test_item_exploration_config():
    up = r("aws-user-personalization")
    assert item_exploration_config(up) == {"explorationWeight": "0.3", "explorationItemAgeCutOff": "30"}
    given = {"explorationWeight": "0.9", "explorationItemAgeCutOff": "7"}
    assert item_exploration_config(up, given) == given
    assert item_exploration_config(r("aws-vod-top-picks"))["explorationWeight"] == "0.3"
    for bad in ({"explorationWeight": "1.5"}, {"explorationItemAgeCutOff": "0.5"},
                {"explorationRate": "0.1"}):
        with pytest.raises(ValueError):
            item_exploration_config(up, bad)
    with pytest.raises(ValueError, match="not supported"):
        item_exploration_config(r("aws-sims"))
