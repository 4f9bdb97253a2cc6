"""aws-user-personalization / aws-personalized-ranking: an HRNN-family next-item model.

Model (spec recipes-runtime.md §1.2 and §8): a GRU reads the user's time-ordered items and its
state, through a linear layer, is dotted with item vectors; score(u, i) is the softmax of those
logits over the catalogue the model knows (§4.2.3). Item vectors are a learned embedding plus a
projection of the item metadata (TrainingData.item_features), shared between the GRU's input and
the output layer (weight tying: with tens of interactions per item that halves what must be learned).
Up to SPECTRAL_START_MAX_CELLS, the item vectors start from a spectral embedding of the user-item
matrix (spectral_item_vectors): items the same users consume start close together, which a short
training needs most (NDCG@10 on ML-100k, bench/quality.py splits 0-4: 0.063 from a random start,
0.082 from the spectral one).

Training is next-item cross-entropy with truncated back-propagation through time: each user's
sequence [BOS, i1, i2, ...] is cut into chunks of `bptt` steps; a chunk starts from the GRU state
left by the previous chunk (recomputed without gradient), so gradients flow at most `bptt` steps
back, as the hyperparameter documents. Inference replays exactly the context a training step
would have seen (the previous chunk plus the current one), in numpy, so a trained model answers
without torch and persists as a pickle of arrays.

trainingMode UPDATE (SequenceEngine.fit_update) continues from a FULL version's model: its
weights kept, every item of the current catalogue brought in (new ones start from their metadata
neighbours), trained on with the current data for UPDATE_EFFORT of a fit's work at
UPDATE_LEARNING_RATE_SHARE of its learning rate.

Users without history (unknown, or known only from the Users dataset) get the popularity prior as
their scores: popular items first, recent ones weighed up when recency_mask is on (spec §4.2.4).
One streamed event is enough to switch a user to the sequence model (Model.update).

Hyperparameters (strings, as the API passes them; "training."/"data." prefixes are accepted):
  hidden_dimension  149   GRU state and item-vector size, [32, 256]
  bptt              32    truncated back-propagation length, [2, 32]
  recency_mask      true  popularity prior (new users, output bias initialisation) weighs recent
                          interactions more: half of it decays with a half-life of 1/10 of the
                          data's time span, half is the plain count
  min_user_history_length_percentile 0.0, max_user_history_length_percentile 0.99
                          users whose history length falls outside these percentiles are left out
                          of training (AWS's guard against bots); they still get recommendations
  epochs            auto  passes over the data; auto = as many as the work budget allows, at most 30
  learning_rate     0.01  Adam, linearly decayed to 0 over the run
  batch_size        32    chunks per step (small batches: more updates per epoch, which is what
                          a short training needs most)
  sampled_softmax   auto  candidates per step for the training softmax: "0" means full softmax;
                          auto = full up to 1,024 items, else n_items/8 within [512, 8192]: the
                          batch's targets plus uniform negatives (scores are always the full softmax)

Work budget: with epochs=auto, training runs WORK_BUDGET forward multiply-adds, counted from
tokens, softmax width and hidden size (a deterministic count, not the clock), scaled by
sqrt(tokens / 50,000) above 50,000 tokens so big data gets more work but not linearly more; with
less than one epoch's worth, a random sample of the chunks is trained on. Default synthetic data
(50k interactions, 2k items) gets ~1.6 epochs: ~4 s on one core, plus ~1.8 s for the first
`import torch` of the process. ML-100k's NDCG@10 (splits 0-4) by budget: 9e9 0.082, 1.4e10 0.084,
1.8e10 0.090; more passes overfit (10 epochs: 0.055).
"""
from __future__ import annotations

import contextlib
import functools
import math
import pickle
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from personalize_mock import settings
from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import Event, Scored, TrainingData
from personalize_mock.recipes.engines import projected_table
from personalize_mock.recipes.engines.projected_table import top_indices
from personalize_mock.recipes.engines.sims import sorted_unique

USER_PERSONALIZATION = "aws-user-personalization"
PERSONALIZED_RANKING = "aws-personalized-ranking"

WORK_BUDGET = 1.8e10  # forward multiply-adds per training at the reference size: ~4 s on one core
BUDGET_REFERENCE_TOKENS = 50_000  # above this many training tokens the budget grows with sqrt(size)
MAX_AUTO_EPOCHS = 30
FULL_SOFTMAX_MAX_ITEMS = 1024  # above: sampled softmax, n_items/8 candidates within [512, 8192]
SAMPLED_MIN, SAMPLED_MAX = 512, 8192
SCORE_DECIMALS = 7
TRAIN_THREADS = 1
PROBE_ITEMS = 2048  # top-k selection: items probed first for a lower bound of the k-th best logit
HISTORY_BLOCK = 256  # histories scored together in offline evaluation
SCORE_TILE = 8192  # items per tile of batched scoring: a 256 x 8192 float32 tile is 8 MiB
SPECTRAL_FLOAT64_MAX = 1 << 22  # spectral_item_vectors: [users, dim] cells computed in float64
SPECTRAL_START_NORM = 2.0  # mean norm of the spectral start of the item vectors (best of 0.3/1/2 on ML-100k)
# Above this many [users, hidden] cells the GRU starts from random item vectors: on bench/scale's
# grocery shape (230k users) the spectral start cost ~30 s and 650 MB per fit and did not help
# (NDCG@10 0.0757 with it, 0.0797 without).
SPECTRAL_START_MAX_CELLS = 1 << 24
DENSE_EMBEDDING_UPDATE_MAX = 1 << 21  # embedding cells updated whole by Adam; above: touched rows only
# trainingMode UPDATE: the share of a full training's work it trains on for, and how new items are
# initialised from their metadata neighbours among the base model's items (see _update_start).
UPDATE_EFFORT = 0.25
# The base is already trained: a full-size first step with fresh Adam moments undoes part of it
# (synthetic data, 20 % new interactions: NDCG@25 fell below the base's at the full rate, rose above
# it at 0.3 of it).
UPDATE_LEARNING_RATE_SHARE = 0.3
NEIGHBOURS = 10
NEIGHBOUR_CANDIDATES = 20_000  # the base's most popular items, searched for neighbours
NEIGHBOUR_BLOCK = 256  # new items compared at once: a 256 x 20,000 float32 block is 20 MiB


@dataclass(frozen=True)
class Params:
    hidden_dimension: int = 149
    bptt: int = 32
    recency_mask: bool = True
    min_user_history_length_percentile: float = 0.0
    max_user_history_length_percentile: float = 0.99
    epochs: int | None = None
    learning_rate: float = 0.01
    batch_size: int = 32
    sampled_softmax: int | None = None  # None: auto, 0: full softmax, n: n candidates per step


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, typed Params out; unknown keys (exploration settings, ...) are ignored.

    Ranges here are what the engine can run (tests use tiny models); AWS's narrower documented
    ranges (hidden_dimension [32, 256], bptt [2, 32]) are the control plane's to enforce."""
    raw = hp.raw_hyperparameters(hyperparameters)
    kwargs: dict = {}
    if "hidden_dimension" in raw:
        kwargs["hidden_dimension"] = hp.integer(raw, "hidden_dimension", 8, 1024)
    if "bptt" in raw:
        kwargs["bptt"] = hp.integer(raw, "bptt", 1, 256)
    if "recency_mask" in raw:
        kwargs["recency_mask"] = hp.boolean(raw, "recency_mask")
    for name in ("min_user_history_length_percentile", "max_user_history_length_percentile"):
        if name in raw:
            kwargs[name] = hp.fraction(raw, name)
    if not hp.is_auto(raw, "epochs"):
        kwargs["epochs"] = hp.integer(raw, "epochs", 1, 1000)
    if "learning_rate" in raw:
        kwargs["learning_rate"] = hp.number(raw, "learning_rate", 0, 1, lo_open=True, hi_open=True)
    if "batch_size" in raw:
        kwargs["batch_size"] = hp.integer(raw, "batch_size", 1, 65536)
    if not hp.is_auto(raw, "sampled_softmax"):
        kwargs["sampled_softmax"] = hp.integer(raw, "sampled_softmax", 0, 10_000_000)
    params = Params(**kwargs)
    if params.min_user_history_length_percentile > params.max_user_history_length_percentile:
        raise ValueError("min_user_history_length_percentile exceeds max_user_history_length_percentile")
    return params


