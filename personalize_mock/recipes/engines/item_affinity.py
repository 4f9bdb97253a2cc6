"""aws-item-affinity: for an item, the users most likely to interact with it (USER_SEGMENTATION).

AWS does not describe the algorithm (spec recipes-runtime.md §1.2: "embedding model", hidden_dimension
149 in [32, 256], no HPO). This engine is a two-tower embedding model sized by hidden_dimension:

* item tower: every item has an input vector q_i and an output vector p_i, each a learned ID
  embedding plus a learned projection of the item's metadata (TrainingData.item_features, when the
  group has an Items dataset), and an output bias c_i;
* user tower: a user's vector x_u is the recency-weighted mean of the input vectors of the user's
  last PROFILE_WINDOW items (weight PROFILE_DECAY ** age, age 0 for the newest), so users need no
  free parameters of their own and a user's newest tastes weigh most;
* P(i | u) = softmax_i(x_u . p_i + c_i) over the catalogue, trained with cross-entropy on every
  interaction from the bag of the user's items before it (sampled softmax on big catalogues).

A segment ranks users by their expected number of interactions with the item: log P(i | u) +
log n_u, where n_u is the user's number of interactions in the training data (a user who interacts
a lot is more likely to interact with any given item; the held-out 20 % of the evaluation is
proportional to it). Users who already interacted with the item are included: AWS describes the
segment as the users "most likely to interact with each item" and documents no exclusion (a
filter on the batch segment job is the way to drop them). Segments have no scores (the output
holds only "usersList").

Items known to the group but without interactions (Items dataset only) can be queried: their
output vector is the metadata projection alone (zero vector without metadata, which ranks users by
activity). An item id the solution version did not know at training time is a ValueError ("Item
must exist at training time", §1.2), which a batch segment job writes as that line's error.

Streamed events (PutEvents) do not change segments: AWS generates them from "the data present at
the last full solution version training", so update() leaves the model unchanged.

Evaluation (train_and_evaluate): the USER_SEGMENTATION split of personalize_mock.recipes.evaluation
(oldest 80 % of each user's interactions train, newest 20 % held out); one query per held-out item;
hits_at_1_percent / recall_at_1_percent / coverage of the top 1 % of users. The served model is
then trained again on all interactions. Training fails (ValueError) when every interaction has the
same timestamp (control-plane §8.3).

Hyperparameters (strings; "training."/"data." prefixes accepted): hidden_dimension (149); and,
beyond AWS's documented set, for tests and benchmarks: epochs (auto), learning_rate (0.01),
batch_size (auto: N/16 within [32, 256] for N training targets), sampled_softmax (auto: full
softmax up to 1,024 items, else n_items/8 candidates within [512, 8192]; "0" = full).

Work budget: with epochs=auto, training runs at least MIN_AUTO_STEPS steps and one epoch (at most
MAX_AUTO_EPOCHS), capped by WORK_BUDGET softmax multiply-adds (grown with sqrt(size) above 50,000
targets), below which a random part of an epoch is trained on. More epochs do not pay on the
default synthetic data (hits_at_1_percent 1.0862 after 1 epoch and after 3). Torch is imported only
inside training and runs on one thread; a fitted model scores with numpy and pickles as arrays.
"""
from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from personalize_mock.recipes import evaluation
from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import Event, TrainingData

NAME = "aws-item-affinity"

PROFILE_WINDOW = 100  # items of a user's history in the user vector
PROFILE_DECAY = 0.98  # weight per step of age in the user vector
WEIGHT_DECAY = 1e-3  # L2 on embeddings and projections (not on the biases)
INIT_STD = 0.05
WORK_BUDGET = 9e9  # softmax multiply-adds per training at the reference size
BUDGET_REFERENCE_TARGETS = 50_000
MIN_AUTO_STEPS = 150
MAX_AUTO_EPOCHS = 30
FULL_SOFTMAX_MAX_ITEMS = 1024
SAMPLED_MIN, SAMPLED_MAX = 512, 8192
SCORE_BLOCK = 1 << 22  # cells of one users x items scoring block
TRAIN_THREADS = 1


