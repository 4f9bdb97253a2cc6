"""aws-similar-items: related items from co-occurrence in user histories and item metadata, so
that items with few or no interactions still get neighbours (spec §1.2, §6.5).

AWS trains a deep model on both signals; its design is not published. This engine builds the
same kind of item vectors in closed form (numpy only; the only randomness is the seeded start of
the SVD):

1. co-occurrence vectors (item_id_hidden_dim): a truncated SVD of the user-item matrix X, each
   user's row scaled by 1/sqrt(history length) and each item's column by pop^-COLUMN_EXPONENT
   (pop = distinct users; a user's MAX_PAIR_HISTORY newest distinct items count). The rows of V S
   factorise the normalised co-occurrence matrix X^T X = V S^2 V^T, so items that share users
   point the same way: an SVD of X is the spectral embedding of co-occurrence at the cost of
   X's non-zeros, not of the (much denser) co-occurrence matrix. Randomised SVD (Halko et al.):
   subspace iteration with SVD_POWER_ITERATIONS passes from a seeded Gaussian start;
2. metadata vectors (item_metadata_hidden_dim): TrainingData.item_features (categorical one-hots,
   standardised numerics, hashed text), projected on their top right singular vectors when they
   have more columns than that;
3. a ridge regression from metadata vectors to co-occurrence vectors, fitted on the items with
   interactions (weighted by their confidence c below), predicts a co-occurrence vector for every
   item: a cold item lands next to the warm items with the same metadata;
4. item vector = unit([sqrt(1 - META_WEIGHT) * unit(c * unit(cf) + (1 - c) * unit(predicted)),
   sqrt(META_WEIGHT) * unit(metadata)]) with confidence c = pop / (pop + COLD_INTERACTIONS): an
   item without interactions is placed by its metadata alone, a popular one by its
   co-occurrences. Without item metadata the vectors are the co-occurrence ones, and items
   without interactions have none (never returned; as queries they get popular items).

Similarity is the dot product of item vectors (a cosine) plus a popularity term
(1 - popularity_discount_factor) * POPULARITY_WEIGHT * log(1 + pop) / log(1 + max pop): at the
default 0.0 popular items are favoured among similar ones, at 1.0 popularity plays no part
(AWS: "closer to 0 = more popular items"). No scores in responses (spec §4.2.2). An unknown item
gets popular items (§4.2.4); lists are padded with popular items. history_recommend scores items
against the recency-weighted (HISTORY_DECAY ** age) mean of the vectors of the history's
HISTORY_WINDOW newest items (plus the popularity term); seen items stay eligible.

Cost (one core): bench/grocery.py's 1.7 M interactions / 187 k items fit in ~10 s; a query scans
all item vectors (187 k x 200 float32: ~20 ms; 2 k items: ~0.1 ms).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import Scored, TrainingData
from personalize_mock.recipes.engines.sims import (
    HISTORY_DECAY,
    HISTORY_WINDOW,
    RelatedItemsBase,
    popularity_ranking,
    single_threaded_blas,
    training_histories,
)
from personalize_mock.recipes.engines.sims import Params as SimsParams

NAME = "aws-similar-items"

COLD_INTERACTIONS = 5.0  # AWS: items with fewer than 5 interactions are "cold"; c = pop / (pop + 5)
META_WEIGHT = 0.1  # share of the direct metadata cosine (0.0-0.4 tried on synthetic and ml-100k)
POPULARITY_WEIGHT = 0.3  # popularity term at popularity_discount_factor 0 (0.1-0.5 tried)
COLUMN_EXPONENT = 0.5  # item column scaling pop^-x before the SVD (0, 0.25, 0.75 did worse)
RIDGE = 1.0  # ridge penalty of the metadata -> co-occurrence map (per unit of confidence)
SVD_POWER_ITERATIONS = 2  # 4 gave the same metrics on synthetic and ml-100k
SVD_OVERSAMPLE = 10
MATMUL_CHUNK = 1 << 16  # non-zeros per chunk in sparse x dense products (~30 MB gathered)
SCORE_BATCH = 64  # histories scored against the whole catalogue at once


@dataclass(frozen=True)
class Params:
    popularity_discount_factor: float = 0.0
    item_id_hidden_dim: int = 100
    item_metadata_hidden_dim: int = 100


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, typed Params out; unknown keys are ignored. The hidden dimensions accept
    [1, 1024] (AWS's documented [30, 200] is the control plane's to enforce)."""
    raw = hp.raw_hyperparameters(hyperparameters)
    kwargs: dict = {}
    if "popularity_discount_factor" in raw:
        kwargs["popularity_discount_factor"] = hp.fraction(raw, "popularity_discount_factor")
    for name in ("item_id_hidden_dim", "item_metadata_hidden_dim"):
        if name in raw:
            kwargs[name] = hp.integer(raw, name, 1, 1024)
    return Params(**kwargs)