# ---- the trained model: numpy only ------------------------------------------------------------

_BLAS_LOCK = threading.Lock()
_BLAS = {"libraries": None, "users": 0, "restore": []}


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS limited to one thread while a model scores (one user or a batch). On a busy machine a
    multi-threaded BLAS call waits for its descheduled worker (measured on 2 busy cores: a
    256-history GRU batch took 2.1 s on two threads and 0.25 s on one; one user's scan of 179k
    items 15-28 ms against 8.6 ms). The limit is process-wide, so it is reference-counted: the
    first scorer sets it, the last one restores each library's own setting (threadpoolctl's
    library controllers, found once: a few microseconds a request). threadpoolctl is optional:
    without it BLAS keeps its setting."""
    with _BLAS_LOCK:
        if _BLAS["users"] == 0:
            if _BLAS["libraries"] is None:
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    _BLAS["libraries"] = []
                else:
                    _BLAS["libraries"] = ThreadpoolController().select(user_api="blas").lib_controllers
            _BLAS["restore"] = [(library, library.get_num_threads()) for library in _BLAS["libraries"]]
            for library, _ in _BLAS["restore"]:
                library.set_num_threads(1)
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0:
                for library, threads in _BLAS["restore"]:
                    library.set_num_threads(threads)


class HistoryModel:
    """What the two next-item models (GRU, transformer) share: the catalogue and the items they
    score, users' training histories plus streamed events, and the ranking and update rules built
    on a subclass's _logits_many(histories) -> [B, V] logits (and _item_logits, the logits of a
    few items, where a subclass can get them without scoring the whole catalogue)."""

    def __init__(self, engine_name: str, params, arrays: dict[str, np.ndarray],
                 item_ids: np.ndarray, vocab: np.ndarray, user_ids: np.ndarray,
                 hist_indptr: np.ndarray, hist_items: np.ndarray, streamed: dict[str, list[int]] | None = None,
                 training_info: dict | None = None):
        self.engine_name = engine_name
        self.params = params
        self.arrays = arrays
        self.item_ids = np.asarray(item_ids, dtype=object)  # the whole catalogue
        self.vocab = np.asarray(vocab, dtype=np.int64)  # catalogue codes the model scores (items with interactions)
        self.vocab_ids = self.item_ids[self.vocab]
        self.user_ids = np.asarray(user_ids, dtype=object)
        self.hist_indptr = hist_indptr  # CSR of training histories, in vocab indices, time order
        self.hist_items = hist_items
        self.streamed = streamed if streamed is not None else {}  # user_id -> vocab indices from update()
        self.training_info = training_info or {}
        self._vocab_index = dict(zip(self.vocab_ids.tolist(), range(len(self.vocab_ids))))
        self._user_index = dict(zip(self.user_ids.tolist(), range(len(self.user_ids))))
        self._log_prior = np.log(arrays["prior"]).astype(np.float64)
        self._prepare_serving()

    def _prepare_serving(self) -> None:
        """A subclass's derived serving state (transposed weights, probe items), built once."""

    # -- histories --
    def _user_history(self, user_id: str | None) -> np.ndarray:
        if user_id is None:
            return np.empty(0, dtype=np.int64)
        code = self._user_index.get(user_id)
        base = self.hist_items[self.hist_indptr[code]:self.hist_indptr[code + 1]] if code is not None else ()
        extra = self.streamed.get(user_id, ())
        if not len(extra):
            return np.asarray(base, dtype=np.int64)
        return np.concatenate([np.asarray(base, dtype=np.int64), np.asarray(extra, dtype=np.int64)])

    def _codes(self, item_ids: Iterable[str]) -> np.ndarray:
        idx = self._vocab_index
        return np.array([idx[i] for i in item_ids if i in idx], dtype=np.int64)

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        e = np.exp(logits - logits.max())
        return e / e.sum()

    # -- the Model protocol's shared parts --
    def rank(self, *, user_id: str, item_ids: Sequence[str]) -> list[Scored]:
        """Scored items (softmax over the scored inputs) by score, then items the model does not
        score (no interactions at training) in input order, without a score."""
        unique = list(dict.fromkeys(item_ids))
        known = [i for i in unique if i in self._vocab_index]
        unknown = [(i, None) for i in unique if i not in self._vocab_index]
        if not known:
            return unknown
        codes = self._codes(known)
        logits = self._item_logits(self._user_history(user_id), codes)
        probs = self._softmax(logits)
        order = np.lexsort((np.arange(len(codes)), -logits))
        return [(known[j], round(float(probs[j]), SCORE_DECIMALS)) for j in order] + unknown

    def _item_logits(self, history: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Logits (float64) of the vocab items `codes` for a history."""
        return self._logits_many([history])[0][codes]

    def update(self, events: Sequence[Event]) -> None:
        """Append streamed events (time order) to users' histories; items unknown to the model are skipped."""
        for event in sorted(events, key=lambda e: e.timestamp):
            code = self._vocab_index.get(event.item_id)
            if code is not None:
                self.streamed.setdefault(event.user_id, []).append(code)


class SequenceModel(HistoryModel):
    """A fitted solution version: GRU weights, item vectors, users' histories, popularity prior."""

    def _prepare_serving(self) -> None:
        # arrays: W_ih, W_hh, b_ih, b_hh, W_out, b_out, items (V x H), bos (H), bias (V), prior (V)
        a = self.arrays
        # The item table is kept column-major (one copy): scoring a user reads items.T, a
        # C-contiguous H x V matrix, which BLAS streams fastest; the few rows a GRU context needs
        # are gathered from it.
        a["items"] = np.asfortranarray(a["items"], dtype=np.float32)
        self._W_ih_T = np.ascontiguousarray(a["W_ih"].T)
        self._W_hh_T = np.ascontiguousarray(a["W_hh"].T)
        self._W_out_T = np.ascontiguousarray(a["W_out"].T)
        # Top-k selection probes the items with the highest output bias (the popular ones) first:
        # the k-th best logit among them bounds the k-th best of the catalogue from below.
        n_probe = min(len(self.vocab), PROBE_ITEMS)
        self._probe = np.sort(np.argpartition(-a["bias"], n_probe - 1)[:n_probe]) if n_probe else np.empty(0, np.int64)
        self._cold: tuple[int, list[Scored]] | None = None  # the cold-start list, computed once
        # Real-time scoring from a projection of a large table (projected_table, where settings
        # ask for it): None until first needed, False where the table is too small for it.
        self._projection: projected_table.ProjectedItemTable | bool | None = None
        self._projection_lock = threading.Lock()
        self._positions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # _scored_positions' last array

    # -- histories --
    @property
    def bos(self) -> int:
        return len(self.vocab)

    # -- scoring --
    def _context(self, history: np.ndarray) -> np.ndarray:
        """The tokens a training step saw before predicting item n+1: previous chunk + current one."""
        n = len(history)
        tokens = np.concatenate([[self.bos], history])
        chunk = n // self.params.bptt
        start = 0 if chunk == 0 else (chunk - 1) * self.params.bptt
        return tokens[start:n + 1]

    def _logits_many(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Logits [B, V] (float64); an empty history gets the log popularity prior (new users:
        popular items)."""
        out = np.empty((len(histories), len(self.vocab)), dtype=np.float64)
        warm = [b for b, h in enumerate(histories) if len(h)]
        cold = [b for b, h in enumerate(histories) if not len(h)]
        if cold:
            out[cold] = self._log_prior
        if warm:
            out[warm] = self._scan(self._user_vectors([histories[b] for b in warm]))
        return out

    def _user_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """[B, H] output-space vectors of non-empty histories (an item's logit: vector . item + bias)."""
        with _one_blas_thread():
            return self._encode([self._context(h) for h in histories]) @ self._W_out_T + self.arrays["b_out"]

    def _scan(self, users: np.ndarray) -> np.ndarray:
        """Logits [B, V] in float32 of user vectors [B, H]: one pass over the item table."""
        a = self.arrays
        with _one_blas_thread():
            logits = users @ a["items"].T
        logits += a["bias"]
        return logits

    def _user_vector(self, history: np.ndarray) -> np.ndarray | None:
        """One history's user vector; None for an empty history (scored by the popularity prior)."""
        return self._user_vectors([history])[0] if len(history) else None

    def _request_logits(self, user: np.ndarray | None) -> np.ndarray:
        """All logits of one request: a pass over the item table, or the prior without history."""
        return self._scan(user[None])[0] if user is not None else self._log_prior

    def _item_logits(self, history: np.ndarray, codes: np.ndarray) -> np.ndarray:
        # ranking an input list reads only its rows of the item table
        if not len(history):
            return self._log_prior[codes]
        a = self.arrays
        return (self._user_vector(history) @ self._item_rows()[codes].T + a["bias"][codes]).astype(np.float64)

    def _encode(self, contexts: list[np.ndarray]) -> np.ndarray:
        """GRU final states for right-aligned token sequences (torch.nn.GRU's equations)."""
        a = self.arrays
        hidden = a["W_hh"].shape[1]
        if len(contexts) == 1:  # a real-time request: no padding, no distinct-token bookkeeping
            tokens = np.asarray(contexts[0], dtype=np.int64)[None]
            gi_all = self._input_gates(tokens[0])[None]
            padded = False
        else:
            length = max(len(c) for c in contexts)
            tokens = np.full((len(contexts), length), -1, dtype=np.int64)
            for b, c in enumerate(contexts):
                tokens[b, length - len(c):] = c
            # Input projections of the distinct tokens only (-1 pads the left).
            distinct, where = np.unique(tokens, return_inverse=True)
            gi_all = self._input_gates(distinct)[where.reshape(tokens.shape)]  # [B, T, 3H]
            padded = bool((tokens < 0).any())
        b_hn = a["b_hh"][2 * hidden:]
        h = np.zeros((len(contexts), hidden), dtype=np.float32)
        W_hh_T = self._W_hh_T
        for t in range(tokens.shape[1]):  # in place where it can: per-call overhead dominates one user's steps
            gi = gi_all[:, t]
            gh = h @ W_hh_T
            rz = gi[:, :2 * hidden] + gh[:, :2 * hidden]
            rz *= 0.5
            np.tanh(rz, out=rz)  # sigmoid(x) = (1 + tanh(x / 2)) / 2
            rz += 1.0
            rz *= 0.5
            r, z = rz[:, :hidden], rz[:, hidden:]
            n = gh[:, 2 * hidden:]
            n += b_hn
            n *= r
            n += gi[:, 2 * hidden:]
            np.tanh(n, out=n)
            if padded:
                h = np.where((tokens[:, t] >= 0)[:, None], (h - n) * z + n, h)
            else:
                h -= n  # h is this method's own array
                h *= z
                h += n  # (1 - z) * n + z * h
        return h

    def _input_gates(self, tokens: np.ndarray) -> np.ndarray:
        """[N, 3H] input-side gate pre-activations of tokens (BOS is vocab index V; -1, padding,
        reads a zero vector), with b_hh folded into the r and z gates, which add both biases."""
        a = self.arrays
        hidden = a["W_hh"].shape[1]
        vectors = np.empty((len(tokens), hidden), dtype=np.float32)
        real = (tokens >= 0) & (tokens < self.bos)
        vectors[real] = self._item_rows()[tokens[real]]
        vectors[tokens == self.bos] = a["bos"]
        vectors[tokens < 0] = 0.0
        gates = vectors @ self._W_ih_T + a["b_ih"]
        gates[:, :2 * hidden] += a["b_hh"][:2 * hidden]
        return gates

    def _scored(self, logits: np.ndarray, pool: np.ndarray, log_z: float) -> list[Scored]:
        """(item id, softmax score) of `pool`, best first; ties: lower catalogue position first."""
        values = logits[pool].astype(np.float64)
        order = np.lexsort((pool, -values))
        return self._listed(pool[order], values[order], log_z)

    def _listed(self, codes: np.ndarray, logits: np.ndarray, log_z: float) -> list[Scored]:
        """(item id, softmax score) of vocab items already in order."""
        scores = np.exp(np.asarray(logits, dtype=np.float64) - log_z)
        return [(item, round(float(score), SCORE_DECIMALS)) for item, score in zip(self.vocab_ids[codes], scores)]

    @staticmethod
    def _log_normaliser(logits: np.ndarray) -> np.ndarray:
        """log of the softmax denominator of each row (float32 exponentials, float64 sums)."""
        top = logits.max(axis=-1, keepdims=True)
        weights = logits - top
        np.exp(weights, out=weights)  # in place: one V-sized temporary, not two
        return top[..., 0].astype(np.float64) + np.log(weights.sum(axis=-1, dtype=np.float64))

    def _top(self, logits: np.ndarray, k: int, exclude: Iterable[str], candidates: Sequence[str] | None,
             log_z: float | None = None) -> list[Scored]:
        # Scores are the softmax over the whole catalogue the model knows, as AWS scores.
        if k <= 0:
            return []
        if log_z is None:
            log_z = float(self._log_normaliser(logits))
        excluded = self._codes(exclude)
        if candidates is None and not len(excluded):
            return self._scored(logits, top_indices(logits, k, self._probe), log_z)
        allowed = np.ones(len(self.vocab), dtype=bool)
        if candidates is not None:
            allowed[:] = False
            allowed[self._codes(candidates)] = True
        allowed[excluded] = False
        pool = np.flatnonzero(allowed)
        if len(pool) > k:
            pool = pool[np.argpartition(logits[pool], len(pool) - k)[len(pool) - k:]]
        return self._scored(logits, pool, log_z)

    # -- the Model protocol --
    @_one_blas_thread()  # held across a request's BLAS calls: the limit is set once per request
    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        """Top-k for the user; item_id is ignored, as the HRNN family ignores it."""
        history = self._user_history(user_id)
        if not len(history) and candidates is None and not exclude:
            return self._cold_top(k)
        user = self._user_vector(history)
        projected = self._projected_answer(user, k, exclude, np.empty(0, np.int64)) if candidates is None else None
        if projected is not None:
            return self._listed(projected.rows, projected.logits, projected.log_z)
        return self._top(self._request_logits(user), k, exclude, candidates)

    def _cold_top(self, k: int) -> list[Scored]:
        """The list of every user without history (it depends on k only): computed once."""
        if self._cold is None or self._cold[0] < k:
            self._cold = (max(k, 25), self._top(self._log_prior, max(k, 25), (), None))
        return self._cold[1][:max(k, 0)]

    @_one_blas_thread()
    def recommend_and_score(self, *, user_id: str | None, k: int, exclude: Iterable[str] = (),
                            catalogue_items: np.ndarray) -> tuple[list[Scored], np.ndarray]:
        """recommend(user_id, k, exclude), and the scores (softmax over the catalogue; nan where
        the model scores no such item) of the items at positions `catalogue_items` of the
        catalogue it was trained with (item_ids), sharing one scoring of the catalogue (and its
        softmax denominator): what item exploration needs per request
        (personalize_mock.runtime.exploration)."""
        user = self._user_vector(self._user_history(user_id))
        known, codes = self._scored_positions(catalogue_items)
        projected = self._projected_answer(user, k, exclude, codes)
        if projected is not None:
            top = self._listed(projected.rows, projected.logits, projected.log_z)
            values, log_z = projected.extra_logits, projected.log_z
        else:
            logits = self._request_logits(user)
            log_z = float(self._log_normaliser(logits))  # one pass over the logits serves both
            top = self._top(logits, k, exclude, None, log_z)
            values = logits[codes].astype(np.float64)
        scores = np.full(len(catalogue_items), np.nan)
        scores[known] = np.round(np.exp(values - log_z), SCORE_DECIMALS)
        return top, scores

    def _scored_positions(self, catalogue_items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indices into `catalogue_items` of the items the model scores, their vocab codes). Kept
        for a read-only array (exploration's pool, asked about on every request: a gather of
        thousands of positions, ~0.1 ms)."""
        cached = self._positions
        if cached is not None and cached[0] is catalogue_items:
            return cached[1], cached[2]
        codes = self._catalogue_vocab[catalogue_items]
        known = np.flatnonzero(codes >= 0)
        codes = codes[known]
        if not catalogue_items.flags.writeable:
            self._positions = (catalogue_items, known, codes)
        return known, codes

    def _projected_answer(self, user: np.ndarray | None, k: int, exclude: Iterable[str],
                          extra: np.ndarray) -> projected_table.Answer | None:
        """A real-time request's answer for a user vector from the projected item table, where
        settings and the table's size call for it and the projection can answer
        (projected_table); else None: the caller scans the table with the same vector."""
        if user is None or k <= 0 or settings.realtime_scoring() != "projected":
            return None
        table = self._projected_table()
        return None if table is None else table.answer(user, k, self._codes(exclude), extra)

    def _projected_table(self, suited: bool | None = None) -> projected_table.ProjectedItemTable | None:
        """The projection of the item table, built once (by a campaign's deployment, else by the
        first request that needs it); None where the table is too small for it to pay. `suited`:
        projected_table.suits of the table where the caller has checked it (a pass over it)."""
        if self._projection is None:
            with self._projection_lock:
                if self._projection is None:
                    a = self.arrays
                    if suited is None:
                        suited = projected_table.suits(a["items"])
                    self._projection = (projected_table.ProjectedItemTable(a["items"], a["bias"], self._probe)
                                        if suited else False)
        return self._projection or None

    def _item_rows(self) -> np.ndarray:
        """The item table to gather rows from: the projection's row-major copy once it exists (a
        row of the column-major table spans a cache line per dimension), else the table itself."""
        return self._projection.items if self._projection else self.arrays["items"]

    def realtime_work(self) -> Callable[[], object] | None:
        """What deploying this model in a campaign must do before it serves: build the projected
        item table where settings ask for it and the table is large (0.7 s at grocery scale);
        None where there is nothing to do."""
        if self._projection is not None or settings.realtime_scoring() != "projected":
            return None
        if not projected_table.suits(self.arrays["items"]):
            self._projection = False
            return None
        return functools.partial(self._projected_table, suited=True)

    @functools.cached_property
    def _catalogue_vocab(self) -> np.ndarray:
        """Vocab index of each catalogue position, -1 where the model scores no item."""
        table = np.full(len(self.item_ids), -1, dtype=np.int64)
        table[self.vocab] = np.arange(len(self.vocab))
        return table

    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        codes = self._codes(history)
        if not len(codes) and not exclude:
            return self._cold_top(k)
        return self._top(self._request_logits(self._user_vector(codes)), k, exclude, None)

    def history_recommend_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[Scored]]:
        """history_recommend for many histories, encoded and ranked together (offline evaluation)."""
        return self._history_many(histories, k, scores=True)

    def history_rank_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        """The item ids of history_recommend_many, without computing scores (offline evaluation)."""
        return self._history_many(histories, k, scores=False)

    def _history_many(self, histories: Sequence[Sequence[str]], k: int, scores: bool) -> list:
        codes = [self._codes(h) for h in histories]
        if k <= 0:
            return [[] for _ in codes]
        cold = self._cold_top(k) if scores else [item for item, _ in self._cold_top(k)]
        out: list = [cold if not len(c) else [] for c in codes]
        warm = [b for b, c in enumerate(codes) if len(c)]
        a = self.arrays
        with _one_blas_thread():
            for start in range(0, len(warm), HISTORY_BLOCK):
                block = warm[start:start + HISTORY_BLOCK]
                users = self._encode([self._context(codes[b]) for b in block]) @ self._W_out_T + a["b_out"]
                best, values, log_z = self._rank_users(users, k, scores)
                for row, b in enumerate(block):
                    ids = self.vocab_ids[best[row]]
                    if scores:
                        probs = np.exp(values[row].astype(np.float64) - log_z[row])
                        out[b] = [(i, round(float(p), SCORE_DECIMALS)) for i, p in zip(ids, probs)]
                    else:
                        out[b] = ids.tolist()
        return out

    def _rank_users(self, users: np.ndarray, k: int, scores: bool):
        """(best [B, k] vocab indices best first, their logits, log softmax denominators or None)
        of user vectors [B, H]. The catalogue is scored in tiles that stay in the CPU cache; a tile
        keeps only the logits at least the k-th best among the probe items (a lower bound of the
        k-th best overall), so the selection handles tens of candidates per user, not V."""
        a = self.arrays
        items_T, bias = a["items"].T, a["bias"]
        n_rows, n = len(users), items_T.shape[1]
        k = min(k, n)
        if k > len(self._probe) // 2:
            floor = np.full(n_rows, -np.inf, dtype=np.float32)
        else:
            probe = users @ items_T[:, self._probe] + bias[self._probe]
            floor = np.partition(probe, probe.shape[1] - k, axis=1)[:, probe.shape[1] - k]
            # The tiles' products may round differently from the probe's in the last bit: a margin
            # keeps the probe's own k items among the candidates (more candidates never hurt).
            floor = floor - (np.abs(floor) * 1e-5 + 1e-5)
        rows, cols, vals = [], [], []
        top = np.full(n_rows, -np.inf)
        total = np.zeros(n_rows)
        for lo in range(0, n, SCORE_TILE):
            logits = users @ items_T[:, lo:lo + SCORE_TILE]
            logits += bias[lo:lo + SCORE_TILE]
            r, c = np.nonzero(logits >= floor[:, None])
            rows.append(r)
            cols.append(c + lo)
            vals.append(logits[r, c])
            if scores:  # running log-sum-exp
                new_top = np.maximum(top, logits.max(axis=1))
                np.exp(logits - new_top[:, None].astype(np.float32), out=logits)
                total = total * np.exp(top - new_top) + logits.sum(axis=1, dtype=np.float64)
                top = new_top
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        short = np.flatnonzero(np.bincount(r, minlength=n_rows) < k)
        if len(short):  # only non-finite logits (a diverged model) leave a row without k candidates
            logits = users[short] @ items_T + bias
            logits[np.isnan(logits)] = -np.inf
            rr, cc = np.nonzero(np.ones_like(logits, dtype=bool))
            keep = ~np.isin(r, short)
            r = np.concatenate([r[keep], short[rr]])
            c = np.concatenate([c[keep], cc])
            v = np.concatenate([v[keep], logits[rr, cc]])
        order = np.lexsort((c, -v, r))  # per row: best first, ties to the lower catalogue position
        first = np.searchsorted(r[order], np.arange(n_rows))
        pick = order[first[:, None] + np.arange(k)[None, :]]
        return c[pick], v[pick], (top + np.log(total) if scores else None)

    # -- persistence --
    def save(self) -> bytes:
        return save_sequence_model(self)

    @classmethod
    def load(cls, blob: bytes) -> "SequenceModel":
        return load_sequence_model(cls, blob, (USER_PERSONALIZATION, PERSONALIZED_RANKING), Params, "sequence model")


# Persistence shared with transformer.TransformerModel, which keeps the same fields: one pickle
# layout (version 1) for both, so that saved solution versions of either kind keep loading.

def save_sequence_model(model) -> bytes:
    """The blob of a SequenceModel or TransformerModel."""
    state = {
        "params": model.params.__dict__,
        "arrays": model.arrays,
        "item_ids": list(model.item_ids),
        "vocab": model.vocab,
        "user_ids": list(model.user_ids),
        "hist_indptr": model.hist_indptr,
        "hist_items": model.hist_items,
        "streamed": model.streamed,
        "training_info": model.training_info,
    }
    return pickle.dumps({"engine": model.engine_name, "version": 1, "state": state}, protocol=5)


def load_sequence_model(cls, blob: bytes, engines: tuple[str, ...], params_type: type, kind: str):
    """cls rebuilt from save_sequence_model's blob; ValueError names kind when the blob is of
    another engine than those given."""
    payload = pickle.loads(blob)
    if payload.get("engine") not in engines:
        raise ValueError(f"not a {kind}: {payload.get('engine')!r}")
    s = payload["state"]
    return cls(payload["engine"], params_type(**s["params"]), s["arrays"], np.array(s["item_ids"], dtype=object),
               s["vocab"], np.array(s["user_ids"], dtype=object), s["hist_indptr"], s["hist_items"],
               {u: list(v) for u, v in s["streamed"].items()}, s["training_info"])


# ---- training: torch --------------------------------------------------------------------------

def popularity_prior(items: np.ndarray, timestamps: np.ndarray, n: int, recency_mask: bool) -> np.ndarray:
    """Share of interactions per vocab item; with recency_mask half of it decays with age."""
    counts = np.bincount(items, minlength=n).astype(np.float64)
    prior = counts / counts.sum()
    if recency_mask and len(timestamps):
        span = float(timestamps.max() - timestamps.min())
        half_life = max(span / 10.0, 3600.0)
        decay = np.exp2(-(float(timestamps.max()) - timestamps.astype(np.float64)) / half_life)
        recent = np.bincount(items, weights=decay, minlength=n)
        prior = 0.5 * prior + 0.5 * recent / recent.sum()
    prior = np.maximum(prior, 1e-12)
    return prior / prior.sum()


def _chunks(indptr: np.ndarray, seqs: np.ndarray, users: np.ndarray, bptt: int, bos: int, pad: int):
    """Chunk arrays for truncated BPTT over the given users' sequences [BOS, i1, ..., in].

    Returns (inputs [C, bptt], targets [C, bptt] with -1 padding, warm [C, bptt], has_warm [C]).
    Chunk j of a user holds inputs x[j*bptt:(j+1)*bptt] (x = [BOS] + items) predicting the items at
    the same positions; warm holds x[(j-1)*bptt:j*bptt], the context its starting state comes from.
    """
    lengths = (indptr[users + 1] - indptr[users]).astype(np.int64)
    n_chunks = -(-lengths // bptt)
    # Flat token array: per user [BOS, items...]; targets: [items..., -1].
    x_len = lengths + 1
    x_off = np.concatenate([[0], np.cumsum(x_len)[:-1]])
    total = int(x_len.sum())
    x = np.full(total, bos, dtype=np.int32)  # int32 throughout: vocab indices and positions fit
    y = np.full(total, -1, dtype=np.int32)
    owner = np.repeat(np.arange(len(users)), lengths)
    pos = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    src = seqs[np.repeat(indptr[users], lengths) + pos]
    x[x_off[owner] + pos + 1] = src
    y[x_off[owner] + pos] = src

    chunk_user = np.repeat(np.arange(len(users)), n_chunks)
    chunk_j = np.arange(int(n_chunks.sum())) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    step = np.arange(bptt, dtype=np.int32)
    local = chunk_j.astype(np.int32)[:, None] * bptt + step[None, :]  # position within the user's x
    inside = local < lengths[chunk_user].astype(np.int32)[:, None]  # the last x token has no target
    start = x_off[chunk_user].astype(np.int32)[:, None]
    flat = start + np.minimum(local, (x_len[chunk_user] - 1).astype(np.int32)[:, None])
    inputs = np.where(inside, x[flat], pad)
    targets = np.where(inside, y[flat], -1)
    warm_local = local - bptt
    has_warm = chunk_j > 0
    warm = x[start + np.maximum(warm_local, 0)]
    return inputs, targets, warm, has_warm


class SequenceEngine:
    # Fits may run at the same time (train_and_evaluate refits beside the split fit): each uses its
    # own generators; the global torch state it touches (seeded initialisation, thread count) is
    # taken under _TORCH_LOCK.
    concurrent_fits = True

    def __init__(self, name: str):
        self.name = name

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> SequenceModel:
        params = parse_hyperparameters(hyperparameters)
        if data.n_interactions == 0:
            raise ValueError("no interactions to train on")
        vocab = np.flatnonzero(np.bincount(data.items, minlength=data.n_items))
        return self._fit(data, vocab, params, seed)

    def fit_update(self, base: SequenceModel, data: TrainingData, seed: int = 0) -> SequenceModel:
        """trainingMode UPDATE: `base` refreshed with the current data, with the base's settings;
        the model scores every item of the current catalogue. `base` is not modified."""
        if data.n_interactions == 0:
            raise ValueError("no interactions to train on")
        vocab = np.arange(data.n_items)
        start, n_new = _update_start(base, data, vocab)
        model = self._fit(data, vocab, base.params, seed, start=start)
        model.training_info["new_items"] = n_new
        return model

    def _fit(self, data: TrainingData, vocab: np.ndarray, params: Params, seed: int,
             start: dict[str, np.ndarray] | None = None) -> SequenceModel:
        """Train on `data` with `vocab` (catalogue codes) as the items the model scores, from
        scratch or (trainingMode UPDATE) from `start`."""
        to_vocab = np.full(data.n_items, -1, dtype=np.int64)
        to_vocab[vocab] = np.arange(len(vocab))
        prior = popularity_prior(to_vocab[data.items], data.timestamps, len(vocab), params.recency_mask)

        indptr, hist = data.user_histories()
        hist_items = to_vocab[hist]
        lengths = np.diff(indptr)
        active = np.flatnonzero(lengths > 0)
        lo, hi = np.quantile(lengths[active], [params.min_user_history_length_percentile,
                                               params.max_user_history_length_percentile], method="higher")
        trained_users = active[(lengths[active] >= lo) & (lengths[active] <= hi)]

        features = None
        if data.item_features is not None and data.item_features.values.shape[1]:
            features = _sparse_rows(_standardise(data.item_features.values[vocab]))
        arrays, info = _train(indptr, hist_items, trained_users, len(vocab), features, prior, params, seed,
                              start=start)
        info.update(n_trained_users=int(len(trained_users)), n_items_scored=int(len(vocab)))
        return SequenceModel(self.name, params, arrays, data.item_ids, vocab, data.user_ids,
                             indptr, hist_items, {}, info)


def _update_start(base: SequenceModel, data: TrainingData, vocab: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    """The base model's weights laid out for `vocab` (trainingMode UPDATE), and how many items
    of `vocab` are new to it.

    Items the base scores keep their vectors (metadata part included: the update's metadata
    projection starts at zero) and output bias. A new item starts from the similarity-weighted mean
    vector of its nearest metadata neighbours among the base's items, or from the base's
    popularity-weighted mean vector when it has no metadata in common with any; its bias starts at
    the base's lowest (as likely as the least popular item the base knows, until its own
    interactions say more)."""
    a = base.arrays
    index = base._vocab_index
    old = np.fromiter((index.get(i, -1) for i in data.item_ids[vocab]), dtype=np.int64, count=len(vocab))
    known = old >= 0
    hidden = a["items"].shape[1]
    emb = np.empty((len(vocab) + 1, hidden), dtype=np.float32)  # + BOS, as the training table
    emb[:-1][known] = a["items"][old[known]]
    emb[-1] = a["bos"]
    bias = np.full(len(vocab), a["bias"].min(), dtype=np.float32)
    bias[known] = a["bias"][old[known]]
    new = np.flatnonzero(~known)
    if len(new):
        emb[new] = np.asarray(a["prior"], dtype=np.float64) @ a["items"]
        if data.item_features is not None and data.item_features.values.shape[1] and known.any():
            features = _standardise(data.item_features.values[vocab])
            _neighbour_vectors(features, new, np.flatnonzero(known), emb, np.asarray(a["prior"])[old[known]])
    start = {name: np.array(a[name], dtype=np.float32) for name in ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")}
    start.update(emb=emb, bias=bias)
    return start, len(new)


def _neighbour_vectors(features: np.ndarray, new: np.ndarray, known: np.ndarray, emb: np.ndarray,
                       popularity: np.ndarray) -> None:
    """Overwrite emb[new] with the cosine-similarity-weighted mean of the vectors of each new
    item's NEIGHBOURS most similar known items (among the NEIGHBOUR_CANDIDATES most popular ones);
    rows without any positive similarity keep their vector."""
    if len(known) > NEIGHBOUR_CANDIDATES:
        known = known[np.argpartition(-popularity, NEIGHBOUR_CANDIDATES - 1)[:NEIGHBOUR_CANDIDATES]]
    norms = np.linalg.norm(features, axis=1)
    unit = features / np.where(norms > 0, norms, 1.0)[:, None]
    candidates = unit[known].T
    n = min(NEIGHBOURS, len(known))
    for lo in range(0, len(new), NEIGHBOUR_BLOCK):
        rows = new[lo:lo + NEIGHBOUR_BLOCK]
        sims = unit[rows] @ candidates
        top = np.argpartition(-sims, n - 1, axis=1)[:, :n]
        weights = np.maximum(np.take_along_axis(sims, top, axis=1), 0.0)
        total = weights.sum(axis=1)
        found = total > 0
        mean = np.einsum("bn,bnh->bh", weights[found], emb[known[top[found]]]) / total[found, None]
        emb[rows[found]] = mean


def _sparse_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(indptr, columns, values, n_columns): the non-zero cells of a dense matrix, row by row."""
    rows, cols = np.nonzero(values)
    indptr = np.searchsorted(rows, np.arange(len(values) + 1)).astype(np.int64)
    return indptr, cols.astype(np.int64), np.ascontiguousarray(values[rows, cols], dtype=np.float32), values.shape[1]


def _standardise(values: np.ndarray) -> np.ndarray:
    """Binary columns stay 0/1; numeric ones are z-scored and clipped, so no column dominates.
    `values` is a fresh array (a row selection): it is converted in place."""
    values = values.astype(np.float32, copy=False)
    if not np.isfinite(values).all():
        np.nan_to_num(values, copy=False)
    binary = ((values == 0) | (values == 1)).all(axis=0)
    for j in np.flatnonzero(~binary):  # numeric columns: few (one-hot and 0/1 columns are most)
        column = values[:, j].astype(np.float64)
        std = column.std() or 1.0
        values[:, j] = np.clip((column - column.mean()) / std, -5.0, 5.0)
    return values


def spectral_item_vectors(torch, indptr: np.ndarray, hist_items: np.ndarray, n_vocab: int, dim: int, seed: int,
                          power_iterations: int = 3) -> np.ndarray:
    """Item vectors [n_vocab, dim] from a randomized truncated SVD of the normalised user-item matrix
    D_u^-1/2 X D_i^-1/2 (X binary), V_k sqrt(S_k) scaled to a mean row norm of 1: items that the
    same users consume start close together. Linear in the interactions (sparse products); torch,
    so that it runs on the training's single thread (numpy's BLAS threads stall on a busy machine:
    0.6 s became 5 s on 2 loaded cores). Float64, float32 above SPECTRAL_FLOAT64_MAX cells of the
    [users, dim] blocks (grocery scale: 230k users x 157 would hold ~1 GB more in float64)."""
    n_users = len(indptr) - 1
    users = np.repeat(np.arange(n_users), np.diff(indptr))
    pairs, _ = sorted_unique(users.astype(np.int64) * n_vocab + hist_items)  # distinct (user, item)
    u, i = pairs // n_vocab, pairs % n_vocab
    du = np.bincount(u, minlength=n_users).astype(np.float64)
    di = np.bincount(i, minlength=n_vocab).astype(np.float64)
    k = min(dim + 8, n_vocab, max(1, n_users))
    dtype = torch.float64 if n_users * k <= SPECTRAL_FLOAT64_MAX else torch.float32
    val = torch.from_numpy(1.0 / np.sqrt(du[u] * di[i])).to(dtype)
    index = torch.from_numpy(np.stack([u, i]))
    x = torch.sparse_coo_tensor(index, val, (n_users, n_vocab), check_invariants=False).coalesce()
    xt = torch.sparse_coo_tensor(index.flip(0), val, (n_vocab, n_users), check_invariants=False).coalesce()
    gen = torch.Generator().manual_seed(seed)
    y = x @ torch.randn(n_vocab, k, generator=gen, dtype=torch.float64).to(dtype)
    for _ in range(power_iterations):
        y = x @ torch.linalg.qr(xt @ torch.linalg.qr(y).Q).Q
    q = torch.linalg.qr(y).Q
    _, sing, vt = torch.linalg.svd((xt @ q).T, full_matrices=False)  # of q^T X: [k, n_vocab]
    vectors = torch.zeros(n_vocab, dim, dtype=dtype)
    top = min(dim, len(sing))
    vectors[:, :top] = vt[:top].T * sing[:top].sqrt()
    norm = float(vectors.norm(dim=1).mean())
    return (vectors / (norm if norm > 0 else 1.0)).numpy().astype(np.float32)


def _train(indptr, hist_items, users, n_vocab, features, prior, params: Params, seed: int,
           start: dict[str, np.ndarray] | None = None):
    """Fit from a seeded initialisation, or (trainingMode UPDATE) continue from `start`'s weights
    for UPDATE_EFFORT of the work at UPDATE_LEARNING_RATE_SHARE of the learning rate."""
    import torch  # only training needs torch; serving a fitted model does not

    H, bptt = params.hidden_dimension, params.bptt
    bos, pad = n_vocab, n_vocab + 1
    inputs, targets, warm, has_warm = _chunks(indptr, hist_items, users, bptt, bos, pad)
    n_chunks = len(inputs)
    tokens = int((targets >= 0).sum())

    sampled = params.sampled_softmax
    if sampled is None:
        sampled = 0 if n_vocab <= FULL_SOFTMAX_MAX_ITEMS else min(SAMPLED_MAX, max(SAMPLED_MIN, n_vocab // 8))
    out_width = n_vocab if sampled == 0 or sampled >= n_vocab else sampled
    cost_per_token = out_width * H + 9 * H * H  # output layer + GRU (and its warm-up) per position
    budget = WORK_BUDGET * math.sqrt(max(1.0, tokens / BUDGET_REFERENCE_TOKENS))  # big data: more work, not linearly more
    affordable = budget / max(1.0, tokens * cost_per_token)  # epochs the budget pays for
    epochs = params.epochs if params.epochs is not None else min(MAX_AUTO_EPOCHS, affordable)
    learning_rate = params.learning_rate
    if start is not None:
        epochs *= UPDATE_EFFORT
        learning_rate *= UPDATE_LEARNING_RATE_SHARE
    batch = min(params.batch_size, max(1, n_chunks))
    total_steps = max(1, int(math.ceil(epochs * n_chunks / batch)))

    lengths = (targets >= 0).sum(axis=1)
    with _training_threads(torch):
        item_start = None
        if start is None and (len(indptr) - 1) * (H + 8) <= SPECTRAL_START_MAX_CELLS:
            # items the same users consume start close together (+30 % NDCG@10 on ML-100k)
            item_start = spectral_item_vectors(torch, indptr, hist_items, n_vocab, H, seed) * SPECTRAL_START_NORM
        arrays, last_loss = _run(torch, net_args=(n_vocab, H, features, prior), learning_rate=learning_rate,
                                 seed=seed, total_steps=total_steps, batch=batch, sampled=sampled,
                                 lengths=lengths, tensors=(inputs, targets, warm, has_warm), start=start,
                                 item_start=item_start)
    info = {"epochs": round(total_steps * batch / max(1, n_chunks), 3), "steps": total_steps,
            "tokens": tokens, "final_loss": round(last_loss, 4), "softmax_candidates": out_width}
    return arrays, info


def _run(torch, *, net_args, learning_rate: float, seed: int, total_steps: int, batch: int, sampled: int,
         lengths: np.ndarray, tensors, start: dict[str, np.ndarray] | None = None,
         item_start: np.ndarray | None = None):
    """The training loop proper: seeded; torch's global RNG (the initialisation's) is restored
    afterwards, the loop draws from its own generators only."""
    n_vocab, H, features, prior = net_args
    inputs, targets, warm, has_warm = tensors
    with _TORCH_LOCK, torch.random.fork_rng(devices=[]):  # the initialisation draws from torch's global RNG
        torch.manual_seed(seed)
        net = _Net(torch, n_vocab, H, features, prior)
    if start is not None:
        net.start_from(start)
    elif item_start is not None:
        with torch.no_grad():
            net.emb.weight[:n_vocab] = torch.from_numpy(item_start)
    gen = torch.Generator().manual_seed(seed)
    dense = [p for name, p in net.named_parameters() if name != "emb.weight"]
    opt = _Adam(torch, dense, net.emb.weight, learning_rate,
                lazy_rows=net.emb.weight.numel() > DENSE_EMBEDDING_UPDATE_MAX)
    t_in, t_tg = torch.from_numpy(inputs), torch.from_numpy(targets)
    t_warm, t_has = torch.from_numpy(warm), torch.from_numpy(has_warm)
    rng = np.random.default_rng(seed)
    step, last_loss, queue = 0, float("nan"), []
    while step < total_steps:
        if not queue:
            queue = _length_batches(lengths, batch, rng)
        rows = torch.from_numpy(queue.pop())
        width = int(lengths[rows.numpy()].max())  # trim padding shared by the whole batch
        loss, emb_rows, emb_sub = net.loss(t_in[rows, :width].long(), t_tg[rows, :width].long(),
                                           t_warm[rows].long(), t_has[rows], sampled, gen)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dense + [emb_sub], 5.0)
        opt.step(learning_rate * (1.0 - step / total_steps), emb_rows, emb_sub.grad)
        step += 1
        last_loss = float(loss.detach())
    arrays = net.export(prior)
    return arrays, last_loss


_TORCH_LOCK = threading.RLock()
_TORCH_THREADS = {"users": 0, "default": 1}


@contextlib.contextmanager
def _training_threads(torch):
    """torch on TRAIN_THREADS threads in the fitting thread (fits may overlap on several threads).

    torch's thread setting is per thread (OpenMP), plus a process default that threads started
    later take up: each fit sets its own thread and restores it, and the last fit to finish
    restores the default the first one found.

    One thread: a step is hundreds of small ops, and with OpenMP every op waits for all workers;
    on a busy machine (a server answering requests, parallel CI) a descheduled worker stalls each
    op. Measured on 2 cores under load: the default training took 99 s on 2 threads, 3 s on one."""
    with _TORCH_LOCK:
        mine = torch.get_num_threads()
        if _TORCH_THREADS["users"] == 0:
            _TORCH_THREADS["default"] = mine
        _TORCH_THREADS["users"] += 1
        torch.set_num_threads(TRAIN_THREADS)
    try:
        yield
    finally:
        with _TORCH_LOCK:
            _TORCH_THREADS["users"] -= 1
            torch.set_num_threads(_TORCH_THREADS["default"] if _TORCH_THREADS["users"] == 0 else mine)


def _length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches, each of chunks with similar lengths (little padding), in random order.

    Chunks are shuffled, stably sorted by length, cut into batches, and the batches shuffled: every
    chunk is seen once per epoch and most batches are full-length chunks only.
    """
    order = rng.permutation(len(lengths))
    order = order[np.argsort(-lengths[order], kind="stable")]
    batches = [order[i:i + batch] for i in range(0, len(order), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _Adam(torch, parameters, embedding, lr: float, lazy_rows: bool):
    """Adam with the learning rate given per step (torch.optim's constructor imports torch._dynamo,
    which costs ~1.5 s on first use: more than a default training).

    The embedding table's gradient arrives as rows (the items a step touched). Small tables are
    updated whole, as plain Adam does (untouched rows keep moving with their momentum); above
    DENSE_EMBEDDING_UPDATE_MAX cells only the touched rows are, each with its own step count for
    the bias correction (lazy Adam): a step then costs the same for 2,000 or 200,000 items."""

    class Adam:
        def __init__(self):
            self.t = 0
            self.m = [torch.zeros_like(p) for p in parameters]
            self.v = [torch.zeros_like(p) for p in parameters]
            self.emb_m, self.emb_v = torch.zeros_like(embedding), torch.zeros_like(embedding)
            self.emb_t = torch.zeros(len(embedding), dtype=torch.float32) if lazy_rows else None

        @torch.no_grad()
        def step(self, lr_now: float, rows, grad, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
            self.t += 1
            c1, c2 = 1.0 - beta1 ** self.t, 1.0 - beta2 ** self.t
            for p, m, v in zip(parameters, self.m, self.v):
                if p.grad is None:
                    continue
                m.mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
                p.addcdiv_(m, (v / c2).sqrt_().add_(eps), value=-lr_now / c1)
                p.grad = None
            if grad is None:
                return
            if not lazy_rows:
                full = torch.zeros_like(embedding).index_copy_(0, rows, grad)
                self.emb_m.mul_(beta1).add_(full, alpha=1.0 - beta1)
                self.emb_v.mul_(beta2).addcmul_(full, full, value=1.0 - beta2)
                embedding.addcdiv_(self.emb_m, (self.emb_v / c2).sqrt_().add_(eps), value=-lr_now / c1)
                return
            t = self.emb_t.index_select(0, rows).add_(1.0)
            self.emb_t.index_copy_(0, rows, t)
            m = self.emb_m.index_select(0, rows).mul_(beta1).add_(grad, alpha=1.0 - beta1)
            v = self.emb_v.index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            self.emb_m.index_copy_(0, rows, m)
            self.emb_v.index_copy_(0, rows, v)
            m_hat = m.div_((1.0 - torch.pow(beta1, t))[:, None])
            v_hat = v.div_((1.0 - torch.pow(beta2, t))[:, None])
            embedding.index_add_(0, rows, m_hat.div_(v_hat.sqrt_().add_(eps)), alpha=-lr_now)

    return Adam()


def _Net(torch, n_vocab: int, hidden: int, features, prior):
    """Build the torch module (a factory so that torch is imported only when training)."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(n_vocab + 1, hidden)  # + BOS
            nn.init.normal_(self.emb.weight, std=0.1)
            self.meta = None
            if features is not None:
                # One H-vector per feature column (a Linear layer's weights, transposed), summed over
                # each item's non-zero features: items' metadata is mostly one-hot, so this costs a
                # few rows per item where a dense projection would cost all of them.
                indptr, cols, vals, n_columns = features  # see _sparse_rows
                linear = nn.Linear(n_columns, hidden, bias=False)
                self.meta = nn.Parameter(linear.weight.detach().T.contiguous())
                self.f_indptr, self.f_cols, self.f_vals = (torch.from_numpy(a) for a in (indptr, cols, vals))
            self.gru = nn.GRU(hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, hidden)
            self.bias = nn.Parameter(torch.from_numpy(np.log(prior).astype(np.float32)))

        def metadata(self, rows):
            """The metadata part of the vectors of items `rows`: sum of value * feature vector."""
            start, counts = self.f_indptr[rows], self.f_indptr[rows + 1] - self.f_indptr[rows]
            offsets = torch.cumsum(counts, 0) - counts
            pos = torch.repeat_interleave(start - offsets, counts) + torch.arange(int(counts.sum()))
            return nn.functional.embedding_bag(self.f_cols[pos], self.meta, offsets, mode="sum",
                                               per_sample_weights=self.f_vals[pos])

        def item_table(self):
            table = self.emb.weight[:n_vocab]
            if self.meta is not None:
                table = table + self.metadata(torch.arange(n_vocab))
            return table

        def loss(self, inputs, targets, warm, has_warm, sampled, gen):
            """(loss, rows, sub): the step's loss, computed from the embedding rows it needs only:
            the softmax candidates (sorted), then the other input and warm-up tokens (sorted, BOS
            last). `sub` holds those rows as a leaf tensor whose .grad is the embedding's gradient
            (zero on every other row)."""
            keep = targets >= 0
            tgt = targets[keep]
            if sampled and sampled < n_vocab:
                negatives = torch.randint(0, n_vocab, (sampled,), generator=gen)
                cand, remap = torch.unique(torch.cat([tgt, negatives]), return_inverse=True)
                label = remap[:len(tgt)]
            else:
                cand, label = torch.arange(n_vocab), tgt
            n_cand = len(cand)
            warm = warm[has_warm]
            tokens = torch.unique(torch.cat([inputs.reshape(-1), warm.reshape(-1)]))
            tokens = tokens[tokens <= n_vocab]  # PAD (n_vocab + 1) is the zero row appended last
            extra = tokens[cand[torch.searchsorted(cand, tokens).clamp_(max=n_cand - 1)] != tokens]
            rows = torch.cat([cand, extra])
            sub = self.emb.weight.detach().index_select(0, rows).requires_grad_()
            vectors = sub
            if self.meta is not None:
                n_items = len(rows) - int(bool(len(extra)) and bool(extra[-1] == n_vocab))
                meta = self.metadata(rows[:n_items])
                if n_items < len(rows):
                    meta = torch.cat([meta, torch.zeros(len(rows) - n_items, hidden)])
                vectors = sub + meta
            table = torch.cat([vectors, torch.zeros(1, hidden)])

            def at(x):  # rows of `table` holding tokens x (PAD: the zero row)
                x = x.contiguous()
                pos = torch.searchsorted(cand, x).clamp_(max=n_cand - 1)
                return torch.where(cand[pos] == x, pos, n_cand + torch.searchsorted(extra, x))

            h0 = torch.zeros(1, len(inputs), hidden)
            if len(warm):
                with torch.no_grad():  # truncated BPTT: the carried state, without its gradient
                    _, hw = self.gru(table.detach()[at(warm)])
                h0[:, has_warm] = hw
            states, _ = self.gru(table[at(inputs)], h0)
            user = self.out(states[keep])
            logits = user @ vectors[:n_cand].T + self.bias.index_select(0, cand)
            return nn.functional.cross_entropy(logits, label), rows, sub

        @torch.no_grad()
        def start_from(self, start):
            """Continue from trained weights (trainingMode UPDATE). The start's item vectors already
            hold the base's metadata part, so the metadata projection starts at zero."""
            self.emb.weight.copy_(torch.from_numpy(start["emb"]))
            self.bias.copy_(torch.from_numpy(start["bias"]))
            for name, tensor in (("W_ih", self.gru.weight_ih_l0), ("W_hh", self.gru.weight_hh_l0),
                                 ("b_ih", self.gru.bias_ih_l0), ("b_hh", self.gru.bias_hh_l0),
                                 ("W_out", self.out.weight), ("b_out", self.out.bias)):
                tensor.copy_(torch.from_numpy(start[name]))
            if self.meta is not None:
                self.meta.zero_()

        def export(self, prior):
            with torch.no_grad():
                g = lambda t: np.array(t.detach().numpy(), dtype=np.float32)  # noqa: E731
                return {
                    "W_ih": g(self.gru.weight_ih_l0), "W_hh": g(self.gru.weight_hh_l0),
                    "b_ih": g(self.gru.bias_ih_l0), "b_hh": g(self.gru.bias_hh_l0),
                    "W_out": g(self.out.weight), "b_out": g(self.out.bias),
                    "items": np.asfortranarray(self.item_table().numpy(), dtype=np.float32),  # as served
                    "bos": g(self.emb.weight[n_vocab]),
                    "bias": g(self.bias), "prior": np.asarray(prior, dtype=np.float64),
                }

    return Net()
