"""Registry of recipe engines, keyed by the recipe's algorithm name.

Importing this package stays light: engine modules import torch only inside fit(), and fitted
models score with numpy, so the service imports the registry at start-up for free.
"""
from __future__ import annotations

import pickle

from personalize_mock.recipes.base import Engine, Model
from personalize_mock.recipes.engines.item_affinity import NAME as ITEM_AFFINITY
from personalize_mock.recipes.engines.item_affinity import AffinityModel, ItemAffinityEngine
from personalize_mock.recipes.engines.item_attribute_affinity import NAME as ITEM_ATTRIBUTE_AFFINITY
from personalize_mock.recipes.engines.item_attribute_affinity import (
    ItemAttributeAffinityEngine,
    ItemAttributeAffinityModel,
)
from personalize_mock.recipes.engines.popularity import NAME as POPULARITY_COUNT
from personalize_mock.recipes.engines.popularity import PopularityEngine, PopularityModel
from personalize_mock.recipes.engines.semantic_similarity import NAME as SEMANTIC_SIMILARITY
from personalize_mock.recipes.engines.semantic_similarity import SemanticSimilarityEngine, SemanticSimilarityModel
from personalize_mock.recipes.engines.similar_items import NAME as SIMILAR_ITEMS
from personalize_mock.recipes.engines.similar_items import SimilarItemsEngine, SimilarItemsModel
from personalize_mock.recipes.engines.sims import NAME as SIMS
from personalize_mock.recipes.engines.sims import SimsEngine, SimsModel
from personalize_mock.recipes.engines.trending import NAME as TRENDING_NOW
from personalize_mock.recipes.engines.trending import TrendingEngine, TrendingModel
from personalize_mock.recipes.engines.next_best_action import NAME as NEXT_BEST_ACTION
from personalize_mock.recipes.engines.next_best_action import NextBestActionEngine, NextBestActionModel
from personalize_mock.recipes.engines.transformer import (
    PERSONALIZED_RANKING_V2,
    USER_PERSONALIZATION_V2,
    TransformerEngine,
    TransformerModel,
)
from personalize_mock.recipes.engines.user_personalization import (
    PERSONALIZED_RANKING,
    USER_PERSONALIZATION,
    SequenceEngine,
    SequenceModel,
)

ENGINES: dict[str, Engine] = {
    POPULARITY_COUNT: PopularityEngine(),
    # RELATED_ITEMS: co-occurrence (SIMS), co-occurrence + metadata, content only.
    SIMS: SimsEngine(),
    SIMILAR_ITEMS: SimilarItemsEngine(),
    SEMANTIC_SIMILARITY: SemanticSimilarityEngine(),
    # USER_SEGMENTATION: one two-tower model, queried by item id or by item attributes.
    ITEM_AFFINITY: ItemAffinityEngine(),
    ITEM_ATTRIBUTE_AFFINITY: ItemAttributeAffinityEngine(),
    TRENDING_NOW: TrendingEngine(),
    NEXT_BEST_ACTION: NextBestActionEngine(),
    USER_PERSONALIZATION: SequenceEngine(USER_PERSONALIZATION),
    # Personalized-Ranking "uses the same HRNN algorithm underneath User-Personalization" (spec §1.2).
    PERSONALIZED_RANKING: SequenceEngine(PERSONALIZED_RANKING),
    # The v2 recipes: one transformer next-item model, served by recommend() or rank() (spec §1.2).
    USER_PERSONALIZATION_V2: TransformerEngine(USER_PERSONALIZATION_V2),
    PERSONALIZED_RANKING_V2: TransformerEngine(PERSONALIZED_RANKING_V2),
}

_MODEL_CLASSES = {
    POPULARITY_COUNT: PopularityModel,
    SIMS: SimsModel,
    SIMILAR_ITEMS: SimilarItemsModel,
    SEMANTIC_SIMILARITY: SemanticSimilarityModel,
    ITEM_AFFINITY: AffinityModel,
    ITEM_ATTRIBUTE_AFFINITY: ItemAttributeAffinityModel,
    TRENDING_NOW: TrendingModel,
    NEXT_BEST_ACTION: NextBestActionModel,
    USER_PERSONALIZATION: SequenceModel,
    PERSONALIZED_RANKING: SequenceModel,
    USER_PERSONALIZATION_V2: TransformerModel,
    PERSONALIZED_RANKING_V2: TransformerModel,
}


def get_engine(name: str) -> Engine:
    """The engine for a recipe or algorithm name; KeyError names the known ones."""
    try:
        return ENGINES[name]
    except KeyError:
        raise KeyError(f"no engine {name!r}; known: {sorted(ENGINES)}") from None


def load_model(blob: bytes) -> Model:
    """Rebuild a model from Model.save() bytes, whichever engine produced it."""
    engine = pickle.loads(blob).get("engine")
    if engine not in _MODEL_CLASSES:
        raise ValueError(f"saved model of unknown engine {engine!r}")
    return _MODEL_CLASSES[engine].load(blob)