# ---- linear algebra helpers (numpy only) -------------------------------------------------------

class SparseRows:
    """A CSR matrix prepared for products with dense matrices: rows are grouped by their number of
    non-zeros, so that each group is one dense gather-and-sum (numpy's reduceat over ragged rows is
    ~7x slower). Groups are cut into chunks of about MATMUL_CHUNK non-zeros."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray):
        self.n_rows = len(indptr) - 1
        lengths = np.diff(indptr)
        order = np.argsort(lengths, kind="stable")
        order = order[lengths[order] > 0]
        sorted_lengths = lengths[order]
        edges = np.flatnonzero(np.diff(sorted_lengths)) + 1
        self.plan: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for lo, hi in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(order)]])):
            if hi <= lo:
                continue
            width = int(sorted_lengths[lo])
            step = max(1, MATMUL_CHUNK // width)
            for start in range(lo, hi, step):
                rows = order[start:min(hi, start + step)]
                at = indptr[rows][:, None] + np.arange(width)[None, :]
                self.plan.append((rows, indices[at], values[at]))

    def __matmul__(self, dense: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_rows, dense.shape[1]), dtype=dense.dtype)
        for rows, cols, vals in self.plan:
            out[rows] = np.einsum("rwp,rw->rp", dense[cols], vals.astype(dense.dtype, copy=False))
        return out


def transpose_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_cols: int):
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    t_indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=t_indptr[1:])
    return t_indptr, rows[order], values[order]


def orthonormal_basis(y: np.ndarray) -> np.ndarray:
    """An orthonormal basis of y's column space through the eigendecomposition of the small Gram
    matrix (a rank-revealing Cholesky-QR: ~4x cheaper than Householder QR on tall matrices, and
    directions with no energy are dropped instead of failing)."""
    gram = (y.T @ y).astype(np.float64)
    evals, evecs = np.linalg.eigh(gram)
    keep = evals > max(float(evals.max()), 0.0) * 1e-6  # float32 data: smaller directions are noise
    if not keep.any():
        return np.zeros((y.shape[0], 0), dtype=y.dtype)
    return y @ (evecs[:, keep] / np.sqrt(evals[keep])).astype(y.dtype)


def top_right_singular(a: SparseRows, a_t: SparseRows, rank: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-`rank` singular values S and right singular vectors V (n_cols x rank) of a sparse
    matrix A (given with its transpose): seeded subspace iteration on A^T A (randomised SVD,
    Halko et al., with SVD_POWER_ITERATIONS passes) and a final Rayleigh-Ritz step."""
    rng = np.random.default_rng(seed)
    n_cols = a_t.n_rows
    width = min(rank + SVD_OVERSAMPLE, n_cols)
    q = orthonormal_basis(a_t @ (a @ rng.standard_normal((n_cols, width)).astype(np.float32)))
    for _ in range(SVD_POWER_ITERATIONS):
        if not q.shape[1]:
            break
        q = orthonormal_basis(a_t @ (a @ q))
    if not q.shape[1]:
        return np.zeros(0), np.zeros((n_cols, 0))
    b = a @ q
    evals, evecs = np.linalg.eigh((b.T @ b).astype(np.float64))
    top = np.argsort(-evals, kind="stable")[:rank]
    s = np.sqrt(np.maximum(evals[top], 0.0))
    return s, q @ evecs[:, top].astype(np.float32)


