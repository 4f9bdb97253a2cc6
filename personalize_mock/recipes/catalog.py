"""The recipe catalogue: every predefined recipe, algorithm and feature transformation.

One immutable table serves four consumers:

* the control plane (ListRecipes, DescribeRecipe, DescribeAlgorithm, DescribeFeatureTransformation,
  and the CreateSolution / CreateRecommender / CreateCampaign rules) through the ``*_view``
  functions and the ``supports_*`` flags;
* training, through :func:`hyperparameters_for` (defaults merged with the caller's values and
  validated) and the ``engine`` key of each recipe;
* HPO, through :func:`validate_hpo_ranges`, :func:`hpo_search_space` and
  :func:`hpo_resource_config`;
* the runtime and recommenders, through ``runtime_api``, ``requires_user_id`` / ``requires_item_id``,
  ``returns_scores`` and the use-case fields (``event_type``, ``exclude_event_type``).

Sources: shared/spec/control-plane.md §6, §9, §12.1, §16 and shared/spec/recipes-runtime.md §1.
Values marked UNCONFIRMED are reasoned defaults, not facts observed from AWS. Dates of recipes
listed by ListRecipes are the values the real service printed in June 2024 notebook outputs
(creation dates are midnight; the timezone of the printout was the runner's local one, taken as UTC).

Every function here is pure; nothing imports numpy, pandas or torch.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Iterable, Mapping

__all__ = [
    "Hyperparameter",
    "Algorithm",
    "FeatureTransformation",
    "Recipe",
    "RECIPES",
    "ALGORITHMS",
    "FEATURE_TRANSFORMATIONS",
    "ENGINE_NAMES",
    "DOMAINS",
    "TREND_DISCOVERY_FREQUENCIES",
    "ITEM_EXPLORATION_PARAMETERS",
    "HPO_MAX_TRAINING_JOBS",
    "HPO_MAX_PARALLEL_TRAINING_JOBS",
    "recipe_arn",
    "algorithm_arn",
    "feature_transformation_arn",
    "recipe_by_arn",
    "recipe_by_name",
    "algorithm_by_arn",
    "feature_transformation_by_arn",
    "list_recipes",
    "recipe_view",
    "recipe_summary",
    "algorithm_view",
    "feature_transformation_view",
    "hyperparameters_for",
    "typed_hyperparameters",
    "validate_hpo_ranges",
    "hpo_search_space",
    "hpo_resource_config",
    "item_exploration_config",
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

INTEGER, CONTINUOUS, CATEGORICAL = "integer", "continuous", "categorical"
_KINDS = (INTEGER, CONTINUOUS, CATEGORICAL)
ALGORITHM_SCOPE, FEATURIZATION_SCOPE, CAMPAIGN_SCOPE = "algorithm", "featurization", "campaign"
_SCOPES = (ALGORITHM_SCOPE, FEATURIZATION_SCOPE, CAMPAIGN_SCOPE)
RUNTIME_APIS = ("recommend", "rank", "actions", "segment")

USER_PERSONALIZATION = "USER_PERSONALIZATION"
PERSONALIZED_RANKING = "PERSONALIZED_RANKING"
RELATED_ITEMS = "RELATED_ITEMS"
POPULAR_ITEMS = "POPULAR_ITEMS"
USER_SEGMENTATION = "USER_SEGMENTATION"
PERSONALIZED_ACTIONS = "PERSONALIZED_ACTIONS"

ECOMMERCE, VIDEO_ON_DEMAND = "ECOMMERCE", "VIDEO_ON_DEMAND"
DOMAINS = (ECOMMERCE, VIDEO_ON_DEMAND)

# Dataset types as they appear in dataset ARNs (dataset/<group>/<TYPE>).
INTERACTIONS, ITEMS, USERS, ACTIONS = "INTERACTIONS", "ITEMS", "USERS", "ACTIONS"

# Keys of the engine registry (personalize_mock.recipes.engines); every recipe names one.
ENGINE_NAMES = frozenset({
    "aws-user-personalization",
    "aws-user-personalization-v2",
    "aws-popularity-count",
    "aws-personalized-ranking",
    "aws-personalized-ranking-v2",
    "aws-sims",
    "aws-similar-items",
    "aws-semantic-similarity",
    "aws-trending-now",
    "aws-item-affinity",
    "aws-item-attribute-affinity",
    "aws-next-best-action",
})

# Trend discovery frequency (Trending-Now featurization): canonical value -> interval in seconds.
# The current guide's spellings are canonical; the 2023 guide's spellings are accepted as aliases.
TREND_DISCOVERY_FREQUENCIES: Mapping[str, int] = MappingProxyType({
    "30 minutes": 30 * 60,
    "1 hour": 60 * 60,
    "2 hours": 2 * 60 * 60,
    "3 hours": 3 * 60 * 60,
    "1 day": 24 * 60 * 60,
})

# HPO budget limits of hpoConfig.hpoResourceConfig [control-plane §9.1].
HPO_MAX_TRAINING_JOBS = 40
HPO_MAX_PARALLEL_TRAINING_JOBS = 10
# Default budget reported in DescribeAlgorithm.defaultResourceConfig: UNCONFIRMED values.
_DEFAULT_HPO_TRAINING_JOBS = 20
_DEFAULT_HPO_PARALLEL_TRAINING_JOBS = 5

_ARN_PREFIX = "arn:aws:personalize:::"
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:personalize:::(recipe|algorithm|feature-transformation)/(.+)$")
_INT_RE = re.compile(r"^[+-]?\d+$")


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Hyperparameter:
    """One tunable or fixed parameter of an algorithm, a feature transformation or a campaign.

    ``default`` is the string the API reports. Integer and continuous parameters have a range
    (``max`` may be None for "any positive value"); categorical ones a tuple of ``values``
    (booleans are categorical ``("true", "false")``, matched case-insensitively).
    """

    name: str
    default: str
    kind: str
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    tunable: bool = False
    scope: str = ALGORITHM_SCOPE
    min_exclusive: bool = False  # the value must be strictly greater than min
    aliases: tuple[tuple[str, str], ...] = ()  # accepted spelling -> canonical value

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown hyperparameter kind {self.kind!r}")
        if self.scope not in _SCOPES:
            raise ValueError(f"unknown hyperparameter scope {self.scope!r}")
        if self.kind == CATEGORICAL and not self.values:
            raise ValueError(f"categorical hyperparameter {self.name} needs values")
        if self.tunable and self.scope != ALGORITHM_SCOPE:
            raise ValueError(f"only algorithm hyperparameters can be tunable ({self.name})")
        if self.tunable and self.kind != CATEGORICAL and (self.min is None or self.max is None):
            raise ValueError(f"tunable hyperparameter {self.name} needs a bounded range")
        if self.parse(self.default) != self.default:
            raise ValueError(f"default of {self.name} is not in canonical form: {self.default!r}")

    @property
    def is_boolean(self) -> bool:
        return self.kind == CATEGORICAL and set(self.values) == {"true", "false"}

    def _range_text(self) -> str:
        if self.max is None:
            return f"> {self.min}" if self.min_exclusive else f">= {self.min}"
        return f"[{self.min}, {self.max}]"

    def _in_range(self, number: float) -> bool:
        if self.min is not None and (number <= self.min if self.min_exclusive else number < self.min):
            return False
        return self.max is None or number <= self.max

    def parse(self, raw: object) -> str:
        """The canonical string for ``raw``; ValueError when it is not a valid value."""
        if not isinstance(raw, str):
            raise ValueError(
                f"Hyperparameter {self.name} must be given as a string, got {type(raw).__name__}"
            )
        text = raw.strip()
        if self.kind == INTEGER:
            if not _INT_RE.match(text):
                raise ValueError(f"Hyperparameter {self.name} must be an integer, got {raw!r}")
            number = int(text)
            if not self._in_range(number):
                raise ValueError(
                    f"Hyperparameter {self.name} value {number} is outside its range "
                    f"{self._range_text()}"
                )
            return str(number)
        if self.kind == CONTINUOUS:
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"Hyperparameter {self.name} must be a number, got {raw!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"Hyperparameter {self.name} must be a finite number, got {raw!r}")
            if not self._in_range(number):
                raise ValueError(
                    f"Hyperparameter {self.name} value {text} is outside its range {self._range_text()}"
                )
            return text
        # categorical: exact value, alias, or (for booleans and aliases) a case/space-insensitive match
        if text in self.values:
            return text
        folded = " ".join(text.lower().split())
        for value in self.values:
            if value.lower() == folded:
                return value
        for alias, canonical in self.aliases:
            if alias.lower() == folded:
                return canonical
        allowed = ", ".join(self.values)
        raise ValueError(f"Hyperparameter {self.name} value {raw!r} is not one of: {allowed}")

    def coerce(self, canonical: str) -> int | float | bool | str:
        """The Python value of a canonical string: int, float, bool (true/false) or str."""
        if self.kind == INTEGER:
            return int(canonical)
        if self.kind == CONTINUOUS:
            return float(canonical)
        if self.is_boolean:
            return canonical == "true"
        return canonical


@dataclass(frozen=True, kw_only=True)
class Algorithm:
    """A training algorithm (DescribeAlgorithm). Only algorithm-scope hyperparameters live here."""

    name: str
    hyperparameters: tuple[Hyperparameter, ...] = ()
    training_input_mode: str = "File"
    docker_uri: str = ""
    created: datetime
    last_updated: datetime

    def __post_init__(self) -> None:
        if not self.docker_uri:
            # Synthetic image name; the real registry paths are not public (UNCONFIRMED).
            object.__setattr__(self, "docker_uri", f"personalize-mock.local/algorithms/{self.name}:1")
        for hp in self.hyperparameters:
            if hp.scope != ALGORITHM_SCOPE:
                raise ValueError(f"{self.name}: {hp.name} is not an algorithm hyperparameter")

    @property
    def arn(self) -> str:
        return algorithm_arn(self.name)

    @property
    def tunable(self) -> tuple[Hyperparameter, ...]:
        return tuple(hp for hp in self.hyperparameters if hp.tunable)

    @property
    def default_hyperparameters(self) -> dict[str, str]:
        return {hp.name: hp.default for hp in self.hyperparameters}

    @property
    def default_resource_config(self) -> dict[str, str]:
        """The default HPO budget; empty for algorithms that cannot be tuned."""
        if not self.tunable:
            return {}
        return {
            "maxNumberOfTrainingJobs": str(_DEFAULT_HPO_TRAINING_JOBS),
            "maxParallelTrainingJobs": str(_DEFAULT_HPO_PARALLEL_TRAINING_JOBS),
        }


@dataclass(frozen=True, kw_only=True)
class FeatureTransformation:
    """A featurization step (DescribeFeatureTransformation); holds the featurization parameters."""

    name: str
    parameters: tuple[Hyperparameter, ...] = ()
    created: datetime
    last_updated: datetime

    def __post_init__(self) -> None:
        for hp in self.parameters:
            if hp.scope != FEATURIZATION_SCOPE:
                raise ValueError(f"{self.name}: {hp.name} is not a featurization parameter")

    @property
    def arn(self) -> str:
        return feature_transformation_arn(self.name)

    @property
    def default_parameters(self) -> dict[str, str]:
        return {hp.name: hp.default for hp in self.parameters}


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A predefined recipe: what DescribeRecipe shows plus what the rest of the emulator needs."""

    name: str
    recipe_type: str
    algorithm: Algorithm
    feature_transformation: FeatureTransformation | None
    description: str
    created: datetime
    last_updated: datetime
    engine: str  # key of the engine registry that trains it
    runtime_api: str  # "recommend" | "rank" | "actions" | "segment"
    domain: str | None = None  # set only on domain use-case recipes (recommenders)
    legacy: bool = False  # no longer offered: absent from ListRecipes, still describable and usable
    # runtime request requirements and response shape
    requires_user_id: bool = False
    requires_item_id: bool = False
    returns_scores: bool = False
    # use-case behaviour: train on (and require >= 1000 events of) this event type only; remove
    # from a user's recommendations the items that user has interacted with under this event type
    event_type: str | None = None
    exclude_event_type: str | None = None
    required_datasets: frozenset[str] = frozenset({INTERACTIONS})
    requires_item_text: bool = False  # the Items schema needs an itemName field and a textual one
    max_items: int = 750_000  # items considered at training
    # capabilities checked by the control plane and the runtime
    supports_update_training_mode: bool = False  # trainingMode=UPDATE
    supports_item_exploration: bool = False  # itemExplorationConfig (campaign, recommender, batch)
    supports_optimization_objective: bool = False
    supports_events_config: bool = False  # solutionConfig.eventsConfig
    supports_incremental_update: bool = False  # performIncrementalUpdate
    supports_ranking_influence: bool = False  # campaignConfig / batch job rankingInfluence
    supports_batch_inference: bool = False
    supports_theme_generation: bool = False  # batchInferenceJobMode=THEME_GENERATION
    supports_promotions: bool = False
    metadata_enabled_by_default: bool = False  # metadataColumns usable without enabling it
    automatic_updates: bool = False  # refreshed every 2 hours while deployed

    def __post_init__(self) -> None:
        if self.engine not in ENGINE_NAMES:
            raise ValueError(f"{self.name}: unknown engine {self.engine!r}")
        if self.runtime_api not in RUNTIME_APIS:
            raise ValueError(f"{self.name}: unknown runtime api {self.runtime_api!r}")
        if self.domain is not None and self.domain not in DOMAINS:
            raise ValueError(f"{self.name}: unknown domain {self.domain!r}")
        names = [hp.name for hp in self.hyperparameters]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: a hyperparameter name is used twice")

    @property
    def arn(self) -> str:
        return recipe_arn(self.name)

    @property
    def hyperparameters(self) -> tuple[Hyperparameter, ...]:
        """Algorithm hyperparameters followed by featurization parameters."""
        ft = self.feature_transformation.parameters if self.feature_transformation else ()
        return self.algorithm.hyperparameters + ft

    @property
    def supports_hpo(self) -> bool:
        """performHPO is allowed: a custom recipe whose algorithm has a tunable hyperparameter."""
        return self.domain is None and bool(self.algorithm.tunable)

    @property
    def supports_batch_segment(self) -> bool:
        return self.runtime_api == "segment"