@dataclass(frozen=True)
class Params:
    hidden_dimension: int = 149
    epochs: float | None = None  # None: auto
    learning_rate: float = 0.01
    batch_size: int | None = None  # None: auto
    sampled_softmax: int | None = None  # None: auto, 0: full softmax, n: n negatives per step


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, typed Params out; unknown keys are ignored. Ranges are what the engine can run;
    AWS's narrower hidden_dimension range [32, 256] is the control plane's to enforce."""
    raw = hp.raw_hyperparameters(hyperparameters)
    kwargs: dict = {}
    if "hidden_dimension" in raw:
        kwargs["hidden_dimension"] = hp.integer(raw, "hidden_dimension", 4, 1024)
    if not hp.is_auto(raw, "epochs"):
        kwargs["epochs"] = hp.number(raw, "epochs", 0, 1000, lo_open=True, expected="a number or auto")
    if "learning_rate" in raw:
        kwargs["learning_rate"] = hp.number(raw, "learning_rate", 0, 1, lo_open=True, hi_open=True)
    if not hp.is_auto(raw, "batch_size"):
        kwargs["batch_size"] = hp.integer(raw, "batch_size", 1, 65536)
    if not hp.is_auto(raw, "sampled_softmax"):
        kwargs["sampled_softmax"] = hp.integer(raw, "sampled_softmax", 0, 10_000_000)
    return Params(**kwargs)


# ---- the fitted model: numpy only ------------------------------------------------------------

def top_users(scores: np.ndarray, k: int) -> np.ndarray:
    """Codes of the k best scores, best first; ties go to the lower code (deterministic)."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if k >= n:
        return np.lexsort((np.arange(n), -scores))
    kth = np.partition(scores, n - k)[n - k]  # the k-th largest score
    pool = np.flatnonzero(scores >= kth)  # every user tied with it too
    return pool[np.lexsort((pool, -scores[pool]))][:k]


