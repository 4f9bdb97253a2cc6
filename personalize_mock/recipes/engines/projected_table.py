"""Real-time answers from a large item table without reading all of it per request.

A GRU User-Personalization model gives item i the logit items[i] . user + bias[i], and the scores
of a recommendation are the softmax of those logits over the whole catalogue (spec 4.2.3). At
grocery scale the table is 179,003 x 149 float32, 107 MB, larger than the CPU cache: one exact pass
takes about 5 ms on the 2-core reference machine. ProjectedItemTable answers a request from the
table's projection on its top RANK principal directions (a sixth of the bytes) and reads whole rows
only where they can matter (from a row-major copy of the table that it keeps):

- The top k are exact, the same items in the same order as a full pass. An item's logit differs
  from its projected logit by residual_i . user_residual, at most |residual_i| |user_residual|
  (Cauchy-Schwarz). The exact logits of the best projected probe items (popular ones) set a first
  threshold, one pass over the projected logits finds the items that may reach it, the best of
  those sharpen it, and every item whose projected logit plus its bound reaches it is scored
  exactly (a few hundred of 179,003 at grocery scale).
- The softmax denominator is estimated: each item scored exactly adds its exact term, every other
  item exp(its projected logit) times a correction measured on a fixed sample of items scored
  exactly (a ratio estimator; the exponentials of the projected logits are rough ones, whose
  error the same correction takes out). The scores of one answer share the estimate, so their
  order and their ratios are exact; at grocery scale the scores are off by 0.6 % at the median,
  3 % at the 99th percentile (bench/scale.py measures it on every run).

Served where personalize_mock.settings' PERSONALIZE_MOCK_REALTIME_SCORING is "projected" (the
default); a campaign or a recommender builds the projection before it is ACTIVE
(SequenceModel.realtime_work).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RANK = 24  # projected dimensions: at grocery scale, ~700 items of 179,003 are left to score exactly
MIN_TABLE_BYTES = 32 << 20  # the CPU cache's size: a smaller table is read fast enough whole
MIN_DIMENSION = 2 * RANK  # narrower rows leave too little to save
NORMALISER_SAMPLE = 4096  # items scored exactly to correct the projected part of the denominator
SEED_PER_RESULT = 2  # the best k * 2 projected items, scored exactly, set the threshold
MAX_EXACT_ROWS = 4096  # more rows than this, gathered one by one, cost about a full pass
ROUNDING_MARGIN = 1e-4  # relative: the threshold is lowered by this to absorb float32 rounding
BLOCK = 16_384  # rows per block where the table is read whole (building the projection)


def suits(items: np.ndarray) -> bool:
    """Whether a table is large enough (bytes, row width) for the projection to pay, and finite."""
    return items.nbytes >= MIN_TABLE_BYTES and items.shape[1] >= MIN_DIMENSION and bool(np.isfinite(items).all())


def top_indices(values: np.ndarray, k: int, probe: np.ndarray) -> np.ndarray:
    """Indices of the k largest values (in no order), exactly. Every value at least the k-th best
    among the `probe` indices is a candidate: few, when the probe holds likely winners (popular
    items), so that no selection over all values is needed."""
    n = len(values)
    if k >= n:
        return np.arange(n)
    if k > len(probe) // 2:
        return np.argpartition(values, n - k)[n - k:]
    floor = np.partition(values[probe], len(probe) - k)[len(probe) - k]
    pool = np.flatnonzero(values >= floor)
    if len(pool) > k:
        pool = pool[np.argpartition(values[pool], len(pool) - k)[len(pool) - k:]]
    return pool


@dataclass(frozen=True)
class Answer:
    rows: np.ndarray  # the top k rows, best first (ties: the lower row first)
    logits: np.ndarray  # their exact logits, float64
    extra_logits: np.ndarray  # exact logits of the extra rows asked for, float64
    log_z: float  # the estimated log of the softmax denominator over all rows


class ProjectedItemTable:
    """The projection of an item table (rows: items, logits: items @ user + bias) for answering
    top-k requests, with a row-major copy of the table for the rows read whole."""

    def __init__(self, items: np.ndarray, bias: np.ndarray, probe: np.ndarray, rank: int | None = None,
                 sample: int | None = None):
        rank = min(RANK if rank is None else rank, items.shape[1])
        sample = NORMALISER_SAMPLE if sample is None else sample
        # Rows are gathered one by one: from a row-major copy each is one contiguous read (a
        # column-major table, what a full pass reads fastest, spreads a row over 149 cache lines).
        self.items = np.ascontiguousarray(items, dtype=np.float32)
        self.bias, self.probe = np.asarray(bias, dtype=np.float32), probe
        n, dim = items.shape
        # Principal directions of the rows (uncentred: the logit is a plain dot product).
        _, vectors = np.linalg.eigh((items.T @ items).astype(np.float64))
        self.basis = np.ascontiguousarray(vectors[:, ::-1][:, :rank], dtype=np.float32)  # [H, r]
        self._basis64 = self.basis.astype(np.float64)
        # [r + 1, V]: the rows' coordinates and, last, the bias, so that one product gives the
        # projected logits; what each request reads whole.
        self.projected_T = np.empty((rank + 1, n), dtype=np.float32)
        self.projected_T[rank] = self.bias
        self.residual_norms = np.empty(n, dtype=np.float32)
        for lo in range(0, n, BLOCK):
            rows = self.items[lo:lo + BLOCK]
            coords = rows @ self.basis
            self.projected_T[:rank, lo:lo + BLOCK] = coords.T
            # against the float32 coordinates actually stored, in float64
            residual = rows.astype(np.float64) - coords.astype(np.float64) @ self._basis64.T
            self.residual_norms[lo:lo + BLOCK] = np.sqrt(np.einsum("ij,ij->i", residual, residual))
        self._max_residual = float(self.residual_norms.max(initial=0.0))
        # A fixed, evenly spread sample kept contiguous: the denominator's correction.
        self.sample = np.unique(np.linspace(0, n - 1, min(n, sample)).astype(np.int64))
        self._sample_items = self.items[self.sample]
        self._sample_bias = self.bias[self.sample]

    def exact(self, user: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact logits (float64) of `rows` for a user vector."""
        return (self.items[rows] @ user + self.bias[rows]).astype(np.float64)

    def answer(self, user: np.ndarray, k: int, excluded: np.ndarray, extra: np.ndarray) -> Answer | None:
        """The exact top k of the rows not `excluded`, the exact logits of the distinct rows
        `extra`, and the softmax denominator over all rows (excluded ones too); None where the
        projection cannot answer cheaply or safely (the caller then reads the whole table)."""
        n = len(self.bias)
        if k <= 0 or n - len(excluded) < k or len(extra) > MAX_EXACT_ROWS:
            return None
        user = np.asarray(user, dtype=np.float32)
        coords = user @ self.basis
        projected = np.append(coords, np.float32(1.0)) @ self.projected_T
        user_residual = float(np.linalg.norm(user.astype(np.float64) - self._basis64 @ coords.astype(np.float64)))
        if not np.isfinite(user_residual):
            return None
        # A first threshold from the probe rows (likely winners) alone, then the one pass over all
        # rows: those whose projected logit plus the widest bound reaches it.
        first = self._kth_logit(user, projected, self.probe, k, excluded)
        if first is None:
            first = self._kth_logit(user, projected, top_indices(projected, self._seed_size(k, excluded), self.probe),
                                    k, excluded)
            if first is None:
                return None
        candidates = np.flatnonzero(projected >= first - user_residual * self._max_residual)
        # A sharper threshold from the best candidates, then each row's own bound. Excluded rows
        # stay: their exact terms serve the denominator.
        sharper = self._kth_logit(user, projected, candidates, k, excluded)
        threshold = first if sharper is None else max(first, sharper)
        threshold -= ROUNDING_MARGIN * (1.0 + abs(threshold))
        rows = candidates[projected[candidates] + user_residual * self.residual_norms[candidates] >= threshold]
        if len(rows) + len(extra) > MAX_EXACT_ROWS:
            return None  # a full pass is as cheap
        logits = self.exact(user, rows)
        allowed = ~np.isin(rows, excluded) if len(excluded) else np.ones(len(rows), dtype=bool)
        if allowed.sum() < k:
            return None  # only non-finite values leave fewer than k
        best = np.flatnonzero(allowed)[np.lexsort((rows[allowed], -logits[allowed]))[:k]]
        extra_logits = self.exact(user, extra) if len(extra) else np.empty(0)
        # rows holds the best row of all: its bound reaches any threshold
        log_z = self._log_normaliser(user, projected, float(logits.max()), rows, logits, extra, extra_logits)
        return Answer(rows[best], logits[best], extra_logits, log_z)

    @staticmethod
    def _seed_size(k: int, excluded: np.ndarray) -> int:
        return k * SEED_PER_RESULT + len(excluded)

    def _kth_logit(self, user: np.ndarray, projected: np.ndarray, candidates: np.ndarray, k: int,
                   excluded: np.ndarray) -> float | None:
        """The k-th best exact logit among the best projected candidates not excluded (a lower
        bound of the k-th best of all rows); None where fewer than k are left."""
        want = self._seed_size(k, excluded)
        seed = candidates
        if len(seed) > want:
            seed = seed[np.argpartition(projected[seed], len(seed) - want)[len(seed) - want:]]
        if len(excluded):
            seed = seed[~np.isin(seed, excluded)]
        if len(seed) < k:
            return None
        logits = self.exact(user, seed)
        return float(np.partition(logits, len(seed) - k)[len(seed) - k])

    def _log_normaliser(self, user: np.ndarray, projected: np.ndarray, top: float, rows: np.ndarray,
                        logits: np.ndarray, extra: np.ndarray, extra_logits: np.ndarray) -> float:
        """log sum exp of all logits: exact for the rows scored exactly (`rows`, `extra`, the
        sample), projected and corrected for the others. `top` is the best exact logit (of all
        rows). Takes `projected` over: its exponentials are computed in place."""
        scored = np.zeros(len(projected), dtype=bool)
        scored[rows] = True
        extra_only = extra[~scored[extra]]
        extra_logits = extra_logits[~scored[extra]]
        scored[extra_only] = True
        unsampled = ~scored[self.sample]  # the sample's rows not scored exactly anyway
        sample_only = self.sample[unsampled]
        sample_logits = (self._sample_items @ user + self._sample_bias)[unsampled]
        weights = _rough_exp(projected, top)  # float32 pairwise sums below: relative error ~1e-7
        s_projected = float(weights[sample_only].sum())
        # the projected mass of the rows not scored exactly: all minus the scored ones
        rest = float(weights.sum()) - float(weights[rows].sum()) - float(weights[extra_only].sum()) - s_projected
        # how far the projection (and the rough exponential) is off, measured on the sample
        s_exact = _sum_exp(sample_logits, top)
        correction = s_exact / s_projected if s_projected > 0 else 1.0
        exact_mass = _sum_exp(logits, top) + _sum_exp(extra_logits, top) + s_exact
        return top + math.log(exact_mass + max(rest, 0.0) * correction)