# --------------------------------------------------------------------------------------------
# ARNs
# --------------------------------------------------------------------------------------------


def recipe_arn(name: str) -> str:
    return f"{_ARN_PREFIX}recipe/{name}"


def algorithm_arn(name: str) -> str:
    return f"{_ARN_PREFIX}algorithm/{name}"


def feature_transformation_arn(name: str) -> str:
    return f"{_ARN_PREFIX}feature-transformation/{name}"


def _name_from_arn(arn: object, kind: str) -> str | None:
    if not isinstance(arn, str):
        return None
    match = _ARN_RE.match(arn)
    if not match or match.group(1) != kind:
        return None
    return match.group(2)


# --------------------------------------------------------------------------------------------
# Hyperparameter definitions
# --------------------------------------------------------------------------------------------


def _int(name, default, lo, hi, *, tunable=False, scope=ALGORITHM_SCOPE, **kw) -> Hyperparameter:
    return Hyperparameter(name=name, default=default, kind=INTEGER, min=lo, max=hi, tunable=tunable,
                          scope=scope, **kw)


def _float(name, default, lo, hi, *, tunable=False, scope=ALGORITHM_SCOPE, **kw) -> Hyperparameter:
    return Hyperparameter(name=name, default=default, kind=CONTINUOUS, min=lo, max=hi, tunable=tunable,
                          scope=scope, **kw)