class AffinityModel:
    """User vectors, item vectors and per-user offsets (log n_u - log-normaliser of P(. | u))."""

    engine_name = NAME

    def __init__(self, state: dict):
        self.state = state
        self.user_ids = np.asarray(state["user_ids"], dtype=object)
        self.item_ids = np.asarray(state["item_ids"], dtype=object)
        self.user_vectors = state["user_vectors"]  # float32 [U, H]
        self.user_offset = state["user_offset"]  # float64 [U]
        self.item_vectors = state["item_vectors"]  # float32 [I, H]
        self.item_bias = state["item_bias"]  # float32 [I]
        self.training_info = state.get("training_info", {})
        self._item_index = {item: c for c, item in enumerate(self.item_ids)}

    # -- scoring --
    def item_scores(self, codes: np.ndarray) -> np.ndarray:
        """[U, len(codes)]: log of each user's expected interactions with each item (+ a constant)."""
        codes = np.asarray(codes, dtype=np.int64)
        out = self.user_vectors @ self.item_vectors[codes].T
        return out + self.item_bias[codes][None, :] + self.user_offset[:, None]

    def ranked_users(self, scores: np.ndarray, k: int) -> list[str]:
        return [str(u) for u in self.user_ids[top_users(scores, int(k))]]

    def top_users_for_items(self, codes: Sequence[int], k: int) -> list[list[str]]:
        """users_for() of many item codes at once (offline evaluation)."""
        codes = np.asarray(codes, dtype=np.int64)
        per_block = max(1, SCORE_BLOCK // max(1, len(self.user_ids)))
        out: list[list[str]] = []
        for start in range(0, len(codes), per_block):
            block = self.item_scores(codes[start:start + per_block])
            out.extend(self.ranked_users(block[:, j], k) for j in range(block.shape[1]))
        return out

    def _item_code(self, item_id) -> int:
        code = self._item_index.get(str(item_id))
        if code is None:
            raise ValueError(f"Item {item_id} was not in the dataset group's data when the solution "
                             "version was trained; segments can be made only for items known at "
                             "training time.")
        return code

    # -- the Model protocol --
    def users_for(self, *, item_id: str | None = None, item_attributes: str | None = None,
                  k: int = 25) -> list[str]:
        """The k users most likely to interact with item_id, most likely first."""
        if item_attributes is not None:
            raise ValueError("aws-item-affinity makes segments for itemId queries; itemAttributes "
                             "queries need a solution version trained with aws-item-attribute-affinity")
        if item_id is None:
            raise ValueError("each query needs an itemId")
        code = self._item_code(item_id)
        return self.ranked_users(self.item_scores(np.array([code]))[:, 0], k)

    def update(self, events: Sequence[Event]) -> None:
        """Segments come from the data present at the last full training (AWS): nothing to do."""
        return None

    # -- persistence --
    def save(self) -> bytes:
        state = dict(self.state, user_ids=list(self.user_ids), item_ids=list(self.item_ids))
        return pickle.dumps({"engine": self.engine_name, "version": 1, "state": state}, protocol=5)

    @classmethod
    def load(cls, blob: bytes) -> "AffinityModel":
        payload = pickle.loads(blob)
        if payload.get("engine") != cls.engine_name:
            raise ValueError(f"not a {cls.engine_name} model: {payload.get('engine')!r}")
        return cls(payload["state"])


# ---- training --------------------------------------------------------------------------------

def _standardise(values: np.ndarray) -> np.ndarray:
    """Item features as the model reads them: finite, clipped to [-5, 5] (the data layer already
    one-hot encodes, z-scores and L2-normalises)."""
    return np.clip(np.nan_to_num(values.astype(np.float32)), -5.0, 5.0).astype(np.float32)


def _histories(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    indptr, hist = data.user_histories()
    return indptr.astype(np.int64), hist.astype(np.int64)


def profiles(indptr: np.ndarray, hist: np.ndarray, owners: np.ndarray, ends: np.ndarray,
             window: int = PROFILE_WINDOW, decay: float = PROFILE_DECAY):
    """Bags of items of the user vectors: for each (owner, end), the owner's items at history
    positions [end - window, end) with weights decay ** age summing to one.

    Returns (offsets [B], item codes [nnz], weights float32 [nnz]); an empty bag has no entries."""
    ends = np.asarray(ends, dtype=np.int64)
    owners = np.asarray(owners, dtype=np.int64)
    starts = np.maximum(0, ends - window)
    lengths = ends - starts
    offsets = np.zeros(len(ends), dtype=np.int64)
    if len(ends):
        np.cumsum(lengths[:-1], out=offsets[1:])
    row = np.repeat(np.arange(len(ends)), lengths)
    position = np.arange(int(lengths.sum())) - offsets[row] + starts[row]
    items = hist[indptr[owners[row]] + position]
    weights = decay ** (ends[row] - 1 - position).astype(np.float64)
    totals = np.bincount(row, weights=weights, minlength=len(ends))
    weights = (weights / np.where(totals > 0, totals, 1.0)[row]).astype(np.float32)
    return offsets, items, weights


def fit_state(data: TrainingData, params: Params, seed: int) -> dict:
    """Train the two towers on data and return the model state (see AffinityModel)."""
    if data.n_interactions == 0:
        raise ValueError("The Interactions dataset has no interactions to train on.")
    features = None
    if data.item_features is not None and data.item_features.values.shape[1]:
        features = _standardise(data.item_features.values)
    arrays, info = _train(data, features, params, seed)
    state = {
        "user_ids": list(data.user_ids),
        "item_ids": list(data.item_ids),
        "params": params.__dict__,
        "training_info": info,
        "feature_columns": list(data.item_features.columns) if features is not None else [],
        **arrays,
    }
    return state


def _train(data: TrainingData, features: np.ndarray | None, params: Params, seed: int):
    import torch  # only training needs torch; a fitted model scores with numpy

    n_users, n_items, H = data.n_users, data.n_items, params.hidden_dimension
    indptr, hist = _histories(data)
    lengths = np.diff(indptr)
    owners = np.repeat(np.arange(n_users), lengths)
    position = np.arange(len(hist)) - np.repeat(indptr[:-1], lengths)
    is_target = position >= 1  # every interaction after a user's first one
    t_owner, t_end, t_item = owners[is_target], position[is_target], hist[is_target]
    n_targets = len(t_item)
    if n_targets == 0:
        raise ValueError("Training needs users with at least 2 interactions each.")

    sampled = params.sampled_softmax
    if sampled is None:
        sampled = 0 if n_items <= FULL_SOFTMAX_MAX_ITEMS else min(SAMPLED_MAX, max(SAMPLED_MIN, n_items // 8))
    full = sampled == 0 or sampled >= n_items
    batch = params.batch_size or min(256, max(32, n_targets // 16))
    batch = min(batch, n_targets)
    width = n_items if full else min(n_items, sampled + batch)
    budget = WORK_BUDGET * math.sqrt(max(1.0, n_targets / BUDGET_REFERENCE_TARGETS))
    affordable = budget / (n_targets * width * H)
    if params.epochs is not None:
        epochs = params.epochs
    else:
        wanted = min(MAX_AUTO_EPOCHS, max(1.0, MIN_AUTO_STEPS * batch / n_targets))
        epochs = min(wanted, affordable)
    total_steps = max(1, int(math.ceil(epochs * n_targets / batch)))

    rng = np.random.default_rng(seed)
    n_features = 0 if features is None else features.shape[1]
    counts = np.bincount(data.items, minlength=n_items).astype(np.float64)
    init = {
        "A": rng.standard_normal((n_items, H)) * INIT_STD,  # input-side ID embeddings
        "B": rng.standard_normal((n_items, H)) * INIT_STD,  # output-side ID embeddings
        "Wq": rng.standard_normal((n_features, H)) * INIT_STD,
        "Wp": rng.standard_normal((n_features, H)) * INIT_STD,
        "c": np.log((counts + 1.0) / (counts + 1.0).sum()),
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)  # many small ops: extra threads only wait on each other
    try:
        with torch.no_grad():
            tensors = {name: torch.from_numpy(value.astype(np.float32)) for name, value in init.items()}
        for t in tensors.values():
            t.requires_grad_(True)
        feats = torch.from_numpy(features) if features is not None else torch.zeros((n_items, 0))
        last_loss = _run(torch, tensors, feats, rng, params, total_steps, batch, sampled, full,
                         (indptr, hist, t_owner, t_end, t_item))
        arrays = _export(torch, tensors, feats, data, indptr, hist, counts)
    finally:
        torch.set_num_threads(threads)
    info = {"epochs": round(total_steps * batch / n_targets, 3), "steps": total_steps,
            "targets": int(n_targets), "batch_size": int(batch), "final_loss": round(last_loss, 4),
            "softmax_candidates": int(width)}
    return arrays, info


def _run(torch, w, feats, rng, params: Params, total_steps, batch, sampled, full, targets) -> float:
    """The training loop: Adam with L2 on the embeddings, learning rate decayed linearly to 0."""
    indptr, hist, t_owner, t_end, t_item = targets
    F = torch.nn.functional
    order = ["A", "B", "Wq", "Wp", "c"]
    params_list = [w[name] for name in order]
    decayed = [name != "c" for name in order]
    m = [torch.zeros_like(p) for p in params_list]
    v = [torch.zeros_like(p) for p in params_list]
    n_items = w["A"].shape[0]
    queue: list[np.ndarray] = []
    last = float("nan")
    for step in range(total_steps):
        if not queue:
            perm = rng.permutation(len(t_item))
            queue = [perm[i:i + batch] for i in range(0, len(perm), batch)][::-1]
        rows = queue.pop()
        offsets, bag, weights = profiles(indptr, hist, t_owner[rows], t_end[rows])
        bag_items, bag_index = np.unique(bag, return_inverse=True)
        bag_items_t = torch.from_numpy(bag_items)
        q = w["A"][bag_items_t] + feats[bag_items_t] @ w["Wq"]
        x = F.embedding_bag(torch.from_numpy(bag_index.astype(np.int64)), q, torch.from_numpy(offsets),
                            mode="sum", per_sample_weights=torch.from_numpy(weights))
        target = torch.from_numpy(t_item[rows])
        if full:
            cand, label = None, target
        else:
            negatives = torch.from_numpy(rng.integers(0, n_items, sampled))
            cand, inverse = torch.unique(torch.cat([target, negatives]), return_inverse=True)
            label = inverse[:len(rows)]
        if cand is None:
            p = w["B"] + feats @ w["Wp"]
            logits = x @ p.T + w["c"]
        else:
            p = w["B"][cand] + feats[cand] @ w["Wp"]
            logits = x @ p.T + w["c"][cand]
        loss = F.cross_entropy(logits, label)
        loss.backward()
        lr = params.learning_rate * (1.0 - step / total_steps)
        with torch.no_grad():
            t = step + 1
            c1, c2 = 1.0 - 0.9 ** t, 1.0 - 0.999 ** t
            for p_, m_, v_, l2 in zip(params_list, m, v, decayed):
                g = p_.grad if p_.grad is not None else torch.zeros_like(p_)
                if l2:
                    g = g + WEIGHT_DECAY * p_
                m_.mul_(0.9).add_(g, alpha=0.1)
                v_.mul_(0.999).addcmul_(g, g, value=0.001)
                p_.addcdiv_(m_, (v_ / c2).sqrt_().add_(1e-8), value=-lr / c1)
                p_.grad = None
        last = float(loss.detach())
    return last


def _export(torch, w, feats, data: TrainingData, indptr, hist, counts) -> dict:
    """Item vectors, user vectors from the users' whole histories, and the users' offsets."""
    with torch.no_grad():
        q = (w["A"] + feats @ w["Wq"]).numpy()
        projected = (feats @ w["Wp"]).numpy()
        p = w["B"].numpy() + projected
        c = w["c"].numpy().copy()
        cold = counts == 0  # no interaction: no learned identity, only metadata
        if cold.any():
            p[cold] = projected[cold]
            c[cold] = c[~cold].min() if (~cold).any() else 0.0
        lengths = np.diff(indptr)
        offsets, bag, weights = profiles(indptr, hist, np.arange(data.n_users), lengths)
        x = torch.nn.functional.embedding_bag(torch.from_numpy(bag), torch.from_numpy(q), torch.from_numpy(offsets),
                                              mode="sum", per_sample_weights=torch.from_numpy(weights))
        pt, ct = torch.from_numpy(p), torch.from_numpy(c)
        per_block = max(1, SCORE_BLOCK // max(1, data.n_items))
        lse = torch.cat([torch.logsumexp(x[s:s + per_block] @ pt.T + ct, dim=1)
                         for s in range(0, data.n_users, per_block)]) if data.n_users else torch.zeros(0)
        offset = np.log(np.maximum(lengths, 0.5)) - lse.numpy().astype(np.float64)
        return {
            "user_vectors": np.ascontiguousarray(x.numpy(), dtype=np.float32),
            "user_offset": offset,
            "item_vectors": np.ascontiguousarray(p, dtype=np.float32),
            "item_bias": np.ascontiguousarray(c, dtype=np.float32),
            "feature_projection": np.ascontiguousarray(w["Wp"].numpy(), dtype=np.float32),
        }


class ItemAffinityEngine:
    name = NAME
    model_class = AffinityModel

    def _fit(self, data: TrainingData, params: Params, seed: int) -> AffinityModel:
        return self.model_class(fit_state(data, params, seed))

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> AffinityModel:
        evaluation.check_segmentation_timestamps(data)
        return self._fit(data, parse_hyperparameters(hyperparameters), seed)

    def _queries(self, model: AffinityModel, parts: evaluation.SegmentationSplit, k: int):
        """(ranked user lists, truths): one query per held-out item."""
        codes, truths = evaluation.held_out_item_queries(parts)
        return model.top_users_for_items(codes, k), truths

    def train_and_evaluate(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
                           seed: int = 0) -> tuple[AffinityModel, dict[str, float]]:
        """(model trained on all interactions, segmentation metrics of a model trained on the
        oldest 80 % of each user's interactions); see the module docstring."""
        evaluation.check_segmentation_timestamps(data)
        params = parse_hyperparameters(hyperparameters)
        parts = evaluation.segmentation_split(data)
        split_model = self._fit(parts.train, params, seed)
        ranked, truths = self._queries(split_model, parts, evaluation.one_percent(parts.n_users))
        metrics = evaluation.segmentation_metrics(ranked, truths, parts.n_users)
        return self._fit(data, params, seed), metrics
