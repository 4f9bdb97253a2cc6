"""aws-semantic-similarity: related items by the content of their Items records (spec §1.2, §6.5).

AWS embeds the item text with a language model; none can be downloaded here, so this engine uses
latent semantic analysis, the classic count-based equivalent: TF-IDF weights over the items'
words, reduced by a truncated SVD so that items whose words co-occur across the catalogue (not
only identical words) come out close. Categorical fields (GENRES=Comedy, ...) add IDF-weighted
one-hot vectors. Numeric fields are not content and are left out. Interactions are optional and
never change the similarity itself.

Where the text comes from:

* raw text, when the TrainingData carries `item_texts` (a mapping field name -> one str or None
  per item code, for the textual fields and the itemName field): words are lower-cased runs of
  2+ letters or digits; words found in a single item or in more than MAX_DOCUMENT_FREQUENCY of
  the items with text are dropped (they cannot relate two items / they relate all of them); tf is
  1 + log(count), idf log((1 + n) / (1 + df)) + 1, rows unit-normalised; LSA keeps
  min(LSA_DIM, items, words) dimensions (exact cosines when that covers every item);
* otherwise the data layer's hashed text columns of item_features ("FIELD#j": log counts of the
  words hashed into TEXT_DIMS buckets, unit-normalised per field), re-weighted by a per-column
  idf and unit-normalised per field. Hash buckets mix unrelated words, so this is coarser.

Item vector = unit([sqrt(TEXT_WEIGHT) * unit(text), sqrt(1 - TEXT_WEIGHT) * unit(categories)])
(only the part an item has, when it lacks the other); similarity is the cosine. Items with
neither text nor categories have no vector: they are never recommended and, as queries, get the
fallback list, as unknown item ids do: the most popular items (distinct users), then the newest.

Ranking influence (campaignConfig.rankingInfluence, passed to recommend() as
ranking_influence={"POPULARITY": p, "FRESHNESS": f}, each in [0, 1], default 0) adds
p * popularity + f * freshness to the cosine: popularity = log(1 + distinct users) / log(1 + max),
freshness = 1 - age / oldest age, age measured from the newest CREATION_TIMESTAMP or interaction
(items without CREATION_TIMESTAMP: their first interaction; with neither: created at the latest
interaction, i.e. brand new; spec §6.1). Both are computed at training, as AWS documents.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from personalize_mock.recipes.base import Scored, TrainingData
from personalize_mock.recipes.engines.similar_items import (
    SparseRows,
    VectorModel,
    top_right_singular,
    transpose_csr,
    unit_rows,
)
from personalize_mock.recipes.engines.sims import single_threaded_blas, sorted_unique

NAME = "aws-semantic-similarity"

LSA_DIM = 128  # latent dimensions of the raw-text LSA (a query scans n_items x dims floats)
TEXT_WEIGHT = 0.75  # share of the text cosine when an item has both text and categories
MAX_DOCUMENT_FREQUENCY = 0.5  # words in more than this share of the items with text are dropped
INFLUENCE_KEYS = ("POPULARITY", "FRESHNESS")
_COLUMN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)([=#])(.*)$", re.S)
_TOKEN = r"[^\W_]{2,}"  # words of 2+ letters or digits (any script)


@dataclass(frozen=True)
class Params:
    """AWS exposes no hyperparameters for this recipe."""


class SemanticSimilarityModel(VectorModel):
    engine_name = NAME

    def __init__(self, params: Params, item_ids: np.ndarray, popular: np.ndarray, vectors: np.ndarray,
                 popularity: np.ndarray, freshness: np.ndarray, training_info: dict | None = None):
        super().__init__(params, item_ids, popular, vectors, np.zeros(len(item_ids), dtype=np.float32),
                         training_info)
        self.popularity = np.asarray(popularity, dtype=np.float32)  # in [0, 1]
        self.freshness = np.asarray(freshness, dtype=np.float32)  # in [0, 1], 1 = newest

    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None,
                  ranking_influence: Mapping[str, float | str] | None = None) -> list[Scored]:
        """The items whose content is closest to item_id's, optionally pulled towards popular
        and fresh items; unknown items (or items without content) get the fallback list."""
        offset = self._offset
        weights = parse_ranking_influence(ranking_influence)
        if any(weights.values()):
            offset = offset + weights["POPULARITY"] * self.popularity + weights["FRESHNESS"] * self.freshness
        return self._similar(item_id, k, exclude, candidates, offset)

    def _state(self) -> dict:
        state = super()._state()
        state.update(popularity=self.popularity, freshness=self.freshness)
        return state

    @classmethod
    def _from_state(cls, s: dict) -> "SemanticSimilarityModel":
        return cls(Params(**s["params"]), np.array(s["item_ids"], dtype=object), s["popular"], s["vectors"],
                   s["popularity"], s["freshness"], s["training_info"])


def parse_ranking_influence(influence: Mapping[str, float | str] | None) -> dict[str, np.float32]:
    """{"POPULARITY": p, "FRESHNESS": f} with values in [0, 1] (numbers or numeric strings)."""
    out = {key: np.float32(0.0) for key in INFLUENCE_KEYS}
    for key, value in (influence or {}).items():
        name = str(key).upper()
        if name not in out:
            raise ValueError(f"rankingInfluence key {key!r} is not one of {', '.join(INFLUENCE_KEYS)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"rankingInfluence {key} must be a number, got {value!r}") from None
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"rankingInfluence {key} must be in [0, 1], got {number}")
        out[name] = np.float32(number)
    return out


# ---- content vectors --------------------------------------------------------------------------

def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def raw_text_vectors(texts: Mapping[str, Sequence[str | None]], n_items: int, seed: int) -> np.ndarray | None:
    """LSA vectors (n_items x dims) of the items' words across all text fields; None without text."""
    docs, words = [], []
    for column in texts.values():
        series = pd.Series(list(column), dtype=object)
        if len(series) != n_items:
            raise ValueError(f"item_texts columns must hold one entry per item ({n_items}), got {len(series)}")
        text = series[series.map(lambda t: isinstance(t, str))]
        tokens = text.str.lower().str.findall(_TOKEN).explode().dropna()
        docs.append(tokens.index.to_numpy(dtype=np.int64))
        words.append(tokens.to_numpy(dtype=object))
    if not docs or not sum(len(d) for d in docs):
        return None
    doc = np.concatenate(docs)
    word_codes, vocabulary = pd.factorize(np.concatenate(words))
    n_words = len(vocabulary)
    keys, counts = sorted_unique(doc * n_words + word_codes)
    doc, word = keys // n_words, keys % n_words
    n_docs = int(np.count_nonzero(np.bincount(doc, minlength=n_items)))
    df = np.bincount(word, minlength=n_words)
    keep_word = (df >= 2) & (df <= max(2, MAX_DOCUMENT_FREQUENCY * n_docs))
    keep = keep_word[word]
    if not keep.any():
        return None
    doc, word, counts = doc[keep], word[keep], counts[keep]
    remap = np.cumsum(keep_word) - 1
    word = remap[word]
    n_words = int(keep_word.sum())
    weight = (1.0 + np.log(counts)) * _idf(df[keep_word], n_docs)[word]
    norms = np.sqrt(np.bincount(doc, weights=weight ** 2, minlength=n_items))
    weight = (weight / norms[doc]).astype(np.float32)
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n_items), out=indptr[1:])
    items_by_word = transpose_csr(indptr, word, weight, n_words)  # words x items
    rank = max(1, min(LSA_DIM, int((np.diff(indptr) > 0).sum()), n_words))
    s, v = top_right_singular(SparseRows(*items_by_word), SparseRows(indptr, word, weight), rank, seed)
    return v * s[None, :].astype(np.float32)