def _bool(name, default, *, tunable=False, scope=ALGORITHM_SCOPE) -> Hyperparameter:
    return Hyperparameter(name=name, default=default, kind=CATEGORICAL, values=("true", "false"),
                          tunable=tunable, scope=scope)


def _percentile(name: str, default: str) -> Hyperparameter:
    return _float(name, default, 0.0, 1.0, scope=FEATURIZATION_SCOPE)


def _hrnn_family(hidden_dimension: str) -> tuple[Hyperparameter, ...]:
    """hidden_dimension / bptt / recency_mask, shared by UP, Personalized-Ranking and HRNN."""
    return (
        _int("hidden_dimension", hidden_dimension, 32, 256, tunable=True),
        _int("bptt", "32", 2, 32, tunable=True),
        _bool("recency_mask", "true", tunable=True),
    )


_USER_HISTORY_PERCENTILES = (
    _percentile("min_user_history_length_percentile", "0.0"),
    _percentile("max_user_history_length_percentile", "0.99"),
)

# Campaign / recommender / batch itemExplorationConfig (User-Personalization family only).
ITEM_EXPLORATION_PARAMETERS: tuple[Hyperparameter, ...] = (
    _float("explorationWeight", "0.3", 0.0, 1.0, scope=CAMPAIGN_SCOPE),
    _float("explorationItemAgeCutOff", "30", 1.0, None, scope=CAMPAIGN_SCOPE),
)

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_D2019 = _utc(2019, 6, 10)
# lastUpdatedDateTime values printed by ListRecipes in June 2024 (three distinct stamps).
_U191 = _utc(2024, 6, 19, 16, 47, 19, 191000)
_U192 = _utc(2024, 6, 19, 16, 47, 19, 192000)
_U565 = _utc(2024, 6, 19, 16, 47, 19, 565000)
_D_ITEM_AFFINITY = _utc(2021, 7, 15)
_D_ITEM_ATTRIBUTE_AFFINITY = _utc(2021, 8, 25)
_D_TRENDING = _utc(2022, 10, 1)
_D_NBA = _utc(2023, 8, 11)
_D_V2 = _utc(2024, 1, 1)
# Semantic-Similarity post-dates the 2024 listing; AWS stamps new recipes with round dates (the v2
# recipes say 2024-01-01), so 2025-01-01 is used: UNCONFIRMED.
_D_SEMANTIC = _utc(2025, 1, 1)

# --------------------------------------------------------------------------------------------
# Feature transformations
# --------------------------------------------------------------------------------------------


def _ft(name: str, parameters: Iterable[Hyperparameter], created: datetime,
        last_updated: datetime | None = None) -> FeatureTransformation:
    return FeatureTransformation(name=name, parameters=tuple(parameters), created=created,
                                 last_updated=last_updated or created)


_FT_PERCENTILE = _ft("JSON-percentile-filtering", _USER_HISTORY_PERCENTILES, _D2019, _U191)
_FT_METADATA = _ft("featurize_metadata", _USER_HISTORY_PERCENTILES, _D2019)
_FT_COLDSTART = _ft("featurize_coldstart", (
    _int("cold_start_max_interactions", "15", 1, None, scope=FEATURIZATION_SCOPE),
    _float("cold_start_max_duration", "5.0", 0.0, None, scope=FEATURIZATION_SCOPE, min_exclusive=True),
    Hyperparameter(name="cold_start_relative_from", default="latestItem", kind=CATEGORICAL,
                   values=("currentTime", "latestItem"), scope=FEATURIZATION_SCOPE),
    *_USER_HISTORY_PERCENTILES,
), _D2019)
_FT_SIMS = _ft("sims", (
    _percentile("min_user_history_length_percentile", "0.005"),
    _percentile("max_user_history_length_percentile", "0.995"),
    _percentile("min_item_interaction_count_percentile", "0.01"),
    _percentile("max_item_interaction_count_percentile", "0.9"),
), _D2019, _U191)
_FT_ITEM_AFFINITY = _ft("item-affinity", (), _D_ITEM_AFFINITY, _U191)
_FT_ITEM_ATTRIBUTE_AFFINITY = _ft("item-attribute-affinity", (), _D_ITEM_ATTRIBUTE_AFFINITY, _U191)
_FT_SEMANTIC = _ft("aws-semantic-similarity", (), _D_SEMANTIC)
# The guide names no feature transformation for Trending-Now or Next-Best-Action although both
# have featurization parameters; the names follow Semantic-Similarity's pattern (the recipe's own
# name): UNCONFIRMED. The default frequency is the current guide's (the 2023 guide said 3 hours).
_FT_TRENDING = _ft("aws-trending-now", (
    Hyperparameter(
        name="trend_discovery_frequency", default="2 hours", kind=CATEGORICAL,
        values=tuple(TREND_DISCOVERY_FREQUENCIES), scope=FEATURIZATION_SCOPE,
        aliases=(("30 min", "30 minutes"), ("30 mins", "30 minutes"), ("30m", "30 minutes"),
                 ("1h", "1 hour"), ("1 hr", "1 hour"), ("2h", "2 hours"), ("2 hour", "2 hours"),
                 ("3h", "3 hours"), ("3 hour", "3 hours"), ("1d", "1 day"), ("24 hours", "1 day")),
    ),
), _D_TRENDING, _U191)
_FT_NBA = _ft("aws-next-best-action", (
    _int("action_optimization_period", "14", 7, 28, scope=FEATURIZATION_SCOPE),
), _D_NBA, _U191)