# Schraudolph's exponential (Neural Computation 11(4), 1999): the float32 whose bits read as the
# integer A x + B is e^x within 3 % (2^23 / ln 2 scales x into the exponent field, 127 * 2^23 is the
# exponent's bias, the offset centres the error).
_EXP_SCALE = 2.0 ** 23 / math.log(2.0)
_EXP_OFFSET = 127.0 * 2.0 ** 23 - 366_393.0
EXP_LIMIT = 87.0  # terms e^-87 below the top are nothing beside it; float32 holds e^87


def _rough_exp(values: np.ndarray, top: float) -> np.ndarray:
    """exp(values - top) within 3 %, as float32; overwrites `values` (float32) on the way: four
    passes of plain arithmetic, three times faster than np.exp over the 179,003 projected logits of
    the grocery table. The projected part of the denominator only enters through the ratio
    estimator, whose sample's projected terms are just as rough: the error cancels (the estimate's
    error at grocery scale is the same as with np.exp's, 0.6 % at the median)."""
    values *= np.float32(_EXP_SCALE)
    values += np.float32(_EXP_OFFSET - top * _EXP_SCALE)
    np.clip(values, _EXP_OFFSET - EXP_LIMIT * _EXP_SCALE, _EXP_OFFSET + EXP_LIMIT * _EXP_SCALE, out=values)
    return values.astype(np.int32).view(np.float32)


def _sum_exp(logits: np.ndarray, top: float) -> float:
    """The sum of exp(logit - top) over logits at most about `top`: float32 exponentials (each term
    at most ~1, to 1e-7), a float64 sum."""
    shifted = np.asarray(logits, dtype=np.float32) - np.float32(top)
    return float(np.exp(shifted, out=shifted).sum(dtype=np.float64))
