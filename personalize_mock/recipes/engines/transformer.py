"""aws-user-personalization-v2 / aws-personalized-ranking-v2: a SASRec-style transformer next-item model.

AWS documents only "transformer-based" (spec recipes-runtime.md §1.2, §8); this is the closest public
design, SASRec (Kang & McAuley, ICDM 2018), trained with a full softmax as later work found best:

* input: the user's last `max_len` items in time order, item embeddings plus learned position
  embeddings counted from the newest item (left padding: the newest is always the last position);
* `num_blocks` pre-LayerNorm blocks of causal multi-head self-attention and a ReLU feed-forward
  layer, residual connections, dropout on the residual branches; a final LayerNorm;
* output: the last position's vector dotted with the item embeddings (weight tying), plus a learned
  item bias initialised at the log popularity prior, plus two learned repeat biases: one for every
  item of the user's history (its last SEEN_HISTORY interactions, also beyond the context) and one
  for the newest item. They learn from the data whether users come back to items (click streams) or
  never do (ratings): a custom recipe does not remove seen items (§4.2.4), the model has to learn it;
* item vectors start from a spectral embedding (a randomized truncated SVD of the normalised
  user-item matrix, spectral_item_vectors): items the same users consume start close together
  (+17 % NDCG@10 on ML-100k over a random start, same training); with item metadata
  (TrainingData.item_features) a learned projection of it is added to every item vector;
* objective: next-item cross-entropy at every position, a full softmax up to FULL_SOFTMAX_MAX_ITEMS
  items, above that a sampled one (the batch's targets plus uniform negatives).

Sequences longer than max_len are cut into windows of max_len from the newest item backwards; every
window is a training example, with the items its user consumed before it as "seen" items.

apply_recency_bias (the recipe's only documented hyperparameter, default true) weighs recent
interactions more: (1) each training target's loss weight is 0.5 + 0.5 * 2^(-age / half-life) with
the half-life a tenth of the data's time span (normalised to mean 1), so recent behaviour and recent
popularity shape the model more; (2) the popularity prior that cold users get and that initialises
the item bias weighs recent interactions up the same way (popularity_prior of the v1 engine).

Scores (spec §4.2.3): a softmax over the subset of items the model scores, the items with
interactions, so they sum to 1 over that subset; items without interactions are never recommended
and come back from rank() last, without a score (PR-v2, §1.2). Users without history get the
popularity prior (popular items, recent ones weighed up with apply_recency_bias); one streamed
event (update()) switches a user to the transformer.

Training is torch on one thread (see user_personalization._train for why), seeded, with a
deterministic work budget (WORK_BUDGET multiply-adds, not the clock): ML-100k (50k interactions,
1.4k items) gets ~13 epochs, ~30 s of one core. The fitted model is numpy arrays and serves
without torch: recommend() takes ~1-2 ms for a 50-item history and a 2,000-item catalogue.

Internal hyperparameters (not AWS's: the control plane passes only apply_recency_bias; tests and
benchmarks set these directly; "training."/"data." prefixes accepted, unknown keys ignored). The
defaults were tuned on ML-100k (bench/quality.py):
  hidden_dimension 64     embedding / model width (a multiple of num_heads)
  num_blocks       2      transformer blocks
  num_heads        2      attention heads
  ffn_factor       1      feed-forward inner width / hidden_dimension (SASRec's; 4 overfits here)
  max_len          50     items of history the model reads (25 and 100 did worse)
  dropout          0.5    on the embeddings and the residual branches (0.2 overfits)
  epochs           auto = what WORK_BUDGET pays for, at most MAX_AUTO_EPOCHS (less than one: a
                          random share of the windows)
  learning_rate    0.005  Adam, linear warm-up over the first 2 % of steps, then linear decay to 0
  batch_size       16     windows per step
  init             svd    item vectors' start: svd (above) or random
  sampled_softmax  auto = full softmax up to FULL_SOFTMAX_MAX_ITEMS items, else n/8 in [1024, 8192]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import Scored, TrainingData
from personalize_mock.recipes.engines.user_personalization import (
    SCORE_DECIMALS,
    TRAIN_THREADS,
    HistoryModel,
    _Adam,
    _length_batches,
    _standardise,
    load_sequence_model,
    popularity_prior,
    save_sequence_model,
    spectral_item_vectors,
)

USER_PERSONALIZATION_V2 = "aws-user-personalization-v2"
PERSONALIZED_RANKING_V2 = "aws-personalized-ranking-v2"

WORK_BUDGET = 1e11  # forward multiply-adds per training at the reference size: ~30 s of one core
BUDGET_REFERENCE_TOKENS = 50_000  # above this many training targets the budget grows with sqrt(size)
# Small data: the budget would pay for hundreds of epochs, which only overfit. Large catalogues
# get fewer epochs (the softmax over the items makes each dearer); stretching the budget to reach
# 12 epochs on ml-latest-small (6.1k items) helped on tuning splits 0-2 (1.07 -> 1.19 x ALS) and
# hurt on the bench's splits 10-19 (1.073 -> 0.995 x ALS) at 2.7x the training time: not kept.
MAX_AUTO_EPOCHS = 30
FULL_SOFTMAX_MAX_ITEMS = 8192  # ml-latest-small (6.1k items): full 1.071 x ALS, sampled 0.997 (splits 0-2)
SAMPLED_MIN, SAMPLED_MAX = 1024, 8192
LAYER_NORM_EPS = 1e-5
WARMUP_SHARE = 0.02
SERVE_BLOCK = 256  # histories encoded together by history_recommend_many
BLAS_CALL_MAX = 1 << 18  # multiply-adds per numpy product at serving time (see _dot)
SEEN_HISTORY = 1000  # the repeat bias covers the items of a user's last SEEN_HISTORY interactions
# The repeat biases are REPEAT_SCALE * a parameter: Adam moves a parameter by about the learning
# rate a step, and unscaled they stopped near -1.9 on ML-100k (seen items still took 2 of every
# 10 places) where the data asks for "never again".
REPEAT_SCALE = 10.0


@dataclass(frozen=True)
class Params:
    apply_recency_bias: bool = True
    hidden_dimension: int = 64
    num_blocks: int = 2
    num_heads: int = 2
    ffn_factor: int = 1  # feed-forward inner width = ffn_factor * hidden_dimension
    max_len: int = 50
    dropout: float = 0.5
    epochs: float | None = None
    learning_rate: float = 0.005
    batch_size: int = 16
    init: str = "svd"  # item embeddings start from "svd" (spectral_item_vectors) or "random"
    sampled_softmax: int | None = None  # None: auto, 0: full softmax, n: n candidates per step


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, typed Params out; unknown keys (v1 names, exploration settings, ...) are ignored."""
    raw = hp.raw_hyperparameters(hyperparameters)
    kwargs: dict = {}
    if "apply_recency_bias" in raw:
        kwargs["apply_recency_bias"] = hp.boolean(raw, "apply_recency_bias")
    for name, lo, hi in (("hidden_dimension", 4, 1024), ("num_blocks", 1, 8), ("num_heads", 1, 16), ("ffn_factor", 1, 8),
                         ("max_len", 2, 1024), ("batch_size", 1, 65536)):
        if name in raw:
            kwargs[name] = hp.integer(raw, name, lo, hi)
    if "dropout" in raw:
        kwargs["dropout"] = hp.number(raw, "dropout", 0.0, 0.9)
    if "init" in raw:
        kwargs["init"] = hp.choice(raw, "init", ("svd", "random"))
    if "learning_rate" in raw:
        kwargs["learning_rate"] = hp.number(raw, "learning_rate", 0.0, 1.0, lo_open=True)
    if not hp.is_auto(raw, "epochs"):
        kwargs["epochs"] = hp.number(raw, "epochs", 0.0, 10_000.0, lo_open=True)
    if not hp.is_auto(raw, "sampled_softmax"):
        kwargs["sampled_softmax"] = hp.integer(raw, "sampled_softmax", 0, 10_000_000)
    params = Params(**kwargs)
    if params.hidden_dimension % params.num_heads:
        raise ValueError(f"hidden_dimension ({params.hidden_dimension}) must be a multiple of "
                         f"num_heads ({params.num_heads})")
    return params