FEATURE_TRANSFORMATIONS: Mapping[str, FeatureTransformation] = MappingProxyType({
    ft.arn: ft for ft in (
        _FT_PERCENTILE, _FT_METADATA, _FT_COLDSTART, _FT_SIMS, _FT_ITEM_AFFINITY,
        _FT_ITEM_ATTRIBUTE_AFFINITY, _FT_SEMANTIC, _FT_TRENDING, _FT_NBA,
    )
})

# --------------------------------------------------------------------------------------------
# Algorithms
# --------------------------------------------------------------------------------------------


def _algo(name: str, hyperparameters: Iterable[Hyperparameter], created: datetime,
          last_updated: datetime | None = None) -> Algorithm:
    return Algorithm(name=name, hyperparameters=tuple(hyperparameters), created=created,
                     last_updated=last_updated or created)


_RECENCY_BIAS = (_bool("apply_recency_bias", "true"),)
_SEGMENT_HIDDEN = (_int("hidden_dimension", "149", 32, 256),)  # HPO not allowed for segmentation

_A_UP = _algo("aws-user-personalization", _hrnn_family("149"), _D2019, _U191)
_A_UP_V2 = _algo("aws-user-personalization-v2", _RECENCY_BIAS, _D_V2, _U191)
_A_PR = _algo("aws-personalized-ranking", _hrnn_family("149"), _D2019, _U191)
_A_PR_V2 = _algo("aws-personalized-ranking-v2", _RECENCY_BIAS, _D_V2, _U191)
_A_POPULARITY = _algo("aws-popularity-count", (), _D2019, _U191)
_A_TRENDING = _algo("aws-trending-now-custom", (), _D_TRENDING, _U191)
_A_SIMS = _algo("aws-sims", (
    _float("popularity_discount_factor", "0.5", 0.0, 1.0, tunable=True),
    _int("min_cointeraction_count", "3", 0, 10, tunable=True),
), _D2019, _U191)
# The two hidden dimensions are documented as settable only through HPO; a fixed value is still
# accepted here (whether AWS rejects one is not documented).
_A_SIMILAR_ITEMS = _algo("aws-similar-items", (
    _float("popularity_discount_factor", "0.0", 0.0, 1.0),
    _int("item_id_hidden_dim", "100", 30, 200, tunable=True),
    _int("item_metadata_hidden_dim", "100", 30, 200, tunable=True),
), _D2019, _U191)
_A_SEMANTIC = _algo("aws-semantic-similarity", (), _D_SEMANTIC)
_A_NBA = _algo("aws-next-best-action", (), _D_NBA, _U191)
_A_ITEM_AFFINITY = _algo("aws-item-affinity", _SEGMENT_HIDDEN, _D_ITEM_AFFINITY, _U191)
_A_ITEM_ATTRIBUTE_AFFINITY = _algo("aws-item-attribute-affinity", _SEGMENT_HIDDEN,
                                   _D_ITEM_ATTRIBUTE_AFFINITY, _U191)
_A_HRNN = _algo("aws-hrnn", _hrnn_family("43"), _D2019)
_A_HRNN_METADATA = _algo("aws-hrnn-metadata", _hrnn_family("43"), _D2019)
_A_HRNN_COLDSTART = _algo("aws-hrnn-coldstart", _hrnn_family("149"), _D2019)

ALGORITHMS: Mapping[str, Algorithm] = MappingProxyType({
    a.arn: a for a in (
        _A_UP, _A_UP_V2, _A_PR, _A_PR_V2, _A_POPULARITY, _A_TRENDING, _A_SIMS, _A_SIMILAR_ITEMS,
        _A_SEMANTIC, _A_NBA, _A_ITEM_AFFINITY, _A_ITEM_ATTRIBUTE_AFFINITY, _A_HRNN,
        _A_HRNN_METADATA, _A_HRNN_COLDSTART,
    )
})

# --------------------------------------------------------------------------------------------
# Recipes
# --------------------------------------------------------------------------------------------

