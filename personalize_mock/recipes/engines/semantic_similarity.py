"""aws-semantic-similarity: related items by the content of their Items records (spec §1.2, §6.5).

AWS embeds the item text with a language model; none can be downloaded here, so this engine
compares the items' words: TF-IDF cosine similarity, the count-based classic. Categorical fields
(GENRES=Comedy, ...) add IDF-weighted one-hot vectors. Numeric fields are not content and are left
out. Interactions are optional and never change the similarity itself.

The content space (ContentSpace), fitted once per training:

* text: TrainingData.item_texts (the raw text of the title and textual fields, all fields' words in one
  bag). Words are lower-cased runs of 2+ letters or digits; words in more than
  MAX_DOCUMENT_FREQUENCY of the items with text are dropped (they relate everything); tf is
  1 + log(count), idf log((1 + n) / (1 + df)) + 1, rows unit-normalised. Scoring goes through an
  inverted index (TextIndex): a query costs the postings of its words, not a scan of the catalogue.
  The rows and the postings take about 16 bytes per (item, word) pair. An earlier version reduced
  the rows to 128 LSA dimensions; on generated catalogues whose items share rare topic words the
  truncation lost them (top-5 topic precision 0.55 at 2 k items, 0.11 at 20 k, 0.0007 at 100 k)
  where the exact cosine kept 0.96-0.98;
* categories: item_features' "FIELD=value" columns, weighted by a per-column idf over the items
  with the field, unit-normalised per field, the fields side by side.

similarity(i, j) = a_i a_j text_cosine + b_i b_j category_cosine, with (a, b) = (sqrt(TEXT_WEIGHT),
sqrt(1 - TEXT_WEIGHT)) for an item with both parts, (1, 0) or (0, 1) for one with one part: the
cosine of unit([a * text, b * categories]). Items with neither text nor categories are never
recommended and, as queries, get the fallback list, as unknown item ids do: the most popular
items (distinct users), then the newest.

Incremental updates (performIncrementalUpdate): update_items places new or changed items in the
same fitted space (vocabulary, idf, category weights; words and values the training did not see
count for nothing until retraining), so an item re-sent unchanged keeps its similarities.

Ranking influence (campaignConfig.rankingInfluence, passed to recommend() as
ranking_influence={"POPULARITY": p, "FRESHNESS": f}, each in [0, 1], default 0) adds
p * popularity + f * freshness to the similarity: popularity = log(1 + distinct users) /
log(1 + max), freshness = 1 - age / oldest age, age measured from the newest CREATION_TIMESTAMP or
interaction (items without CREATION_TIMESTAMP: their first interaction; with neither: created at
the latest interaction, i.e. brand new; spec §6.1). Both are computed at training, as AWS
documents.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from personalize_mock.recipes.base import FeatureMatrix, ItemRecords, Scored, TrainingData
from personalize_mock.recipes.engines.similar_items import VectorModel, transpose_csr
from personalize_mock.recipes.engines.sims import sorted_unique

NAME = "aws-semantic-similarity"

TEXT_WEIGHT = 0.75  # share of the text cosine when an item has both text and categories
MAX_DOCUMENT_FREQUENCY = 0.5  # words in more than this share of the items with text are dropped
MERGE_FRACTION = 0.125  # rows set by update_items join the postings past this share of their size
MERGE_MIN = 1024  # ... and past this many (word, item) entries
INFLUENCE_KEYS = ("POPULARITY", "FRESHNESS")
_CATEGORY_COLUMN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_TOKEN = r"[^\W_]{2,}"  # words of 2+ letters or digits (any script)

Csr = tuple[np.ndarray, np.ndarray, np.ndarray]  # (indptr, columns, values)


@dataclass(frozen=True)
class Params:
    """AWS exposes no hyperparameters for this recipe."""


class SemanticSimilarityModel(VectorModel):
    """VectorModel's vectors hold the (scaled) category part; the text part lives in a TextIndex."""

    engine_name = NAME

    def __init__(self, params: Params, item_ids: np.ndarray, popular: np.ndarray, vectors: np.ndarray,
                 popularity: np.ndarray, freshness: np.ndarray, training_info: dict | None = None,
                 space: "ContentSpace | None" = None, text: "TextIndex | None" = None):
        super().__init__(params, item_ids, popular, vectors, np.zeros(len(item_ids), dtype=np.float32),
                         training_info)
        self.popularity = np.asarray(popularity, dtype=np.float32)  # in [0, 1]
        self.freshness = np.asarray(freshness, dtype=np.float32)  # in [0, 1], 1 = newest
        self.space = space if space is not None else ContentSpace()
        self.text = text
        if text is not None:
            self._set_valid(self._valid | text.has_text(len(item_ids)))

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

    def _item_scores(self, code: int) -> np.ndarray:
        return self._profile_scores(np.array([code]), np.ones(1))

    def _profile_scores(self, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Similarity of every item to the weighted sum of these items' contents."""
        n = len(self.item_ids)
        scores = self.vectors @ (weights.astype(np.float32) @ self.vectors[codes]) if self.vectors.shape[1] \
            else np.zeros(n, dtype=np.float32)
        if self.text is not None:
            scores += self.text.scores(*self.text.profile(codes, weights), n)
        return scores

    def _top(self, scores: np.ndarray, limit: int, banned: np.ndarray) -> np.ndarray:
        """VectorModel's order (score, then popularity; then code), selected on distinct integer
        keys: the category part and the ranking influence leave many exact ties, over which a
        float partition is ~20x slower."""
        limit = min(limit, len(scores))
        if limit <= 0:
            return np.empty(0, dtype=np.int64)
        keep = np.isfinite(scores)
        keep[banned] = False
        pool = np.flatnonzero(keep)
        rank = self._pop_rank[pool]
        rank = np.where(rank < len(self.popular), rank, len(self.popular) + pool)
        keys = _descending_keys(scores[pool], rank)
        if len(pool) > limit:
            best = np.argpartition(keys, len(pool) - limit)[len(pool) - limit:]
            pool, keys = pool[best], keys[best]
        return pool[np.argsort(keys)[::-1]]

    def _ranked_many(self, histories: Sequence[Sequence[str]], limit: int) -> list[np.ndarray]:
        """Items scored against the recency-weighted mean content of each history's newest items."""
        owner, codes, weights, limit = self._weighted_windows(histories, limit)
        out = [np.empty(0, dtype=np.int64) for _ in histories]
        if limit <= 0 or not len(owner):
            return out
        bounds = np.searchsorted(owner, np.arange(len(histories) + 1))
        nothing = np.empty(0, dtype=np.int64)
        for h in np.unique(owner).tolist():
            lo, hi = bounds[h], bounds[h + 1]
            scores = self._profile_scores(codes[lo:hi], weights[lo:hi] / weights[lo:hi].sum())
            out[h] = self._top(scores + self._offset, limit, nothing)
        return out

    def update_items(self, records: ItemRecords) -> None:
        """Incremental update: new or changed items get their content in the fitted space. New
        items get popularity and freshness 0 and stay out of the fallback list (AWS: those may
        not update until the next full training)."""
        if not len(records.item_ids):
            return
        content = self.space.embed(records.texts, records.category_records, records.category_columns,
                                   len(records.item_ids))
        codes = self._codes_for(records.item_ids)
        m = int((codes >= len(self.item_ids)).sum())
        self.popularity = np.concatenate([self.popularity, np.zeros(m, dtype=np.float32)])
        self.freshness = np.concatenate([self.freshness, np.zeros(m, dtype=np.float32)])
        if self.text is not None:
            self.text.set_rows(codes, content.text)
        self._store(codes, records.item_ids, content.categories, content.present)

    def _state(self) -> dict:
        state = super()._state()
        state.update(popularity=self.popularity, freshness=self.freshness, space=self.space.state(),
                     text=None if self.text is None else self.text.state())
        return state

    @classmethod
    def _from_state(cls, s: dict) -> "SemanticSimilarityModel":
        text = None if s["text"] is None else TextIndex(*s["text"])
        return cls(Params(**s["params"]), np.array(s["item_ids"], dtype=object), s["popular"], s["vectors"],
                   s["popularity"], s["freshness"], s["training_info"], ContentSpace(**s["space"]), text)


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


# ---- the content space --------------------------------------------------------------------------

@dataclass
class Content:
    """Items placed in a ContentSpace, each part already scaled by its share (a, b)."""

    text: Csr | None  # tf-idf rows (word codes), one per item; None: the space has no text part
    categories: np.ndarray  # float32 [items, category columns] (0 columns without that part)
    present: np.ndarray  # bool per item: it has text or categories


@dataclass
class ContentSpace:
    """What training fits to place item content (see the module docstring); embed() places any
    item in it, those of the training catalogue and new ones alike."""

    text_fields: tuple[str, ...] = ()
    words: np.ndarray | None = None  # object[str]: the vocabulary; None: no text part
    word_idf: np.ndarray | None = None  # float32 per word
    category_columns: np.ndarray | None = None  # object[str] "FIELD=value" in vector order; None: no part
    category_idf: np.ndarray | None = None  # float32 per category column
    category_fields: np.ndarray | None = None  # int64 field number per category column
    _lookups: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fit(cls, texts: Mapping[str, Sequence[str | None]] | None, features: FeatureMatrix | None,
            n_items: int) -> tuple["ContentSpace", Content]:
        """(the space, the training items placed in it)."""
        space = cls(text_fields=tuple(texts or {}))
        text = space._fit_text(texts or {}, n_items)
        categories = space._fit_categories(features, n_items)
        return space, _scaled(text, categories, n_items)

    def _fit_text(self, texts: Mapping[str, Sequence[str | None]], n: int) -> Csr | None:
        doc, word, vocabulary, counts = term_counts(texts, self.text_fields, n)
        if not len(doc):
            return None
        n_docs = int(np.count_nonzero(np.bincount(doc, minlength=n)))
        df = np.bincount(word, minlength=len(vocabulary))
        keep_word = df <= max(2, MAX_DOCUMENT_FREQUENCY * n_docs)
        keep = keep_word[word]
        if not keep.any():
            return None
        self.words = vocabulary[keep_word]
        self.word_idf = _idf(df[keep_word], n_docs).astype(np.float32)
        return tfidf_rows(doc[keep], (np.cumsum(keep_word) - 1)[word[keep]], counts[keep], self.word_idf, n)

    def _fit_categories(self, features: FeatureMatrix | None, n: int) -> np.ndarray | None:
        by_field: dict[str, list[int]] = {}
        for j, name in enumerate(features.columns if features is not None else ()):
            match = _CATEGORY_COLUMN.match(name)
            if match:
                by_field.setdefault(match.group(1), []).append(j)
        groups = [cols for _, cols in sorted(by_field.items())]  # fields side by side, by name
        order = [j for cols in groups for j in cols]
        if not order:
            return None
        block = np.nan_to_num(np.asarray(features.values[:, order], dtype=np.float32))
        rows, cols = np.nonzero(block)
        if not len(rows):
            return None
        fields = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        # a column's idf counts the items that have any value of its field
        with_field = np.bincount(sorted_unique(rows * len(groups) + fields[cols])[0] % len(groups),
                                 minlength=len(groups))
        self.category_columns = np.asarray(features.columns, dtype=object)[order]
        self.category_idf = _idf(np.bincount(cols, minlength=len(order)), with_field[fields]).astype(np.float32)
        self.category_fields = fields.astype(np.int64)
        return self._categories(rows, cols, block[rows, cols], n)

    def _categories(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
        """n x category columns: idf-weighted values, unit-normalised per (item, field)."""
        n_fields = int(self.category_fields.max()) + 1
        weight = np.asarray(values, dtype=np.float32) * self.category_idf[cols]
        _, group = np.unique(rows * n_fields + self.category_fields[cols], return_inverse=True)
        norms = np.sqrt(np.bincount(group, weights=weight.astype(np.float64) ** 2))
        out = np.zeros((n, len(self.category_columns)), dtype=np.float32)
        out[rows, cols] = weight / norms[group].astype(np.float32)
        return out

    def embed(self, texts: Mapping[str, Sequence[str | None]], category_records: np.ndarray,
              category_columns: np.ndarray, n: int) -> Content:
        """n items placed from their raw texts (as TrainingData.item_texts) and their categorical
        values (record position, "FIELD=value"); unknown words and values count for nothing."""
        text = None
        if self.words is not None:
            doc, word, vocabulary, counts = term_counts(texts, self.text_fields, n)
            known = self._lookup("words").get_indexer(vocabulary)[word]
            ok = known >= 0
            text = tfidf_rows(doc[ok], known[ok], counts[ok], self.word_idf, n)
        categories = None
        if self.category_columns is not None:
            width = len(self.category_columns)
            cols = self._lookup("category_columns").get_indexer(np.asarray(category_columns, dtype=object))
            ok = cols >= 0
            # one (item, column) pair per value, however often the record repeats it
            pairs = sorted_unique(np.asarray(category_records, dtype=np.int64)[ok] * width + cols[ok])[0]
            categories = self._categories(pairs // width, pairs % width, np.ones(len(pairs), dtype=np.float32), n)
        return _scaled(text, categories, n)

    def _lookup(self, name: str) -> pd.Index:
        index = self._lookups.get(name)
        if index is None:
            index = self._lookups[name] = pd.Index(getattr(self, name))
        return index

    def state(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def _scaled(text: Csr | None, categories: np.ndarray | None, n: int) -> Content:
    """Each part scaled by its share: sqrt(TEXT_WEIGHT) / sqrt(1 - TEXT_WEIGHT) for items with both
    parts, 1 for items with one (both parts arrive unit-normalised per item)."""
    has_text = np.diff(text[0]) > 0 if text is not None else np.zeros(n, dtype=bool)
    has_categories = np.any(categories != 0, axis=1) if categories is not None else np.zeros(n, dtype=bool)
    both = has_text & has_categories
    if text is not None:
        indptr, words, weights = text
        share = np.where(both, np.sqrt(TEXT_WEIGHT), 1.0).astype(np.float32)
        text = (indptr, words, weights * np.repeat(share, np.diff(indptr)))
    if categories is None:
        categories = np.zeros((n, 0), dtype=np.float32)
    else:
        categories *= np.where(both, np.sqrt(1.0 - TEXT_WEIGHT), 1.0).astype(np.float32)[:, None]
    return Content(text, categories, has_text | has_categories)


def _descending_keys(scores: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """int64 keys, distinct for distinct ranks, ordered as (score descending, rank ascending): the
    float32 bits made monotone in the value, above the complement of the rank (< 2^32)."""
    bits = np.asarray(scores, dtype=np.float32).view(np.int32).astype(np.int64)
    bits = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    return (bits << 32) | (0xFFFFFFFF - rank.astype(np.int64))


def _idf(df: np.ndarray, n_docs: np.ndarray | int) -> np.ndarray:
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def term_counts(texts: Mapping[str, Sequence[str | None]], fields: Sequence[str],
                n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(item, word code, count) per distinct word of each item over the given text fields, sorted
    by item, and the words (code -> word)."""
    docs, words = [], []
    for name in fields:
        column = texts.get(name)
        if column is None:
            continue
        series = pd.Series(column, dtype=object)
        if len(series) != n:
            raise ValueError(f"item_texts columns must hold one entry per item ({n}), got {len(series)}")
        text = series.dropna()
        if len(text):
            tokens = text.str.lower().str.findall(_TOKEN).explode().dropna()
            docs.append(tokens.index.to_numpy(dtype=np.int64))
            words.append(tokens.to_numpy(dtype=object))
    if not sum(len(d) for d in docs):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=object), empty
    codes, vocabulary = pd.factorize(np.concatenate(words))
    keys, counts = sorted_unique(np.concatenate(docs) * len(vocabulary) + codes)
    return keys // len(vocabulary), keys % len(vocabulary), np.asarray(vocabulary, dtype=object), counts


def tfidf_rows(doc: np.ndarray, word: np.ndarray, counts: np.ndarray, idf: np.ndarray, n: int) -> Csr:
    """CSR of unit tf-idf rows, one per item (empty rows for items without words); doc sorted."""
    weight = (1.0 + np.log(counts)) * idf[word]
    norms = np.sqrt(np.bincount(doc, weights=weight ** 2, minlength=n))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n), out=indptr[1:])
    return indptr, word.astype(np.int32), (weight / norms[doc]).astype(np.float32)


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions starts[i] .. starts[i] + lengths[i] - 1 of every span, one after the other."""
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


class TextIndex:
    """The items' scaled tf-idf rows, and their postings (word -> items) for scoring a query
    against every item at the cost of its words' postings. Rows set after the postings were built
    (update_items) are kept apart and scored directly, their stale postings overridden; they are
    merged into the postings once they pass MERGE_FRACTION of them."""

    def __init__(self, n_words: int, indptr: np.ndarray, words: np.ndarray, weights: np.ndarray):
        self.n_words = int(n_words)
        self._build(np.asarray(indptr, dtype=np.int64), np.asarray(words, dtype=np.int32),
                    np.asarray(weights, dtype=np.float32))

    def _build(self, indptr: np.ndarray, words: np.ndarray, weights: np.ndarray) -> None:
        self.rows: Csr = (indptr, words, weights)  # item-major
        ptr, items, values = transpose_csr(indptr, words, weights, self.n_words)
        self.postings: Csr = (ptr, items.astype(np.int32), values)  # word-major
        self.recent_codes = np.empty(0, dtype=np.int64)  # rows set since, as one small CSR
        self.recent: Csr = (np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int32),
                            np.empty(0, dtype=np.float32))
        self._recent_slot: dict[int, int] = {}

    def has_text(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        indptr = self.rows[0]
        out[:len(indptr) - 1] = np.diff(indptr) > 0
        out[self.recent_codes] = np.diff(self.recent[0]) > 0
        return out

    def profile(self, codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(words, weights) of the weighted sum of these items' rows."""
        parts = [self._row(int(c)) for c in codes]
        words = np.concatenate([w for w, _ in parts])
        values = np.concatenate([v * np.float32(f) for (_, v), f in zip(parts, weights)])
        unique, inverse = np.unique(words, return_inverse=True)
        return unique, np.bincount(inverse, weights=values, minlength=len(unique)).astype(np.float32)

    def _row(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        slot = self._recent_slot.get(code)
        indptr, words, weights = self.recent if slot is not None else self.rows
        at = slot if slot is not None else code
        if at + 1 >= len(indptr):
            return words[:0], weights[:0]
        return words[indptr[at]:indptr[at + 1]], weights[indptr[at]:indptr[at + 1]]

    def scores(self, words: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
        """The dot product of the query row (words, weights; distinct words) with every item's."""
        ptr, items, values = self.postings
        lengths = ptr[words + 1] - ptr[words]
        at = _spans(ptr[words], lengths)
        size = max(n, int(self.recent_codes.max()) + 1) if len(self.recent_codes) else n  # rows set, ids not yet
        out = np.bincount(items[at], weights=values[at] * np.repeat(weights, lengths), minlength=size)
        out = out.astype(np.float32)
        if len(self.recent_codes):
            query = np.zeros(self.n_words, dtype=np.float32)
            query[words] = weights
            indptr, recent_words, recent_weights = self.recent
            slots = np.repeat(np.arange(len(self.recent_codes)), np.diff(indptr))
            out[self.recent_codes] = np.bincount(slots, weights=recent_weights * query[recent_words],
                                                 minlength=len(self.recent_codes))
        return out[:n]

    def set_rows(self, codes: np.ndarray, rows: Csr) -> None:
        """Replace (or add) the rows of these item codes."""
        kept = ~np.isin(self.recent_codes, codes)
        codes = np.concatenate([self.recent_codes[kept], codes])
        self.recent = _concat_rows(_take_rows(self.recent, np.flatnonzero(kept)), rows)
        self.recent_codes = codes
        self._recent_slot = {c: s for s, c in enumerate(codes.tolist())}
        if len(self.recent[1]) > max(MERGE_MIN, MERGE_FRACTION * len(self.rows[1])):
            self._build(*self._merged())

    def _merged(self) -> Csr:
        """The item-major rows with the recent rows in their places."""
        indptr, words, weights = self.rows
        n = max(len(indptr) - 1, int(self.recent_codes.max()) + 1 if len(self.recent_codes) else 0)
        starts = np.zeros(n, dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        starts[:len(indptr) - 1], lengths[:len(indptr) - 1] = indptr[:-1], np.diff(indptr)
        r_indptr, r_words, r_weights = self.recent
        starts[self.recent_codes] = len(words) + r_indptr[:-1]
        lengths[self.recent_codes] = np.diff(r_indptr)
        at = _spans(starts, lengths)
        merged = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=merged[1:])
        return merged, np.concatenate([words, r_words])[at], np.concatenate([weights, r_weights])[at]

    def state(self) -> tuple:
        return (self.n_words, *self._merged())


def _take_rows(rows: Csr, which: np.ndarray) -> Csr:
    indptr, words, weights = rows
    lengths = indptr[which + 1] - indptr[which]
    at = _spans(indptr[which], lengths)
    out = np.zeros(len(which) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out, words[at], weights[at]


def _concat_rows(a: Csr, b: Csr) -> Csr:
    return (np.concatenate([a[0], a[0][-1] + b[0][1:]]), np.concatenate([a[1], b[1]]).astype(np.int32),
            np.concatenate([a[2], b[2]]).astype(np.float32))


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
        """No hyperparameters (AWS exposes none); unknown ones are ignored. Deterministic: the
        seed is not needed."""
        n = data.n_items
        space, content = ContentSpace.fit(data.item_texts, data.item_features, n)
        if not content.present.any():
            raise ValueError("Semantic-Similarity needs item text or categorical fields in the Items dataset")
        text = None if content.text is None else TextIndex(len(space.words), *content.text)
        distinct, popularity, freshness = popularity_and_freshness(data)
        fallback = np.lexsort((np.arange(n), -freshness, -distinct))
        fallback = fallback[(distinct[fallback] > 0) | content.present[fallback]]
        info = {"n_items_with_content": int(content.present.sum()),
                "n_words": 0 if space.words is None else int(len(space.words)),
                "n_category_columns": int(content.categories.shape[1])}
        return SemanticSimilarityModel(Params(), data.item_ids, fallback, content.categories, popularity,
                                       freshness, info, space, text)