# ---- the trained model: numpy only ------------------------------------------------------------

def _dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x [..., K] @ w [K, N] in calls of at most BLAS_CALL_MAX multiply-adds each.

    OpenBLAS runs a product that small on the calling thread; a bigger one it splits across its
    threads, and on a busy machine (the server answering requests, other processes) a descheduled
    worker stalls the call: a 50x64 @ 64x192 product had a median of 0.04 ms and a p99 of 32 ms on
    2 loaded cores. Chunked, a request's latency stays at its median."""
    rows = x.reshape(-1, x.shape[-1])
    step = max(1, BLAS_CALL_MAX // max(1, w.shape[0] * w.shape[1]))
    if len(rows) <= step:
        out = rows @ w
    else:
        out = np.empty((len(rows), w.shape[1]), dtype=np.result_type(rows, w))
        for start in range(0, len(rows), step):
            np.matmul(rows[start:start + step], w, out=out[start:start + step])
    return out.reshape(*x.shape[:-1], w.shape[1])


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gain + bias


class TransformerModel(HistoryModel):
    """A fitted solution version: transformer weights, item vectors, histories, popularity prior."""

    def _prepare_serving(self) -> None:  # arrays: see _Net.export for the keys
        self._items_T = np.ascontiguousarray(self.arrays["items"].T)

    # -- scoring --
    def _logits_many(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Logits [B, V]; an empty history gets the log popularity prior (new users: popular items)."""
        out = np.empty((len(histories), len(self.vocab)), dtype=np.float64)
        warm = [b for b, h in enumerate(histories) if len(h)]
        cold = [b for b, h in enumerate(histories) if not len(h)]
        if cold:
            out[cold] = self._log_prior
        if warm:
            contexts = [histories[b][-self.params.max_len:] for b in warm]
            a = self.arrays
            logits = _dot(self._encode(contexts), self._items_T) + a["bias"]
            for row, b in enumerate(warm):  # the learned repeat biases (_Net.loss)
                logits[row, histories[b][-SEEN_HISTORY:]] += a["repeat"][0]  # once per distinct item
                logits[row, histories[b][-1]] += a["repeat"][1]
            out[warm] = logits
        return out

    def _item_logits(self, history: np.ndarray, codes: np.ndarray) -> np.ndarray:
        # ranking an input list reads only its columns of the item table
        if not len(history):
            return self._log_prior[codes]
        a = self.arrays
        logits = self._encode([history[-self.params.max_len:]])[0] @ self._items_T[:, codes] + a["bias"][codes]
        logits[np.isin(codes, history[-SEEN_HISTORY:])] += a["repeat"][0]  # the repeat biases, as _logits_many
        logits[codes == history[-1]] += a["repeat"][1]
        return logits.astype(np.float64)

    def _encode(self, contexts: list[np.ndarray]) -> np.ndarray:
        """The final block's output at the newest position, for left-padded contexts (_Net.forward)."""
        a, p = self.arrays, self.params
        B, W = len(contexts), max(len(c) for c in contexts)
        H, heads = a["items"].shape[1], p.num_heads
        dh = H // heads
        tokens = np.zeros((B, W), dtype=np.int64)
        live = np.zeros((B, W), dtype=bool)
        for b, c in enumerate(contexts):
            tokens[b, W - len(c):] = c
            live[b, W - len(c):] = True
        x = a["items"][tokens] * math.sqrt(H) + a["positions"][p.max_len - W:]
        x = np.where(live[..., None], x, a["positions"][p.max_len - W:]).astype(np.float32)  # pad: emb 0
        causal = np.tril(np.ones((W, W), dtype=bool))
        allowed = causal[None] & (live[:, None, :] | np.eye(W, dtype=bool)[None])  # [B, Wq, Wk]
        for k in range(p.num_blocks):
            last = k == p.num_blocks - 1  # the last block is needed at the newest position only
            h = _layer_norm(x, a[f"ln1_g{k}"], a[f"ln1_b{k}"])
            qkv = _dot(h, a[f"qkv_w{k}"].T) + a[f"qkv_b{k}"]
            q, kk, v = qkv[..., :H], qkv[..., H:2 * H], qkv[..., 2 * H:]
            if last:
                q, mask, x = q[:, -1:], allowed[:, -1:], x[:, -1:]
            else:
                mask = allowed
            q = q.reshape(B, -1, heads, dh).transpose(0, 2, 1, 3)
            kk = kk.reshape(B, W, heads, dh).transpose(0, 2, 1, 3)
            v = v.reshape(B, W, heads, dh).transpose(0, 2, 1, 3)
            scores = q @ kk.transpose(0, 1, 3, 2) / math.sqrt(dh)
            scores = np.where(mask[:, None], scores, -np.inf)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attn = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            attn = attn.transpose(0, 2, 1, 3).reshape(B, -1, H)
            x = x + _dot(attn, a[f"proj_w{k}"].T) + a[f"proj_b{k}"]
            h = _layer_norm(x, a[f"ln2_g{k}"], a[f"ln2_b{k}"])
            h = np.maximum(_dot(h, a[f"ff1_w{k}"].T) + a[f"ff1_b{k}"], 0.0)
            x = x + _dot(h, a[f"ff2_w{k}"].T) + a[f"ff2_b{k}"]
        return _layer_norm(x[:, -1], a["lnf_g"], a["lnf_b"])

    def _top(self, logits: np.ndarray, k: int, exclude: Iterable[str], candidates: Sequence[str] | None) -> list[Scored]:
        probs = self._softmax(logits)  # over the scored subset: every item with interactions
        allowed = np.ones(len(self.vocab), dtype=bool)
        if candidates is not None:
            allowed[:] = False
            allowed[self._codes(candidates)] = True
        allowed[self._codes(exclude)] = False
        pool = np.flatnonzero(allowed)
        if k <= 0 or not len(pool):
            return []
        if len(pool) > k:
            pool = pool[np.argpartition(-logits[pool], k - 1)[:k]]
        order = np.lexsort((pool, -logits[pool]))  # ties: lower catalogue position first
        return [(self.vocab_ids[v], round(float(probs[v]), SCORE_DECIMALS)) for v in pool[order]]

    # -- the Model protocol --
    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        """Top-k for the user; item_id is ignored (USER_PERSONALIZATION does not use it)."""
        logits = self._logits_many([self._user_history(user_id)])[0]
        return self._top(logits, k, exclude, candidates)

    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        logits = self._logits_many([self._codes(history)])[0]
        return self._top(logits, k, exclude, None)

    def history_recommend_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[Scored]]:
        """history_recommend for many histories, encoded together (offline evaluation)."""
        out: list[list[Scored]] = []
        for start in range(0, len(histories), SERVE_BLOCK):
            block = histories[start:start + SERVE_BLOCK]
            logits = self._logits_many([self._codes(h) for h in block])
            out.extend(self._top(row, k, (), None) for row in logits)
        return out

    # -- persistence --
    def save(self) -> bytes:
        return save_sequence_model(self)

    @classmethod
    def load(cls, blob: bytes) -> "TransformerModel":
        return load_sequence_model(cls, blob, (USER_PERSONALIZATION_V2, PERSONALIZED_RANKING_V2), Params,
                                   "transformer model")


# ---- training: torch --------------------------------------------------------------------------

def recency_weights(timestamps: np.ndarray, apply: bool) -> np.ndarray:
    """Per-interaction loss weight: 0.5 + 0.5 * 2^(-age / (span / 10)), mean 1; all 1 without recency bias."""
    if not apply or not len(timestamps):
        return np.ones(len(timestamps), dtype=np.float32)
    t = timestamps.astype(np.float64)
    half_life = max((t.max() - t.min()) / 10.0, 3600.0)
    w = 0.5 + 0.5 * np.exp2(-(t.max() - t) / half_life)
    return (w / w.mean()).astype(np.float32)


@dataclass
class _Windows:
    """Training windows (see _windows); pre_* is a CSR over windows of the items seen before it."""

    inputs: np.ndarray  # [C, max_len] vocab codes, left-padded with PAD
    targets: np.ndarray  # [C, max_len] the next item of each input, -1 on padding
    weights: np.ndarray  # [C, max_len] the target's loss weight, 0 on padding
    gaps: np.ndarray  # [C, max_len] _repeat_gaps(inputs)
    lengths: np.ndarray  # [C] live positions
    pre_indptr: np.ndarray  # [C + 1]
    pre_items: np.ndarray  # distinct items of the user's SEEN_HISTORY before the window ...
    pre_until: np.ndarray  # ... and the column of their first occurrence in the window (max_len: none)

    def pre_of(self, rows: np.ndarray, trim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row in the batch, item, until column) of the batch's windows, columns shifted by -trim."""
        counts = self.pre_indptr[rows + 1] - self.pre_indptr[rows]
        at = np.repeat(self.pre_indptr[rows] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        return np.repeat(np.arange(len(rows)), counts), self.pre_items[at], self.pre_until[at] - trim


def _windows(indptr: np.ndarray, seqs: np.ndarray, weights: np.ndarray, users: np.ndarray, max_len: int,
             pad: int) -> _Windows:
    """Training windows over the users' sequences, cut from the newest item backwards.

    A user's sequence s (n >= 2 items) has n - 1 input positions s[0..n-2], each predicting the next
    item (weighted by that interaction's weight). Positions are cut into windows of at most max_len,
    the last window ending at the newest item. Each window also lists the distinct items the user
    had consumed before it (within the last SEEN_HISTORY interactions), for the repeat bias."""
    n = (indptr[users + 1] - indptr[users]).astype(np.int64)
    users, n = users[n >= 2], n[n >= 2]
    pairs = n - 1
    n_win = -(-pairs // max_len)
    win_user = np.repeat(np.arange(len(users)), n_win)
    win_j = np.arange(int(n_win.sum())) - np.repeat(np.cumsum(n_win) - n_win, n_win)  # 0 = newest window
    end = pairs[win_user] - win_j * max_len  # exclusive end of the window's inputs, in the user's pairs
    start = np.maximum(end - max_len, 0)
    lengths = end - start
    col = np.arange(max_len)[None, :] - (max_len - lengths)[:, None]  # position within the window's pairs
    live = col >= 0
    first = indptr[users][win_user]
    src = first[:, None] + start[:, None] + np.maximum(col, 0)  # the input's index in seqs
    inputs = np.where(live, seqs[src], pad)
    targets = np.where(live, seqs[src + 1], -1)
    target_w = np.where(live, weights[src + 1], 0.0).astype(np.float32)

    # Items seen before each window: positions [max(0, start - (SEEN_HISTORY - max_len)), start).
    pre_start = np.maximum(0, start - max(0, SEEN_HISTORY - max_len))
    span = start - pre_start
    C = len(inputs)
    owner = np.repeat(np.arange(C), span)
    at = np.repeat(first + pre_start - np.cumsum(span) + span, span) + np.arange(int(span.sum()))
    key = np.unique(owner * pad + seqs[at])  # distinct (window, item); pad = n_vocab
    pre_win, pre_items = key // pad, key % pad
    # each pre-window item counts until its first occurrence inside the window (then the in-window
    # pairs of the loss take over), or through the whole window
    in_key = (np.arange(C)[:, None] * pad + inputs)[live]
    in_col = np.broadcast_to(np.arange(max_len), inputs.shape)[live]
    order = np.lexsort((in_col, in_key))
    in_key, in_col = in_key[order], in_col[order]
    firsts = np.r_[True, in_key[1:] != in_key[:-1]]
    in_key, in_col = in_key[firsts], in_col[firsts]
    hit = np.minimum(np.searchsorted(in_key, key), max(0, len(in_key) - 1))
    found = (hit < len(in_key)) & (in_key[hit] == key) if len(in_key) else np.zeros(len(key), dtype=bool)
    pre_until = np.where(found, in_col[hit] if len(in_key) else 0, max_len)
    pre_indptr = np.zeros(C + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre_win, minlength=C), out=pre_indptr[1:])
    return _Windows(inputs, targets, target_w, _repeat_gaps(inputs), lengths, pre_indptr,
                    pre_items.astype(np.int64), pre_until.astype(np.int64))


def _repeat_gaps(inputs: np.ndarray) -> np.ndarray:
    """gap[c, s]: how many positions later inputs[c, s] occurs again in its window (max_len if never)."""
    C, L = inputs.shape
    row, pos = np.repeat(np.arange(C), L), np.tile(np.arange(L), C)
    order = np.lexsort((pos, inputs.ravel(), row))  # by window, item, position
    gap = np.full(C * L, L, dtype=np.int64)
    same = (row[order][1:] == row[order][:-1]) & (inputs.ravel()[order][1:] == inputs.ravel()[order][:-1])
    gap[order[:-1][same]] = (pos[order][1:] - pos[order][:-1])[same]
    return gap.reshape(C, L)


class TransformerEngine:
    def __init__(self, name: str):
        self.name = name

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> TransformerModel:
        params = parse_hyperparameters(hyperparameters)
        if data.n_interactions == 0:
            raise ValueError("no interactions to train on")
        counts = np.bincount(data.items, minlength=data.n_items)
        vocab = np.flatnonzero(counts)
        to_vocab = np.full(data.n_items, -1, dtype=np.int64)
        to_vocab[vocab] = np.arange(len(vocab))
        prior = popularity_prior(to_vocab[data.items], data.timestamps, len(vocab), params.apply_recency_bias)

        order = np.argsort(data.users, kind="stable")  # as TrainingData.user_histories orders them
        indptr, hist = data.user_histories()
        hist_items = to_vocab[hist]
        weights = recency_weights(data.timestamps, params.apply_recency_bias)[order]
        features = None
        if data.item_features is not None and data.item_features.values.shape[1]:
            features = _standardise(data.item_features.values[vocab])
        arrays, info = _train(indptr, hist_items, weights, len(vocab), features, prior, params, seed)
        info.update(n_items_scored=int(len(vocab)))
        return TransformerModel(self.name, params, arrays, data.item_ids, vocab, data.user_ids,
                                indptr, hist_items, {}, info)


def auto_epochs(affordable: float) -> float:
    """Epochs of a training with epochs "auto", when the work budget pays for `affordable` of them."""
    return min(MAX_AUTO_EPOCHS, affordable)


def _train(indptr, hist_items, weights, n_vocab, features, prior, params: Params, seed: int):
    import torch  # only training needs torch; serving a fitted model does not

    H, L = params.hidden_dimension, params.max_len
    users = np.arange(len(indptr) - 1)
    windows = _windows(indptr, hist_items, weights, users, L, n_vocab)
    n_windows = len(windows.inputs)
    if not n_windows:
        raise ValueError("no user has two interactions: nothing to learn a next item from")
    tokens = int(windows.lengths.sum())

    sampled = params.sampled_softmax
    if sampled is None:
        sampled = 0 if n_vocab <= FULL_SOFTMAX_MAX_ITEMS else min(SAMPLED_MAX, max(SAMPLED_MIN, n_vocab // 8))
    out_width = n_vocab if sampled == 0 or sampled >= n_vocab else sampled
    mean_len = tokens / n_windows
    # Per position, forward: output layer, blocks (qkv, projection, feed-forward, attention).
    cost_per_token = out_width * H + params.num_blocks * ((4 + 2 * params.ffn_factor) * H * H + 2 * H * mean_len)
    budget = WORK_BUDGET * math.sqrt(max(1.0, tokens / BUDGET_REFERENCE_TOKENS))
    affordable = budget / max(1.0, tokens * cost_per_token)
    epochs = params.epochs if params.epochs is not None else auto_epochs(affordable)
    batch = min(params.batch_size, n_windows)
    total_steps = max(1, int(math.ceil(epochs * n_windows / batch)))

    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)  # see user_personalization._train: one thread is fastest
    try:
        item_init = None
        if params.init != "random":
            item_init = spectral_item_vectors(torch, indptr, hist_items, n_vocab, H, seed)
        arrays, last_loss = _run(torch, n_vocab=n_vocab, features=features, prior=prior, params=params, seed=seed,
                                 total_steps=total_steps, batch=batch, sampled=sampled, windows=windows,
                                 item_init=item_init)
    finally:
        torch.set_num_threads(threads)
    info = {"epochs": round(total_steps * batch / n_windows, 3), "steps": total_steps, "windows": n_windows,
            "tokens": tokens, "final_loss": round(last_loss, 4), "softmax_candidates": out_width}
    return arrays, info


def _run(torch, *, n_vocab, features, prior, params: Params, seed: int, total_steps: int, batch: int,
         sampled: int, windows: _Windows, item_init):
    """The training loop proper: seeded, with torch's global RNG restored afterwards."""
    L, lengths = params.max_len, windows.lengths
    warmup = max(1, int(WARMUP_SHARE * total_steps))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        net = _Net(torch, n_vocab, params, features, prior)
        if item_init is not None:
            with torch.no_grad():
                net.emb.weight[:n_vocab] = torch.from_numpy(item_init)
        parameters = list(net.parameters())
        # The shared Adam of the v1 engine; every parameter here gets dense updates (no row-wise table).
        opt = _Adam(torch, parameters, torch.zeros(0), params.learning_rate, lazy_rows=False)
        t_in, t_tg, t_w, t_gap = (torch.from_numpy(a) for a in (windows.inputs, windows.targets,
                                                                 windows.weights, windows.gaps))
        rng = np.random.default_rng(seed)
        step, last_loss, queue = 0, float("nan"), []
        net.train()
        while step < total_steps:
            if not queue:
                queue = _length_batches(lengths, batch, rng)
            rows = queue.pop()
            width = int(lengths[rows].max())  # trim the left padding the whole batch shares
            pre = tuple(torch.from_numpy(a) for a in windows.pre_of(rows, L - width))
            rows = torch.from_numpy(rows)
            cut = slice(L - width, L)
            loss = net.loss(t_in[rows, cut], t_tg[rows, cut], t_w[rows, cut], t_gap[rows, cut], pre, sampled, gen)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 5.0)
            lr = params.learning_rate * min((step + 1) / warmup, (total_steps - step) / max(1, total_steps - warmup))
            opt.step(lr, None, None)
            step += 1
            last_loss = float(loss.detach())
        net.eval()
        arrays = net.export(prior)
    return arrays, last_loss


def _Net(torch, n_vocab: int, params: Params, features, prior):
    """Build the torch module (a factory so that torch is imported only when training)."""
    nn, F = torch.nn, torch.nn.functional
    H, L, heads, n_blocks, p_drop = (params.hidden_dimension, params.max_len, params.num_heads,
                                     params.num_blocks, params.dropout)
    dh, F_in = H // heads, params.ffn_factor * H

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(H, eps=LAYER_NORM_EPS), nn.LayerNorm(H, eps=LAYER_NORM_EPS)
            self.qkv, self.proj = nn.Linear(H, 3 * H), nn.Linear(H, H)
            self.ff1, self.ff2 = nn.Linear(H, F_in), nn.Linear(F_in, H)

        def forward(self, x, mask):
            B, W, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(H, dim=-1)
            q, k, v = (t.reshape(B, W, heads, dh).transpose(1, 2) for t in (q, k, v))
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])
            # Dropout on the residual branches only: random masks cost ~12 ns an element on one
            # core; the attention weights too would more than double that work.
            x = x + F.dropout(self.proj(attn.transpose(1, 2).reshape(B, W, H)), p_drop, self.training)
            return x + F.dropout(self.ff2(F.relu(self.ff1(self.ln2(x)))), p_drop, self.training)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(n_vocab + 1, H, padding_idx=n_vocab)  # + PAD
            nn.init.normal_(self.emb.weight, std=1.0 / math.sqrt(H))
            with torch.no_grad():
                self.emb.weight[n_vocab].zero_()
            self.feats = None if features is None else torch.from_numpy(features)
            self.meta = None if features is None else nn.Linear(features.shape[1], H, bias=False)
            if self.meta is not None:
                nn.init.normal_(self.meta.weight, std=0.01)
            self.pos = nn.Parameter(torch.randn(L, H) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(n_blocks))
            self.lnf = nn.LayerNorm(H, eps=LAYER_NORM_EPS)
            self.bias = nn.Parameter(torch.from_numpy(np.log(prior).astype(np.float32)))
            self.repeat_raw = nn.Parameter(torch.zeros(2))  # [in the context, the newest item] / REPEAT_SCALE

        def item_table(self):
            table = self.emb.weight[:n_vocab]
            if self.meta is not None:
                table = table + self.meta(self.feats)
            return table

        def forward(self, inputs, items):
            """Outputs [B, W, H] for left-padded inputs [B, W] (PAD = n_vocab)."""
            B, W = inputs.shape
            live = inputs < n_vocab
            table = torch.cat([items, torch.zeros(1, H)])  # PAD embeds to 0
            x = table[inputs] * math.sqrt(H) + self.pos[L - W:]
            x = F.dropout(x, p_drop, self.training)
            causal = torch.ones(W, W, dtype=torch.bool).tril()
            mask = causal[None] & (live[:, None, :] | torch.eye(W, dtype=torch.bool)[None])
            for block in self.blocks:
                x = block(x, mask)
            return self.lnf(x)

        def loss(self, inputs, targets, weights, repeat_gap, pre, sampled, gen):
            """Weighted next-item cross-entropy at every position (padding has weight 0).

            pre = (row, item, until): items the row's user had consumed before its window; they
            count as seen at the positions before `until`."""
            items = self.item_table()
            B, W = inputs.shape
            pre_row, pre_item, pre_until = pre
            user = self.forward(inputs, items).reshape(B * W, H)
            tgt, w = targets.reshape(-1).clamp_min(0), weights.reshape(-1)
            if sampled and sampled < n_vocab:
                negatives = torch.randint(0, n_vocab, (sampled,), generator=gen)
                cand, remap = torch.unique(torch.cat([tgt, negatives]), return_inverse=True)
                logits = user @ items[cand].T + self.bias[cand]
                tgt = remap[:len(tgt)]
                column = torch.full((n_vocab + 1,), len(cand), dtype=torch.long)  # not a candidate: dropped
                column[cand] = torch.arange(len(cand))
                cols, pre_cols, width = column[inputs], column[pre_item], len(cand)
            else:
                logits = user @ items.T + self.bias
                cols, pre_cols, width = inputs, pre_item, n_vocab  # PAD (n_vocab) is >= width: dropped
            # Repeat biases at (position t, item seen by t) pairs, each item once per position: an
            # in-window item s <= t counts at its latest occurrence (the next one comes after t),
            # s == t being the newest item; a pre-window item until its first in-window occurrence.
            t_i, s_i = torch.arange(W)[:, None], torch.arange(W)[None, :]
            pairs = (s_i <= t_i)[None] & ((s_i + repeat_gap)[:, None, :] > t_i[None]) & (inputs < n_vocab)[:, None, :]
            b, t, s_ = torch.nonzero(pairs, as_tuple=True)  # [B, Wt, Ws]
            col = cols[b, s_]
            ok = col < width
            b, t, s_, col = b[ok], t[ok], s_[ok], col[ok]
            e, t_pre = torch.nonzero(t_i.reshape(1, W) < pre_until[:, None], as_tuple=True)  # [entries, Wt]
            keep = pre_cols[e] < width
            e, t_pre = e[keep], t_pre[keep]
            rows = torch.cat([b * W + t, pre_row[e] * W + t_pre])
            repeat = self.repeat_raw * REPEAT_SCALE
            values = torch.cat([repeat[0] + repeat[1] * (s_ == t).float(), repeat[0].expand(len(e))])
            logits = logits.index_put((rows, torch.cat([col, pre_cols[e]])), values, accumulate=True)
            per_target = F.cross_entropy(logits, tgt, reduction="none")
            return (per_target * w).sum() / w.sum().clamp_min(1e-12)

        def export(self, prior):
            g = lambda t: t.detach().numpy().astype(np.float32).copy()  # noqa: E731
            with torch.no_grad():
                out = {"items": g(self.item_table()), "positions": g(self.pos), "bias": g(self.bias),
                       "repeat": g(self.repeat_raw * REPEAT_SCALE), "lnf_g": g(self.lnf.weight), "lnf_b": g(self.lnf.bias),
                       "prior": np.asarray(prior, dtype=np.float64)}
                for k, blk in enumerate(self.blocks):
                    out.update({f"ln1_g{k}": g(blk.ln1.weight), f"ln1_b{k}": g(blk.ln1.bias),
                                f"ln2_g{k}": g(blk.ln2.weight), f"ln2_b{k}": g(blk.ln2.bias),
                                f"qkv_w{k}": g(blk.qkv.weight), f"qkv_b{k}": g(blk.qkv.bias),
                                f"proj_w{k}": g(blk.proj.weight), f"proj_b{k}": g(blk.proj.bias),
                                f"ff1_w{k}": g(blk.ff1.weight), f"ff1_b{k}": g(blk.ff1.bias),
                                f"ff2_w{k}": g(blk.ff2.weight), f"ff2_b{k}": g(blk.ff2.bias)})
            return out

    return Net()