_CUSTOM_RECIPES = (
    Recipe(
        name="aws-user-personalization",
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_UP,
        # The guide names no feature transformation for User-Personalization; its featurization
        # parameters are exactly JSON-percentile-filtering's (shared with Personalized-Ranking
        # and HRNN), so that one is used: UNCONFIRMED.
        feature_transformation=_FT_PERCENTILE,
        description=(
            "Predicts the items each user is likely to interact with next from the order of their "
            "past interactions, and mixes in new or little-seen items to learn how users respond "
            "to them. Successor to the HRNN recipes."
        ),
        created=_D2019, last_updated=_U191,
        engine="aws-user-personalization", runtime_api="recommend",
        requires_user_id=True, returns_scores=True,
        supports_update_training_mode=True, supports_item_exploration=True,
        supports_optimization_objective=True, supports_batch_inference=True,
        supports_promotions=True, automatic_updates=True,
    ),
    Recipe(
        name="aws-user-personalization-v2",
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_UP_V2,
        feature_transformation=None,  # none documented, and no featurization parameters
        description=(
            "Transformer-based next-item model over each user's interaction history, trained on "
            "catalogues of up to five million items; explores recent items on its own and can "
            "weight event types."
        ),
        created=_D_V2, last_updated=_U191,
        engine="aws-user-personalization-v2", runtime_api="recommend",
        requires_user_id=True, returns_scores=True, max_items=5_000_000,
        supports_events_config=True, supports_batch_inference=True, supports_promotions=True,
        metadata_enabled_by_default=True, automatic_updates=True,
    ),
    Recipe(
        name="aws-personalized-ranking",
        recipe_type=PERSONALIZED_RANKING,
        algorithm=_A_PR,
        feature_transformation=_FT_PERCENTILE,
        description=(
            "Re-orders a list of items supplied with the request for one user, using the same "
            "sequence model as User-Personalization."
        ),
        created=_D2019, last_updated=_U191,
        engine="aws-personalized-ranking", runtime_api="rank",
        requires_user_id=True, returns_scores=True,
        supports_optimization_objective=True, supports_batch_inference=True,
    ),
    Recipe(
        name="aws-personalized-ranking-v2",
        recipe_type=PERSONALIZED_RANKING,
        algorithm=_A_PR_V2,
        feature_transformation=None,
        description=(
            "Transformer-based re-ranking of a supplied item list for one user, for catalogues of "
            "up to five million items; can weight event types."
        ),
        created=_D_V2, last_updated=_U191,
        engine="aws-personalized-ranking-v2", runtime_api="rank",
        requires_user_id=True, returns_scores=True, max_items=5_000_000,
        supports_events_config=True, supports_batch_inference=True,
        metadata_enabled_by_default=True,
    ),
    Recipe(
        name="aws-popularity-count",
        # Documented as USER_PERSONALIZATION although the guide groups it with POPULAR_ITEMS; it
        # returns the same list to everyone, so no userId is needed.
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_POPULARITY,
        feature_transformation=_FT_SIMS,
        description=(
            "Baseline that recommends the items with the most interactions in the dataset; every "
            "user gets the same list."
        ),
        created=_D2019, last_updated=_U191,
        engine="aws-popularity-count", runtime_api="recommend",
        supports_batch_inference=True, supports_promotions=True,
    ),
    Recipe(
        name="aws-trending-now",
        # The guide groups Trending-Now under POPULAR_ITEMS; the value DescribeRecipe returns is
        # UNCONFIRMED.
        recipe_type=POPULAR_ITEMS,
        algorithm=_A_TRENDING,
        feature_transformation=_FT_TRENDING,
        description=(
            "Recommends the items whose interaction counts grew the most between the last two "
            "intervals of the configured trend discovery frequency."
        ),
        created=_D_TRENDING, last_updated=_U191,
        engine="aws-trending-now", runtime_api="recommend",
        supports_promotions=True,  # no batch inference with Trending-Now
    ),
    Recipe(
        name="aws-sims",
        recipe_type=RELATED_ITEMS,
        algorithm=_A_SIMS,
        feature_transformation=_FT_SIMS,
        description=(
            "Item-to-item collaborative filtering: items that co-occur in user histories, with a "
            "tunable discount on popular items."
        ),
        created=_D2019, last_updated=_U191,
        engine="aws-sims", runtime_api="recommend",
        requires_item_id=True, supports_batch_inference=True, supports_promotions=True,
    ),
    Recipe(
        name="aws-similar-items",
        recipe_type=RELATED_ITEMS,
        algorithm=_A_SIMILAR_ITEMS,
        feature_transformation=None,  # none documented, and no featurization parameters
        description=(
            "Related items learned from both co-occurrence in user histories and item metadata, "
            "so items with few interactions still get neighbours."
        ),
        created=_D2019, last_updated=_U191,
        engine="aws-similar-items", runtime_api="recommend",
        requires_item_id=True, supports_batch_inference=True, supports_theme_generation=True,
        supports_promotions=True,
    ),
    Recipe(
        name="aws-semantic-similarity",
        recipe_type=RELATED_ITEMS,
        algorithm=_A_SEMANTIC,
        feature_transformation=_FT_SEMANTIC,
        description=(
            "Related items by the meaning of their text fields (embeddings of item content); "
            "popularity and freshness can adjust the ranking."
        ),
        created=_D_SEMANTIC, last_updated=_D_SEMANTIC,
        engine="aws-semantic-similarity", runtime_api="recommend",
        requires_item_id=True, required_datasets=frozenset({ITEMS}), requires_item_text=True, max_items=10_000_000,
        supports_incremental_update=True, supports_ranking_influence=True,
        supports_batch_inference=True, metadata_enabled_by_default=True,
    ),
    Recipe(
        name="aws-next-best-action",
        recipe_type=PERSONALIZED_ACTIONS,
        algorithm=_A_NBA,
        feature_transformation=_FT_NBA,
        description=(
            "Ranks the actions in the Actions dataset by how likely each user is to take them "
            "within the action optimization period."
        ),
        created=_D_NBA, last_updated=_U191,
        engine="aws-next-best-action", runtime_api="actions",
        requires_user_id=True, returns_scores=True,
        required_datasets=frozenset({INTERACTIONS, ACTIONS}),
        automatic_updates=True,  # no batch inference with Next-Best-Action
    ),
    Recipe(
        name="aws-item-affinity",
        recipe_type=USER_SEGMENTATION,
        algorithm=_A_ITEM_AFFINITY,
        feature_transformation=_FT_ITEM_AFFINITY,
        description="Builds, for each given item, the segment of users most likely to interact with it.",
        created=_D_ITEM_AFFINITY, last_updated=_U191,
        engine="aws-item-affinity", runtime_api="segment",
    ),
    Recipe(
        name="aws-item-attribute-affinity",
        recipe_type=USER_SEGMENTATION,
        algorithm=_A_ITEM_ATTRIBUTE_AFFINITY,
        feature_transformation=_FT_ITEM_ATTRIBUTE_AFFINITY,
        description=(
            "Builds, for each given combination of item attribute values, the segment of users "
            "most drawn to items with those attributes."
        ),
        created=_D_ITEM_ATTRIBUTE_AFFINITY, last_updated=_U191,
        engine="aws-item-attribute-affinity", runtime_api="segment",
        required_datasets=frozenset({INTERACTIONS, ITEMS}),
    ),
)