def unit_rows(a: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, norms, out=np.zeros_like(a), where=norms > 0)


def standardise(values: np.ndarray) -> np.ndarray:
    """Binary columns stay 0/1; numeric ones are z-scored and clipped, so no column dominates."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    binary = np.all((values == 0) | (values == 1), axis=0)
    mean, std = values.mean(axis=0), values.std(axis=0)
    std[std == 0] = 1.0
    scaled = np.clip((values - mean) / std, -5.0, 5.0)
    return np.where(binary[None, :], values, scaled).astype(np.float32)


def metadata_vectors(features: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """Features projected on their top `dim` right singular vectors (all of them when fewer)."""
    f = standardise(features)
    if f.shape[1] <= dim:
        return f
    gram = (f.T @ f).astype(np.float64)  # few columns: an exact eigendecomposition
    evals, evecs = np.linalg.eigh(gram)
    top = np.argsort(-evals, kind="stable")[:dim]
    vecs = evecs[:, top]
    vecs *= np.where(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])] < 0, -1.0, 1.0)  # fixed signs
    return f @ vecs.astype(np.float32)


# ---- the trained model ------------------------------------------------------------------------

class VectorModel(RelatedItemsBase):
    """Related items by the dot product of unit item vectors plus a per-item offset (shared by
    aws-similar-items and aws-semantic-similarity). Items with a zero vector are never returned
    and, as queries, get the popular fallback."""

    def __init__(self, params, item_ids: np.ndarray, popular: np.ndarray, vectors: np.ndarray,
                 bonus: np.ndarray, training_info: dict | None = None):
        self.params = params
        self._init_common(item_ids, popular)
        self.vectors = np.asarray(vectors, dtype=np.float32)  # unit rows; zero rows: no information
        self.bonus = np.asarray(bonus, dtype=np.float32)  # popularity term per item
        self.training_info = training_info or {}
        self._set_valid(np.any(self.vectors != 0, axis=1))

    def _set_valid(self, valid: np.ndarray) -> None:
        self._valid = valid
        self._offset = np.where(valid, self.bonus, -np.inf).astype(np.float32)  # bonus; -inf: no vector

    def _codes_for(self, item_ids: np.ndarray) -> np.ndarray:
        """The codes of these (distinct) items: their own, or the next free ones for new items."""
        codes = np.fromiter((self._index.get(i, -1) for i in item_ids), dtype=np.int64, count=len(item_ids))
        new = codes < 0
        codes[new] = np.arange(len(self.item_ids), len(self.item_ids) + int(new.sum()))
        return codes

    def _store(self, codes: np.ndarray, item_ids: np.ndarray, vectors: np.ndarray, valid: np.ndarray) -> None:
        """Set the rows of codes (from _codes_for); new items join the catalogue with no popularity
        bonus and outside the popular fallback. Vector rows live in a buffer with spare rows, so
        a stream of small additions does not copy the whole matrix each time."""
        n = len(self.item_ids)
        new = codes >= n
        m = int(new.sum())
        rows = getattr(self, "_rows", self.vectors)
        if rows.shape[0] < n + m:
            rows = np.zeros((n + m + max(n // 8, 64), self.vectors.shape[1]), dtype=np.float32)
            rows[:n] = self.vectors
        rows[codes] = vectors
        all_valid = np.concatenate([self._valid, np.zeros(m, dtype=bool)])
        all_valid[codes] = valid
        self.bonus = np.concatenate([self.bonus, np.zeros(m, dtype=np.float32)])
        # the arrays first, the id index last: a concurrent reader only meets codes it can use
        self._rows, self.vectors = rows, rows[:n + m]
        self._set_valid(all_valid)
        ids = np.asarray(item_ids, dtype=object)[new]
        self.item_ids = np.concatenate([self.item_ids, ids])
        self._pop_rank = np.concatenate([self._pop_rank, np.full(m, len(self.popular), dtype=np.int64)])
        self._index.update(zip(ids.tolist(), codes[new].tolist()))

    def _item_scores(self, code: int) -> np.ndarray:
        """Similarity of every item to item `code` (before offsets)."""
        return self.vectors @ self.vectors[code]

    def _top(self, scores: np.ndarray, limit: int, banned: np.ndarray) -> np.ndarray:
        """The `limit` best codes by score (ties: the more popular); -inf scores never."""
        scores = scores.copy()
        scores[banned] = -np.inf
        limit = min(limit, len(scores))
        if limit <= 0:
            return np.empty(0, dtype=np.int64)
        cut = len(scores) - limit
        pool = np.argpartition(scores, cut)[cut:] if cut > 0 else np.arange(len(scores))
        pool = pool[np.isfinite(scores[pool])]
        return pool[np.lexsort((self._pop_rank[pool], -scores[pool]))]

    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        """The items most similar to item_id (then popular items); popular items when item_id is
        unknown or has no vector. user_id is not used."""
        return self._similar(item_id, k, exclude, candidates, self._offset)

    def _similar(self, item_id: str | None, k: int, exclude: Iterable[str], candidates: Sequence[str] | None,
                 offset: np.ndarray) -> list[Scored]:
        banned = self._codes(exclude)
        code = self._index.get(item_id) if item_id is not None else None
        ranked = np.empty(0, dtype=np.int64)
        if code is not None:
            banned = np.append(banned, code)
            if self._valid[code]:
                scores = self._item_scores(code) + offset
                if candidates is not None:
                    allowed = np.full(len(scores), -np.inf, dtype=np.float32)
                    allowed[self._codes(candidates)] = 0.0
                    scores = scores + allowed
                ranked = self._top(scores, k + len(banned), banned)
        return self._emit(ranked, k, banned, candidates)

    def _weighted_windows(self, histories: Sequence[Sequence[str]], limit: int):
        """(history, code, weight HISTORY_DECAY ** age) of each history's HISTORY_WINDOW newest
        items that have a vector, grouped by history, and `limit` capped at the items with one."""
        owner, codes, age = self._recent_windows(histories, HISTORY_WINDOW)
        ok = self._valid[codes]
        weights = HISTORY_DECAY ** age[ok].astype(np.float64)
        return owner[ok], codes[ok], weights, min(limit, int(self._valid.sum()))

    def _ranked_many(self, histories: Sequence[Sequence[str]], limit: int) -> list[np.ndarray]:
        """Items scored against the recency-weighted mean vector of each history's newest items."""
        owner, codes, weights, limit = self._weighted_windows(histories, limit)
        out = [np.empty(0, dtype=np.int64) for _ in histories]
        if limit <= 0 or not len(owner):
            return out
        with single_threaded_blas():
            for start in range(0, len(histories), SCORE_BATCH):
                lo, hi = np.searchsorted(owner, [start, start + SCORE_BATCH])
                if lo == hi:
                    continue
                rows = owner[lo:hi] - start
                users = np.zeros((int(rows.max()) + 1, self.vectors.shape[1]), dtype=np.float64)
                np.add.at(users, rows, self.vectors[codes[lo:hi]] * weights[lo:hi, None])
                users /= np.maximum(np.bincount(rows, weights=weights[lo:hi], minlength=len(users)), 1e-12)[:, None]
                scores = users.astype(np.float32) @ self.vectors.T
                scores += self._offset
                nothing = np.empty(0, dtype=np.int64)
                for b in np.unique(rows):
                    out[start + b] = self._top(scores[b], limit, nothing)
        return out

    def _state(self) -> dict:
        return {"params": self.params.__dict__, "item_ids": list(self.item_ids), "popular": self.popular,
                "vectors": self.vectors, "bonus": self.bonus, "training_info": self.training_info}

    def save(self) -> bytes:
        return pickle.dumps({"engine": self.engine_name, "version": 1, "state": self._state()}, protocol=5)

    @classmethod
    def load(cls, blob: bytes):
        payload = pickle.loads(blob)
        if payload.get("engine") != cls.engine_name:
            raise ValueError(f"not a {cls.engine_name} model: {payload.get('engine')!r}")
        return cls._from_state(payload["state"])


