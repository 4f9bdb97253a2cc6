"""Registry of recipe engines, keyed by the recipe's algorithm name.

Importing this package stays light: engine modules import torch only inside fit(), and fitted
models score with numpy, so the service imports the registry at start-up for free.
"""
from __future__ import annotations

import pickle

from personalize_mock.recipes.base import Engine, Model
from personalize_mock.recipes.engines.popularity import NAME as POPULARITY_COUNT
from personalize_mock.recipes.engines.popularity import PopularityEngine, PopularityModel
from personalize_mock.recipes.engines.user_personalization import (
    PERSONALIZED_RANKING,
    USER_PERSONALIZATION,
    SequenceEngine,
    SequenceModel,
)

ENGINES: dict[str, Engine] = {
    POPULARITY_COUNT: PopularityEngine(),
    USER_PERSONALIZATION: SequenceEngine(USER_PERSONALIZATION),
    # Personalized-Ranking "uses the same HRNN algorithm underneath User-Personalization" (spec §1.2).
    PERSONALIZED_RANKING: SequenceEngine(PERSONALIZED_RANKING),
}

_MODEL_CLASSES = {
    POPULARITY_COUNT: PopularityModel,
    USER_PERSONALIZATION: SequenceModel,
    PERSONALIZED_RANKING: SequenceModel,
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