# Legacy HRNN recipes. The guide says they are no longer available and ListRecipes outputs from
# 2022 and 2024 no longer contain them, so they are left out of ListRecipes. They stay describable
# and trainable by ARN so that older client code (e.g. the 2019 re:Invent workshop, which trains
# aws-hrnn) keeps working; the User-Personalization engine trains them with their own defaults.
_LEGACY_RECIPES = (
    Recipe(
        name="aws-hrnn",
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_HRNN,
        feature_transformation=_FT_PERCENTILE,
        description=(
            "Legacy hierarchical recurrent network over each user's ordered interaction history, "
            "with learned down-weighting of older events."
        ),
        created=_D2019, last_updated=_D2019,
        engine="aws-user-personalization", runtime_api="recommend", legacy=True,
        requires_user_id=True, returns_scores=True, supports_batch_inference=True,
    ),
    Recipe(
        name="aws-hrnn-metadata",
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_HRNN_METADATA,
        feature_transformation=_FT_METADATA,
        description="Legacy HRNN that also uses user, item and contextual metadata.",
        created=_D2019, last_updated=_D2019,
        engine="aws-user-personalization", runtime_api="recommend", legacy=True,
        requires_user_id=True, returns_scores=True, supports_batch_inference=True,
    ),
    Recipe(
        name="aws-hrnn-coldstart",
        recipe_type=USER_PERSONALIZATION,
        algorithm=_A_HRNN_COLDSTART,
        feature_transformation=_FT_COLDSTART,
        description=(
            "Legacy HRNN with metadata that recommends from recently added items with few "
            "interactions (cold items)."
        ),
        created=_D2019, last_updated=_D2019,
        engine="aws-user-personalization", runtime_api="recommend", legacy=True,
        requires_user_id=True, returns_scores=True,
        required_datasets=frozenset({INTERACTIONS, ITEMS}),
        supports_update_training_mode=True, supports_batch_inference=True,
    ),
)


def _use_case(name: str, domain: str, *, base: Recipe, recipe_type: str, description: str,
              last_updated: datetime = _U191, **fields) -> Recipe:
    """A domain use case, trained by the engine (and with the algorithm) of ``base``.

    The algorithms behind the use cases are not published; each one is mapped to the custom recipe
    whose behaviour matches the documented use case (recipes-runtime §1.3): UNCONFIRMED. Its
    recipe type is the one whose runtime behaviour it has (also UNCONFIRMED). Use cases are served by
    recommenders only: no solutions, so no HPO and no batch inference.
    """
    return Recipe(
        name=name, recipe_type=recipe_type, algorithm=base.algorithm,
        feature_transformation=base.feature_transformation, description=description,
        created=_D2019, last_updated=last_updated, engine=base.engine, runtime_api="recommend",
        domain=domain, supports_promotions=True, **fields,
    )


_CUSTOM_BY_NAME = {r.name: r for r in _CUSTOM_RECIPES}
_UP = _CUSTOM_BY_NAME["aws-user-personalization"]
_POP = _CUSTOM_BY_NAME["aws-popularity-count"]
_TREND = _CUSTOM_BY_NAME["aws-trending-now"]
_SIMS = _CUSTOM_BY_NAME["aws-sims"]
_SIMILAR = _CUSTOM_BY_NAME["aws-similar-items"]

_DOMAIN_RECIPES = (
    _use_case(
        "aws-ecomm-popular-items-by-views", ECOMMERCE, base=_POP, recipe_type=POPULAR_ITEMS,
        description="Most viewed: the items viewed most often.",
        event_type="View", requires_user_id=True,
    ),
    _use_case(
        "aws-ecomm-popular-items-by-purchases", ECOMMERCE, base=_POP, recipe_type=POPULAR_ITEMS,
        description="Best sellers: the items purchased most often.",
        event_type="Purchase", requires_user_id=True,
    ),
    _use_case(
        "aws-ecomm-frequently-bought-together", ECOMMERCE, base=_SIMS, recipe_type=RELATED_ITEMS,
        description="Frequently bought together: items customers buy along with the given item.",
        event_type="Purchase", requires_item_id=True,
    ),
    _use_case(
        "aws-ecomm-customers-who-viewed-x-also-viewed", ECOMMERCE, base=_SIMS,
        recipe_type=RELATED_ITEMS,
        description=(
            "Customers who viewed X also viewed: items viewed by the customers who viewed the "
            "given item, without the ones the user already bought."
        ),
        event_type="View", exclude_event_type="Purchase", requires_user_id=True,
        requires_item_id=True,
    ),
    _use_case(
        "aws-ecomm-recommended-for-you", ECOMMERCE, base=_UP, recipe_type=USER_PERSONALIZATION,
        description=(
            "Recommended for you: personalised items for a shopper, updated as they browse, "
            "without the ones they already bought."
        ),
        exclude_event_type="Purchase", requires_user_id=True, supports_item_exploration=True,
        automatic_updates=True,
    ),
    _use_case(
        "aws-vod-because-you-watched-x", VIDEO_ON_DEMAND, base=_SIMS, recipe_type=RELATED_ITEMS,
        description=(
            "Because you watched X: videos watched by viewers of the given video, without the "
            "ones the user already watched."
        ),
        event_type="Watch", exclude_event_type="Watch", requires_user_id=True,
        requires_item_id=True, last_updated=_U565,
    ),
    _use_case(
        "aws-vod-more-like-x", VIDEO_ON_DEMAND, base=_SIMILAR, recipe_type=RELATED_ITEMS,
        description=(
            "More like X: videos similar to the given one in viewing patterns and metadata, "
            "without the ones the user already watched."
        ),
        exclude_event_type="Watch", requires_user_id=True, requires_item_id=True,
        required_datasets=frozenset({INTERACTIONS, ITEMS}),
    ),
    _use_case(
        "aws-vod-most-popular", VIDEO_ON_DEMAND, base=_POP, recipe_type=POPULAR_ITEMS,
        description="Most popular: the videos watched by the most viewers.",
        event_type="Watch", requires_user_id=True, last_updated=_U192,
    ),
    _use_case(
        "aws-vod-trending-now", VIDEO_ON_DEMAND, base=_TREND, recipe_type=POPULAR_ITEMS,
        description="Trending now: the videos gaining popularity fastest, refreshed every two hours.",
        last_updated=_U565,
    ),
    _use_case(
        "aws-vod-top-picks", VIDEO_ON_DEMAND, base=_UP, recipe_type=USER_PERSONALIZATION,
        description=(
            "Top picks for you: personalised videos for a viewer, updated as they watch, without "
            "the ones they already watched."
        ),
        exclude_event_type="Watch", requires_user_id=True, supports_item_exploration=True,
        automatic_updates=True, last_updated=_U192,
    ),
)

RECIPES: Mapping[str, Recipe] = MappingProxyType({
    r.arn: r for r in sorted(_CUSTOM_RECIPES + _LEGACY_RECIPES + _DOMAIN_RECIPES, key=lambda r: r.name)
})
_RECIPES_BY_NAME: Mapping[str, Recipe] = MappingProxyType({r.name: r for r in RECIPES.values()})

# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------


def recipe_by_name(name: str) -> Recipe | None:
    return _RECIPES_BY_NAME.get(name)


def recipe_by_arn(arn: str) -> Recipe | None:
    """The recipe with this ARN (any AWS partition), or None."""
    name = _name_from_arn(arn, "recipe")
    return None if name is None else _RECIPES_BY_NAME.get(name)