class SimilarItemsModel(VectorModel):
    engine_name = NAME

    @classmethod
    def _from_state(cls, s: dict) -> "SimilarItemsModel":
        return cls(Params(**s["params"]), np.array(s["item_ids"], dtype=object), s["popular"], s["vectors"],
                   s["bonus"], s["training_info"])


# ---- training ---------------------------------------------------------------------------------

class SimilarItemsEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
            seed: int = 0) -> SimilarItemsModel:
        params = parse_hyperparameters(hyperparameters)
        with single_threaded_blas():
            return self._fit(data, params, seed)

    def _fit(self, data: TrainingData, params: Params, seed: int) -> SimilarItemsModel:
        if data.n_interactions == 0:
            raise ValueError("no interactions to train on")
        n = data.n_items
        popular = popularity_ranking(data)[0]
        everyone = SimsParams(min_user_history_length_percentile=0.0, max_user_history_length_percentile=1.0,
                              min_item_interaction_count_percentile=0.0, max_item_interaction_count_percentile=1.0)
        user_indptr, user_items = training_histories(data, everyone)
        pop = np.bincount(user_items, minlength=n).astype(np.float64)
        cf = self._cooccurrence_vectors(user_indptr, user_items, pop, params.item_id_hidden_dim, seed)
        confidence = (pop / (pop + COLD_INTERACTIONS)).astype(np.float32)[:, None]

        meta = None
        if data.item_features is not None and data.item_features.values.shape[1]:
            meta = metadata_vectors(data.item_features.values, params.item_metadata_hidden_dim, seed)
        if meta is not None and np.any(meta):
            warm = pop > 0
            weighted = meta[warm] * confidence[warm]
            gram = (weighted.T @ meta[warm]).astype(np.float64) + RIDGE * np.eye(meta.shape[1])
            mapping = np.linalg.solve(gram, (weighted.T @ unit_rows(cf[warm])).astype(np.float64))
            predicted = unit_rows(meta @ mapping.astype(np.float32))
            blended = unit_rows(confidence * unit_rows(cf) + (1.0 - confidence) * predicted)
            vectors = np.hstack([np.float32(np.sqrt(1.0 - META_WEIGHT)) * blended,
                                 np.float32(np.sqrt(META_WEIGHT)) * unit_rows(meta)])
        else:
            vectors = cf
        vectors = unit_rows(vectors)
        log_pop = np.log1p(pop)
        bonus = (1.0 - params.popularity_discount_factor) * POPULARITY_WEIGHT * log_pop / max(log_pop.max(), 1e-12)
        info = {"cooccurrence_dim": int(cf.shape[1]), "metadata_dim": 0 if meta is None else int(meta.shape[1]),
                "n_items_with_vectors": int(np.any(vectors != 0, axis=1).sum())}
        return SimilarItemsModel(params, data.item_ids, popular, vectors, bonus, info)

    @staticmethod
    def _cooccurrence_vectors(user_indptr, user_items, pop, dim: int, seed: int) -> np.ndarray:
        """Rows of V S from the truncated SVD of the normalised user-item matrix (zero rows for
        items without interactions)."""
        n = len(pop)
        lengths = np.diff(user_indptr)
        users = np.repeat(np.arange(len(lengths)), lengths)
        values = (1.0 / np.sqrt(np.maximum(lengths[users], 1))) * np.maximum(pop[user_items], 1.0) ** -COLUMN_EXPONENT
        csr = (user_indptr, user_items.astype(np.int64), values.astype(np.float32))
        rank = max(1, min(dim, int((lengths > 0).sum()), int((pop > 0).sum())))
        s, v = top_right_singular(SparseRows(*csr), SparseRows(*transpose_csr(*csr, n)), rank, seed)
        return v * s[None, :].astype(np.float32)