def feature_vectors(columns: list[str], values: np.ndarray,
                    use_text: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(text part, categorical part) from item_features: per-column idf, each field unit-normalised
    and the fields side by side (a part's cosine is then the sum of its fields' cosines, scaled);
    None for a part without columns. use_text=False leaves the hashed text columns out."""
    fields: dict[tuple[str, str], list[int]] = {}
    for j, name in enumerate(columns):
        match = _COLUMN.match(name)
        if match and (match.group(2) == "=" or use_text):
            fields.setdefault((match.group(2), match.group(1)), []).append(j)
    parts: dict[str, np.ndarray | None] = {"#": None, "=": None}
    for (kind, _), cols in sorted(fields.items()):
        block = np.nan_to_num(np.asarray(values[:, cols], dtype=np.float32))
        present = np.any(block != 0, axis=1)
        if not present.any():
            continue
        df = np.count_nonzero(block[present], axis=0)
        block = unit_rows(block * _idf(df, int(present.sum())).astype(np.float32))
        parts[kind] = block if parts[kind] is None else np.hstack([parts[kind], block])
    return parts["#"], parts["="]


def combine(text: np.ndarray | None, categories: np.ndarray | None, n_items: int) -> np.ndarray:
    blocks = []
    if text is not None:
        blocks.append(np.float32(np.sqrt(TEXT_WEIGHT)) * unit_rows(text))
    if categories is not None:
        blocks.append(np.float32(np.sqrt(1.0 - TEXT_WEIGHT)) * unit_rows(categories))
    if not blocks:
        return np.zeros((n_items, 1), dtype=np.float32)
    return unit_rows(np.hstack(blocks).astype(np.float32))


def popularity_and_freshness(data: TrainingData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct users, popularity in [0, 1], freshness in [0, 1]) per item code."""
    n = data.n_items
    items = np.asarray(data.items, dtype=np.int64)
    users = np.asarray(data.users, dtype=np.int64)
    pairs = sorted_unique(users * n + items)[0]
    distinct = np.bincount(pairs % n, minlength=n).astype(np.float64)
    log_pop = np.log1p(distinct)
    popularity = log_pop / log_pop.max() if log_pop.max() > 0 else np.zeros(n)

    created = np.full(n, -1, dtype=np.int64)
    if data.item_creation_timestamps is not None:
        created = np.asarray(data.item_creation_timestamps, dtype=np.int64).copy()
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    if len(items):
        np.minimum.at(first, items, data.timestamps)
        latest = int(np.max(data.timestamps))
        unknown = created < 0
        created[unknown] = np.where(first[unknown] < np.iinfo(np.int64).max, first[unknown], latest)
    known = created >= 0
    freshness = np.zeros(n)
    if known.any():
        newest = max(int(created[known].max()), int(np.max(data.timestamps)) if len(items) else 0)
        oldest = int(created[known].min())
        span = max(newest - oldest, 1)
        freshness[known] = 1.0 - (newest - created[known]) / span
    return distinct, popularity.astype(np.float32), np.clip(freshness, 0.0, 1.0).astype(np.float32)


class SemanticSimilarityEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
            seed: int = 0) -> SemanticSimilarityModel:
        """No hyperparameters (AWS exposes none); unknown ones are ignored."""
        with single_threaded_blas():
            return self._fit(data, seed)

    def _fit(self, data: TrainingData, seed: int) -> SemanticSimilarityModel:
        n = data.n_items
        texts = getattr(data, "item_texts", None)
        text = raw_text_vectors(texts, n, seed) if texts else None
        features = data.item_features
        categories = None
        if features is not None and features.values.shape[1]:
            hashed, categories = feature_vectors(features.columns, features.values, use_text=text is None)
            text = text if text is not None else hashed
        vectors = combine(text, categories, n)
        if not np.any(vectors):
            raise ValueError("Semantic-Similarity needs item text or categorical fields in the Items dataset")
        distinct, popularity, freshness = popularity_and_freshness(data)
        fallback = np.lexsort((np.arange(n), -freshness, -distinct))
        has_content = np.any(vectors != 0, axis=1)
        fallback = fallback[(distinct[fallback] > 0) | has_content[fallback]]
        info = {"text_source": "item_texts" if texts else ("hashed item_features" if text is not None else "none"),
                "dims": int(vectors.shape[1]), "n_items_with_content": int(has_content.sum())}
        return SemanticSimilarityModel(Params(), data.item_ids, fallback, vectors, popularity, freshness, info)