def algorithm_by_arn(arn: str) -> Algorithm | None:
    name = _name_from_arn(arn, "algorithm")
    return None if name is None else ALGORITHMS.get(algorithm_arn(name))


def feature_transformation_by_arn(arn: str) -> FeatureTransformation | None:
    name = _name_from_arn(arn, "feature-transformation")
    return None if name is None else FEATURE_TRANSFORMATIONS.get(feature_transformation_arn(name))


def list_recipes(recipe_provider: str = "SERVICE", domain: str | None = None) -> list[Recipe]:
    """What ListRecipes returns, sorted by name (as observed).

    Without a domain: every offered recipe, custom and use-case alike (observed: clients filter the
    use cases out by their ``domain`` key). With a domain: only that domain's use cases. Legacy
    recipes are never listed.
    """
    if recipe_provider != "SERVICE":
        raise ValueError(f"recipeProvider must be SERVICE, got {recipe_provider!r}")
    if domain is not None and domain not in DOMAINS:
        raise ValueError(f"domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
    return [
        r for r in RECIPES.values()
        if not r.legacy and (domain is None or r.domain == domain)
    ]


# --------------------------------------------------------------------------------------------
# API views (botocore member names; datetimes are aware UTC, serialised by the protocol layer)
# --------------------------------------------------------------------------------------------


def recipe_view(recipe: Recipe) -> dict:
    """The ``Recipe`` shape (DescribeRecipe)."""
    view = {
        "name": recipe.name,
        "recipeArn": recipe.arn,
        "algorithmArn": recipe.algorithm.arn,
    }
    if recipe.feature_transformation is not None:
        view["featureTransformationArn"] = recipe.feature_transformation.arn
    view.update({
        "status": "ACTIVE",
        "description": recipe.description,
        "creationDateTime": recipe.created,
        "recipeType": recipe.recipe_type,
        "lastUpdatedDateTime": recipe.last_updated,
    })
    return view


def recipe_summary(recipe: Recipe) -> dict:
    """The ``RecipeSummary`` shape (ListRecipes); ``domain`` only on use-case recipes."""
    view = {
        "name": recipe.name,
        "recipeArn": recipe.arn,
        "status": "ACTIVE",
        "creationDateTime": recipe.created,
        "lastUpdatedDateTime": recipe.last_updated,
    }
    if recipe.domain is not None:
        view["domain"] = recipe.domain
    return view


def _range_view(hp: Hyperparameter) -> dict:
    if hp.kind == CATEGORICAL:
        return {"name": hp.name, "values": list(hp.values), "isTunable": hp.tunable}
    number = int if hp.kind == INTEGER else float
    view: dict = {"name": hp.name}
    if hp.min is not None:
        view["minValue"] = number(hp.min)
    if hp.max is not None:
        view["maxValue"] = number(hp.max)
    view["isTunable"] = hp.tunable
    return view


def algorithm_view(algorithm: Algorithm) -> dict:
    """The ``Algorithm`` shape (DescribeAlgorithm)."""
    ranges = {
        "integerHyperParameterRanges": [
            _range_view(hp) for hp in algorithm.hyperparameters if hp.kind == INTEGER],
        "continuousHyperParameterRanges": [
            _range_view(hp) for hp in algorithm.hyperparameters if hp.kind == CONTINUOUS],
        "categoricalHyperParameterRanges": [
            _range_view(hp) for hp in algorithm.hyperparameters if hp.kind == CATEGORICAL],
    }
    view = {
        "name": algorithm.name,
        "algorithmArn": algorithm.arn,
        "algorithmImage": {"name": algorithm.name, "dockerURI": algorithm.docker_uri},
        "defaultHyperParameters": algorithm.default_hyperparameters,
        "defaultHyperParameterRanges": ranges,
    }
    if algorithm.default_resource_config:
        view["defaultResourceConfig"] = algorithm.default_resource_config
    view.update({
        "trainingInputMode": algorithm.training_input_mode,
        "creationDateTime": algorithm.created,
        "lastUpdatedDateTime": algorithm.last_updated,
    })
    return view


def feature_transformation_view(ft: FeatureTransformation) -> dict:
    """The ``FeatureTransformation`` shape (DescribeFeatureTransformation)."""
    return {
        "name": ft.name,
        "featureTransformationArn": ft.arn,
        "defaultParameters": ft.default_parameters,
        "creationDateTime": ft.created,
        "lastUpdatedDateTime": ft.last_updated,
        "status": "ACTIVE",
    }


# --------------------------------------------------------------------------------------------
# Hyperparameter merge and validation
# --------------------------------------------------------------------------------------------


def _merge(recipe: Recipe, given: Mapping[str, str] | None, own: tuple[Hyperparameter, ...],
           other: tuple[Hyperparameter, ...], member: str, other_member: str) -> dict[str, str]:
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ValueError(f"{member} must be a map of strings")
    by_name = {hp.name: hp for hp in own}
    other_names = {hp.name for hp in other}
    out: dict[str, str] = {}
    for name in sorted(given):
        hp = by_name.get(name)
        if hp is None:
            if name in other_names:
                raise ValueError(
                    f"{name} is not accepted in {member} for recipe {recipe.name}; "
                    f"pass it in {other_member}"
                )
            known = ", ".join(sorted(by_name)) or "none"
            raise ValueError(
                f"Unknown hyperparameter {name!r} in {member} for recipe {recipe.name} "
                f"(accepted: {known})"
            )
        out[name] = hp.parse(given[name])
    return out


def hyperparameters_for(
    recipe: Recipe,
    algorithm_hyperparameters: Mapping[str, str] | None = None,
    feature_transformation_parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every hyperparameter of ``recipe`` as a canonical string: defaults overridden by the caller.

    ``algorithm_hyperparameters`` / ``feature_transformation_parameters`` are
    ``solutionConfig.algorithmHyperParameters`` / ``featureTransformationParameters``. Raises
    ValueError (the control plane's InvalidInputException) for an unknown name, a name given in
    the wrong map, or a value that does not parse or lies outside its range.
    """
    algo = recipe.algorithm.hyperparameters
    feat = recipe.feature_transformation.parameters if recipe.feature_transformation else ()
    merged = {hp.name: hp.default for hp in recipe.hyperparameters}
    merged.update(_merge(recipe, algorithm_hyperparameters, algo, feat,
                         "algorithmHyperParameters", "featureTransformationParameters"))
    merged.update(_merge(recipe, feature_transformation_parameters, feat, algo,
                         "featureTransformationParameters", "algorithmHyperParameters"))
    return merged


def typed_hyperparameters(recipe: Recipe, values: Mapping[str, str]) -> dict[str, object]:
    """Engine-side view of merged hyperparameters: ints, floats, bools and strings.

    Names the recipe does not define are passed through unchanged.
    """
    by_name = {hp.name: hp for hp in recipe.hyperparameters}
    out: dict[str, object] = {}
    for name, value in values.items():
        hp = by_name.get(name)
        out[name] = value if hp is None else hp.coerce(hp.parse(value))
    return out


_RANGE_KEYS = {
    "integerHyperParameterRanges": INTEGER,
    "continuousHyperParameterRanges": CONTINUOUS,
    "categoricalHyperParameterRanges": CATEGORICAL,
}


def _bound(entry: Mapping, key: str, default: float | None, hp: Hyperparameter, kind: str) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} of HPO range {hp.name} must be a number, got {value!r}")
    if kind == INTEGER and value != int(value):
        raise ValueError(f"{key} of HPO range {hp.name} must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{key} of HPO range {hp.name} must be finite")
    return int(value) if kind == INTEGER else float(value)


def validate_hpo_ranges(recipe: Recipe, ranges: Mapping | None) -> dict[str, Hyperparameter]:
    """Check ``hpoConfig.algorithmHyperParameterRanges`` against the recipe's tunable ranges.

    Returns the given ranges as Hyperparameter copies narrowed to them, keyed by name. Raises
    ValueError when the recipe cannot be tuned, a name is unknown, not tunable, listed twice or
    under the wrong kind, or a range is empty or leaves the default range.
    """
    if not recipe.supports_hpo:
        raise ValueError(f"Recipe {recipe.name} does not support hyperparameter optimization (HPO)")
    if ranges is None:
        return {}
    if not isinstance(ranges, Mapping):
        raise ValueError("algorithmHyperParameterRanges must be a structure")
    by_name = {hp.name: hp for hp in recipe.algorithm.hyperparameters}
    tunable = ", ".join(hp.name for hp in recipe.algorithm.tunable)
    out: dict[str, Hyperparameter] = {}
    for key, entries in ranges.items():
        kind = _RANGE_KEYS.get(key)
        if kind is None:
            raise ValueError(f"Unknown member {key!r} in algorithmHyperParameterRanges")
        for entry in entries or ():
            name = entry.get("name") if isinstance(entry, Mapping) else None
            hp = by_name.get(name) if isinstance(name, str) else None
            if hp is None:
                raise ValueError(
                    f"Unknown hyperparameter {name!r} in {key} for recipe {recipe.name} "
                    f"(tunable: {tunable})"
                )
            if not hp.tunable:
                raise ValueError(f"Hyperparameter {name} of recipe {recipe.name} is not tunable")
            if hp.kind != kind:
                raise ValueError(f"Hyperparameter {name} is {hp.kind}; it cannot be given in {key}")
            if name in out:
                raise ValueError(f"Hyperparameter {name} has more than one HPO range")
            if kind == CATEGORICAL:
                values = entry.get("values")
                if not values:
                    raise ValueError(f"HPO range for {name} needs at least one value")
                canonical = tuple(dict.fromkeys(hp.parse(v) for v in values))
                out[name] = replace(hp, values=canonical, default=canonical[0]
                                    if hp.default not in canonical else hp.default)
                continue
            lo = _bound(entry, "minValue", hp.min, hp, kind)
            hi = _bound(entry, "maxValue", hp.max, hp, kind)
            if lo > hi:
                raise ValueError(f"HPO range for {name}: minValue {lo} is greater than maxValue {hi}")
            if lo < hp.min or hi > hp.max:
                raise ValueError(
                    f"HPO range for {name} [{lo}, {hi}] is outside the allowed range "
                    f"[{hp.min}, {hp.max}]"
                )
            clamped = min(max(hp.coerce(hp.default), lo), hi)  # the default, moved into the range
            inside = str(clamped) if kind == INTEGER else repr(float(clamped))
            out[name] = replace(hp, min=lo, max=hi, default=inside)
    return out


def hpo_search_space(
    recipe: Recipe,
    algorithm_hyperparameter_ranges: Mapping | None = None,
    algorithm_hyperparameters: Mapping[str, str] | None = None,
) -> tuple[Hyperparameter, ...]:
    """The hyperparameters an HPO run searches, with their ranges.

    The caller's ranges replace the defaults of the names they cover; every other tunable
    hyperparameter is searched over its default range unless ``algorithmHyperParameters`` fixes it.
    """
    narrowed = validate_hpo_ranges(recipe, algorithm_hyperparameter_ranges)
    fixed = set(algorithm_hyperparameters or ())
    space = []
    for hp in recipe.algorithm.tunable:
        if hp.name in narrowed:
            space.append(narrowed[hp.name])
        elif hp.name not in fixed:
            space.append(hp)
    return tuple(space)


def hpo_resource_config(recipe: Recipe, given: Mapping[str, str] | None = None) -> dict[str, int]:
    """``hpoConfig.hpoResourceConfig`` merged with the algorithm's default budget, as integers."""
    if not recipe.supports_hpo:
        raise ValueError(f"Recipe {recipe.name} does not support hyperparameter optimization (HPO)")
    limits = {
        "maxNumberOfTrainingJobs": HPO_MAX_TRAINING_JOBS,
        "maxParallelTrainingJobs": HPO_MAX_PARALLEL_TRAINING_JOBS,
    }
    out = {key: int(value) for key, value in recipe.algorithm.default_resource_config.items()}
    for key, raw in (given or {}).items():
        if key not in limits:
            raise ValueError(f"Unknown member {key!r} in hpoResourceConfig")
        text = raw.strip() if isinstance(raw, str) else ""
        if not _INT_RE.match(text):
            raise ValueError(f"{key} must be an integer given as a string, got {raw!r}")
        value = int(text)
        if not 1 <= value <= limits[key]:
            raise ValueError(f"{key} must be between 1 and {limits[key]}, got {value}")
        out[key] = value
    return out


def item_exploration_config(recipe: Recipe, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """``itemExplorationConfig`` (campaign, recommender or batch job) merged with its defaults.

    Raises ValueError when the recipe has no exploration or a key/value is invalid.
    """
    if not recipe.supports_item_exploration:
        raise ValueError(f"itemExplorationConfig is not supported by recipe {recipe.name}")
    by_name = {hp.name: hp for hp in ITEM_EXPLORATION_PARAMETERS}
    out = {hp.name: hp.default for hp in ITEM_EXPLORATION_PARAMETERS}
    for key, raw in (given or {}).items():
        hp = by_name.get(key)
        if hp is None:
            raise ValueError(
                f"Unknown key {key!r} in itemExplorationConfig (accepted: {', '.join(by_name)})"
            )
        out[key] = hp.parse(raw)
    return out
