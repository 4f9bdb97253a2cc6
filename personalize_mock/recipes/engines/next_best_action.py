"""aws-next-best-action: per-user propensities of taking each action (spec recipes-runtime.md §1.2).

Data: TrainingData (the Item interactions, with Users metadata when present) and
TrainingData.actions (ActionData: the Actions and Action interactions datasets). fit() raises
ValueError when TrainingData.actions is None or the Actions dataset holds no action.

Model: one logistic regression per action, P(user takes the action within
`action_optimization_period` days | the action is put in front of the user now). Training
examples are the user's action interactions (TAKEN, NOT_TAKEN, VIEWED, any spelling of §5.3):
each is an occasion at which the action was in front of the user; its label is 1 when the user
took that action at that moment or within the following period (occasions in the last period of
the data are labelled with what is known by then). Features of a (user, action, moment), from
what was known before the moment:

* the user's item-interaction profile: the user's row of the (log-count, L2-normalised)
  user x item matrix projected on its top EMBEDDING_DIM right singular vectors (a seeded
  randomized SVD in numpy), plus log(1 + number of item interactions);
* the user's metadata (TrainingData.user_features) when a Users dataset exists;
* the user's action history: log(1 + earlier TAKEN / NOT_TAKEN / VIEWED of this action),
  log(1 + earlier TAKEN of any action), log(1 + earlier action interactions of any action).

Features are centred and scaled per action (the embedding block by one common scale, so the
penalty shrinks its weak singular directions most); Newton steps fit each action's L2-penalised
log loss, the penalty chosen from L2_GRID by cross-validation with folds grouped by user (the
"validation set" of spec §2.1). Deterministic: the SVD's seed is the training seed, no sampling
otherwise. Serving uses the same features as of now, with the whole history (item profile from
the training rows plus streamed item events, folded in through the same projection).

Rules (spec §1.2, §4.4, §6.2; the actions page of the developer guide):
* score: the propensity rounded to SCORE_DECIMALS, in [0, 1]. Only actions with at least
  MIN_TAKEN TAKEN and MIN_NOT_TAKEN NOT_TAKEN-or-VIEWED interactions within ELIGIBILITY_WINDOW
  (6 weeks) of the latest action-interaction timestamp at training get a model and a score; every
  other action is recommended through exploration with score 0.0 (after the scored ones). Without
  action interactions all scores are 0.0.
* order: score descending; equal scores: higher VALUE first (blank VALUE last), then the newer
  action (CREATION_TIMESTAMP; when blank, the action's oldest interaction, or the latest
  interaction of the training set when it has none, as the guide infers it), then catalogue order.
* removed: actions whose ACTION_EXPIRATION_TIMESTAMP is at or before now, and actions inside the
  user's repeat window: REPEAT_FREQUENCY days after the user's latest interaction of any type
  with the action (the guide: "wait to recommend a particular action after a user interacts with
  it"). No REPEAT_FREQUENCY: no limit. Actions only met in action interactions (not in the Actions
  dataset) are never recommended.
* at most MAX_ACTIONS actions are considered: when more are imported, those with the most recent
  interactions (or creation, for actions without interactions) are kept.
* now: the model's clock, the latest timestamp it has seen (item and action interactions of the
  training, then streamed events), so expiry and repeat windows are deterministic; callers may
  pass `now` explicitly (e.g. the wall clock).

Real time: update() folds streamed item interactions into the user's profile, update_actions()
streamed action interactions into the user's history and repeat windows. Which actions are scored
and their weights change only at the next training ("present at the last training").

Offline evaluation (train_and_evaluate; spec §2.1-2.3 leave the split and key names UNCONFIRMED):
the last `action_optimization_period` days before the latest action interaction are held out.
A model fitted on everything before that cut (item and action interactions) answers, as of the
cut, for the test users: users with an action interaction after the cut (at most
MAX_EVALUATION_USERS, a seeded sample beyond). Truth: the actions a test user TOOK after the cut.
Keys (rounded to 4 decimals; 0.0 when a metric has nothing to average):
* precision: per action, among the test users whose top-EVALUATION_K list holds it as a scored
  (non-exploration) prediction, the fraction who took it; averaged over such actions;
* recall: per action taken by test users, the fraction of its takers who had it as a scored
  prediction in their top-EVALUATION_K list; averaged over those actions;
* auc: ROC AUC of the propensities over the (test user, scored action) pairs that interacted after
  the cut, label = taken (ties count half);
* normalized_discounted_cumulative_gain_at_5 / _at_10 / _at_25: NDCG of the ranked action lists
  (exploration included) against the taken actions, over test users who took at least one;
* coverage: distinct actions in the test users' top-EVALUATION_K lists (exploration included) /
  actions the model considers (those of the Actions dataset, at most MAX_ACTIONS).
The served model is fitted again on all data. No mean reciprocal rank (AWS reports none for NBA).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import (
    ACTION_NOT_TAKEN,
    ACTION_TAKEN,
    ACTION_VIEWED,
    ActionData,
    Event,
    Scored,
    TrainingData,
)
from personalize_mock.recipes.engines.sims import sorted_unique
from personalize_mock.recipes.evaluation import ndcg_at_k

NAME = "aws-next-best-action"
DAY = 86_400
ELIGIBILITY_WINDOW = 42 * DAY  # six weeks back from the latest action interaction
MIN_TAKEN = 50
MIN_NOT_TAKEN = 50  # NOT_TAKEN and VIEWED together
MAX_ACTIONS = 1000
EMBEDDING_DIM = 32
OVERSAMPLE = 8
POWER_ITERATIONS = 2
# L2 penalty on the standardised weights, chosen per action among L2_GRID by CV_FOLDS-fold
# cross-validation grouped by user (log loss) on its latest CV_MAX_EXAMPLES examples
L2_GRID = (1.0, 5.0, 25.0, 125.0, 625.0)
CV_FOLDS = 3
CV_MAX_EXAMPLES = 2000
BIAS_L2 = 1e-3
NEWTON_STEPS = 30
MAX_EXAMPLES_PER_ACTION = 50_000  # the most recent ones
SCORE_DECIMALS = 7
EVALUATION_K = 5  # GetActionRecommendations' default numResults
NDCG_KS = (5, 10, 25)
MAX_EVALUATION_USERS = 10_000
METRIC_KEYS = (
    "auc",
    "coverage",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision",
    "recall",
)
_TYPES = (ACTION_TAKEN, ACTION_NOT_TAKEN, ACTION_VIEWED)
N_HISTORY = 5  # taken, not taken, viewed (this action), taken (any), interactions (any)
_SPMM_CHUNK = 1 << 17


@dataclass(frozen=True)
class Params:
    action_optimization_period: int = 14  # days


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, Params out; unknown keys are ignored. The engine runs any period of 1-365
    days; AWS's documented range [7, 28] is the control plane's to enforce."""
    raw = hp.raw_hyperparameters(hyperparameters)
    if "action_optimization_period" not in raw:
        return Params()
    return Params(action_optimization_period=hp.integer(raw, "action_optimization_period", 1, 365, unit=" days"))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warnings for large |z|


class NextBestActionModel:
    engine_name = NAME

    def __init__(self, state: dict):
        self._state = state
        s = state
        self.action_ids: list[str] = list(s["action_ids"])
        self.period = int(s["period"])
        self.clock = int(s["clock"])
        self.values = s["values"]
        self.expiration = s["expiration"]
        self.repeat = s["repeat"]
        self.creation = s["creation"]
        self.recommendable = s["recommendable"]
        self.eligible = s["eligible"]
        self.weights = s["weights"]  # [n_actions, d + 1], last column the intercept
        self.means = s["means"]
        self.scales = s["scales"]
        self.item_factors = s["item_factors"]  # [n_items, k]
        self.user_features = s["user_features"]  # [n_item_users, m] or None
        self._item_index = {item: c for c, item in enumerate(s["item_ids"])}
        self._user_index = {u: c for c, u in enumerate(s["user_ids"])}
        self._action_index = {a: c for c, a in enumerate(self.action_ids)}
        self._action_user_index = {u: c for c, u in enumerate(s["action_user_ids"])}
        self._live_items: dict[str, dict[int, int]] = s.setdefault("live_items", {})
        self._live_actions: dict[str, dict[int, list[int]]] = s.setdefault("live_actions", {})
        # order among equal scores: VALUE desc (blank last), newer first, catalogue order
        n = len(self.action_ids)
        value_key = np.where(np.isnan(self.values), -np.inf, self.values)
        tie_order = np.lexsort((np.arange(n), -self.creation, -value_key))
        self._tie_rank = np.empty(n, dtype=np.int64)
        self._tie_rank[tie_order] = np.arange(n)

    # ---- features ----------------------------------------------------------------------------

    def _profile(self, user_id: str) -> np.ndarray:
        """[embedding (k), log1p(item interactions), user metadata (m)] of one user, now."""
        s = self._state
        k = self.item_factors.shape[1]
        m = 0 if self.user_features is None else self.user_features.shape[1]
        out = np.zeros(k + 1 + m)
        code = self._user_index.get(user_id)
        counts: dict[int, int] = {}
        if code is not None:
            lo, hi = s["item_indptr"][code], s["item_indptr"][code + 1]
            counts = dict(zip(s["item_cols"][lo:hi].tolist(), s["item_counts"][lo:hi].tolist()))
            if m:
                out[k + 1:] = self.user_features[code]
        for item, extra in self._live_items.get(user_id, {}).items():
            counts[item] = counts.get(item, 0) + extra
        if counts:
            items = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            c = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            out[:k] = _row_embedding(items, c, self.item_factors)
            out[k] = np.log1p(c.sum())
        return out

    def _action_history(self, user_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(counts [n_actions, 3] of TAKEN / NOT_TAKEN / VIEWED, latest interaction per action or -1)."""
        s = self._state
        n = len(self.action_ids)
        counts = np.zeros((n, 3), dtype=np.int64)
        last = np.full(n, -1, dtype=np.int64)
        code = self._action_user_index.get(user_id)
        if code is not None:
            lo, hi = s["pair_indptr"][code], s["pair_indptr"][code + 1]
            acts = s["pair_actions"][lo:hi]
            counts[acts] = s["pair_counts"][lo:hi]
            last[acts] = s["pair_last"][lo:hi]
        for action, (taken, not_taken, viewed, stamp) in self._live_actions.get(user_id, {}).items():
            counts[action] += (taken, not_taken, viewed)
            last[action] = max(last[action], stamp)
        return counts, last

    def propensities(self, user_id: str) -> np.ndarray:
        """Propensity per action code for the user now (0.0 for actions without a model)."""
        return self._propensities(str(user_id), self._action_history(str(user_id))[0])

    def _propensities(self, user_id: str, counts: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.action_ids))
        eligible = np.flatnonzero(self.eligible)
        if not len(eligible):
            return out
        profile = self._profile(user_id)
        history = _history_features(counts[eligible], int(counts[:, 0].sum()), int(counts.sum()))
        x = np.hstack([np.broadcast_to(profile, (len(eligible), len(profile))), history])
        z = ((x - self.means[eligible]) / self.scales[eligible] * self.weights[eligible, :-1]).sum(axis=1)
        out[eligible] = np.round(_sigmoid(z + self.weights[eligible, -1]), SCORE_DECIMALS)
        return out

    # ---- Model interface ---------------------------------------------------------------------

    def recommend_actions(self, *, user_id: str, k: int = 5, now: float | None = None,
                          exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        """Top-k (action_id, score) for the user: scored actions by propensity, then exploration
        actions with 0.0; expired actions and those in the user's repeat window are left out.
        exclude / candidates (filters) remove actions / keep only these before the top k is cut;
        now defaults to the model's clock."""
        codes, scores = self._ranked(str(user_id), now)
        excluded = set(exclude)
        allowed = None if candidates is None else set(candidates)
        out: list[Scored] = []
        for c in codes:
            if len(out) >= k:
                break
            action = self.action_ids[c]
            if action in excluded or (allowed is not None and action not in allowed):
                continue
            out.append((action, float(scores[c])))
        return out

    def _ranked(self, user_id: str, now: float | None) -> tuple[np.ndarray, np.ndarray]:
        now = self.clock if now is None else float(now)
        counts, last = self._action_history(user_id)
        scores = self._propensities(user_id, counts)
        ok = self.recommendable.copy()
        ok &= ~((self.expiration >= 0) & (self.expiration <= now))
        ok &= ~((self.repeat > 0) & (last >= 0) & (now < last + self.repeat * DAY))
        codes = np.flatnonzero(ok)
        codes = codes[np.lexsort((self._tie_rank[codes], -scores[codes]))]
        return codes, scores

    def update(self, events: Sequence[Event]) -> None:
        """Streamed item interactions (PutEvents): they join the users' item profiles at once."""
        for event in events:
            self.clock = max(self.clock, int(np.floor(float(event.timestamp))))
            item = self._item_index.get(str(event.item_id))
            if item is None:
                continue  # an item unknown at training has no factors yet
            live = self._live_items.setdefault(str(event.user_id), {})
            live[item] = live.get(item, 0) + 1
        self._state["clock"] = self.clock

    def update_actions(self, events: Sequence[Event]) -> None:
        """Streamed action interactions (PutActionInteractions; Event.item_id holds the action id,
        Event.event_type the event type): they update the users' action histories and repeat
        windows at once. Events of unknown actions or of other event types only move the clock."""
        from personalize_mock.data.actions import canonical_action_event_type

        for event in events:
            stamp = int(np.floor(float(event.timestamp)))
            self.clock = max(self.clock, stamp)
            action = self._action_index.get(str(event.item_id))
            kind = canonical_action_event_type(event.event_type)
            if action is None or kind not in _TYPES:
                continue
            live = self._live_actions.setdefault(str(event.user_id), {})
            entry = live.setdefault(action, [0, 0, 0, -1])
            entry[_TYPES.index(kind)] += 1
            entry[3] = max(entry[3], stamp)
        self._state["clock"] = self.clock

    def save(self) -> bytes:
        return pickle.dumps({"engine": NAME, "version": 1, "state": self._state}, protocol=5)

    @classmethod
    def load(cls, blob: bytes) -> "NextBestActionModel":
        payload = pickle.loads(blob)
        if payload.get("engine") != NAME:
            raise ValueError(f"not a {NAME} model: {payload.get('engine')!r}")
        return cls(payload["state"])


class NextBestActionEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
            seed: int = 0) -> NextBestActionModel:
        return _fit(data, parse_hyperparameters(hyperparameters), seed)

    def train_and_evaluate(self, data: TrainingData, hyperparameters: dict[str, str] | None = None,
                           seed: int = 0) -> tuple[NextBestActionModel, dict[str, float]]:
        """(model fitted on all data, metrics of a model fitted before the held-out period); see
        the module docstring for the split and the metric definitions."""
        params = parse_hyperparameters(hyperparameters)
        model = _fit(data, params, seed)
        acts = data.actions
        zeros = {key: 0.0 for key in METRIC_KEYS}
        if acts is None or acts.n_interactions == 0:
            return model, zeros
        cut = int(acts.timestamps.max()) - params.action_optimization_period * DAY
        before = acts.timestamps <= cut
        after = ~before & np.isin(acts.event_types, _TYPES)
        if not before.any() or not after.any():
            return model, zeros
        train = data.subset(data.timestamps <= cut)
        train.actions = acts.subset(before)
        split_model = _fit(train, params, seed, clock=cut)
        return model, _evaluate(split_model, acts.subset(after), cut, seed)


# ---- training --------------------------------------------------------------------------------


def _fit(data: TrainingData, params: Params, seed: int, clock: int | None = None) -> NextBestActionModel:
    acts = data.actions
    if acts is None:
        raise ValueError("aws-next-best-action needs the Actions dataset (TrainingData.actions is None)")
    if not acts.cataloged.any():
        raise ValueError("aws-next-best-action needs at least one action in the Actions dataset")
    n_actions = acts.n_actions
    known = np.isin(acts.event_types, _TYPES)
    a_users, a_actions = acts.users[known].astype(np.int64), acts.actions[known].astype(np.int64)
    a_times = acts.timestamps[known]
    kind = np.full(len(a_times), -1, dtype=np.int64)
    for j, name in enumerate(_TYPES):
        kind[acts.event_types[known] == name] = j

    if clock is None:
        stamps = [int(x.max()) for x in (data.timestamps, acts.timestamps) if len(x)]
        clock = max(stamps) if stamps else 0
    latest_action = int(a_times.max()) if len(a_times) else None

    # creation timestamps as the guide infers blanks
    creation = acts.creation_timestamps.copy()
    first = np.full(n_actions, np.iinfo(np.int64).max, dtype=np.int64)
    last_activity = np.full(n_actions, -1, dtype=np.int64)
    if len(a_times):
        np.minimum.at(first, a_actions, a_times)
        np.maximum.at(last_activity, a_actions, a_times)
    blank = creation < 0
    seen = first < np.iinfo(np.int64).max
    creation[blank & seen] = first[blank & seen]
    creation[blank & ~seen] = latest_action if latest_action is not None else clock

    # at most MAX_ACTIONS actions: the most recently active (or created) ones
    recommendable = acts.cataloged.copy()
    if recommendable.sum() > MAX_ACTIONS:
        activity = np.where(last_activity >= 0, last_activity, creation)
        candidates = np.flatnonzero(recommendable)
        keep = candidates[np.lexsort((candidates, -activity[candidates]))[:MAX_ACTIONS]]
        recommendable[:] = False
        recommendable[keep] = True

    eligible = np.zeros(n_actions, dtype=bool)
    if latest_action is not None:
        window = a_times >= latest_action - ELIGIBILITY_WINDOW
        taken = np.bincount(a_actions[window & (kind == 0)], minlength=n_actions)
        other = np.bincount(a_actions[window & (kind > 0)], minlength=n_actions)
        eligible = recommendable & (taken >= MIN_TAKEN) & (other >= MIN_NOT_TAKEN)

    # item profile: randomized SVD of the log-count, row-normalised user x item matrix
    rows, cols, counts = _user_item_counts(data)
    factors = _item_factors(rows, cols, counts, data.n_users, data.n_items, seed)
    item_users_profile = _profiles(rows, cols, counts, data.n_users, factors, data.user_features)

    # action-interaction users -> item-interaction user codes
    to_item_user = np.array([data.user_index.get(u, -1) for u in acts.user_ids], dtype=np.int64)

    # history features at each action interaction (from the interactions strictly before it)
    hist, labels = _history_and_labels(a_users, a_actions, a_times, kind,
                                       params.action_optimization_period * DAY)

    d = item_users_profile.shape[1] + N_HISTORY
    weights = np.zeros((n_actions, d + 1))
    means = np.zeros((n_actions, d))
    scales = np.ones((n_actions, d))
    by_action = np.argsort(a_actions, kind="stable")  # time order within an action
    bounds = np.searchsorted(a_actions[by_action], np.arange(n_actions + 1))
    empty_profile = np.zeros(item_users_profile.shape[1])
    k = factors.shape[1]
    for a in np.flatnonzero(eligible):
        rows_a = by_action[bounds[a]:bounds[a + 1]][-MAX_EXAMPLES_PER_ACTION:]
        owners = to_item_user[a_users[rows_a]]
        profile = np.where((owners >= 0)[:, None], item_users_profile[np.maximum(owners, 0)], empty_profile)
        x = np.hstack([profile, hist[rows_a]])
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        # one scale for the whole embedding block: the penalty then shrinks the weak singular
        # directions most (ridge on principal components) instead of blowing their noise up
        scale[:k] = np.sqrt(np.mean(scale[:k] ** 2)) if k else 1.0
        scale[scale < 1e-9] = 1.0
        x = (x - mean) / scale
        y = labels[rows_a]
        l2 = _choose_l2(x[-CV_MAX_EXAMPLES:], y[-CV_MAX_EXAMPLES:], a_users[rows_a][-CV_MAX_EXAMPLES:])
        weights[a] = _logistic(x, y, l2)
        means[a], scales[a] = mean, scale

    # serving tables: item rows per user (CSR), action history per (user, action)
    item_indptr = np.zeros(data.n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=data.n_users), out=item_indptr[1:])
    pair_indptr, pair_actions, pair_counts, pair_last = _pair_table(a_users, a_actions, a_times, kind,
                                                                    len(acts.user_ids))
    state = {
        "action_ids": list(acts.action_ids), "period": params.action_optimization_period,
        "clock": int(clock), "values": acts.values.astype(np.float64),
        "expiration": acts.expiration_timestamps.astype(np.int64),
        "repeat": acts.repeat_frequencies.astype(np.int64), "creation": creation,
        "recommendable": recommendable, "eligible": eligible,
        "weights": weights, "means": means, "scales": scales,
        "item_ids": list(data.item_ids), "user_ids": list(data.user_ids),
        "item_factors": factors,
        "user_features": None if data.user_features is None else
        np.asarray(data.user_features.values, dtype=np.float64),
        "item_indptr": item_indptr, "item_cols": cols, "item_counts": counts,
        "action_user_ids": list(acts.user_ids), "pair_indptr": pair_indptr,
        "pair_actions": pair_actions, "pair_counts": pair_counts, "pair_last": pair_last,
    }
    return NextBestActionModel(state)


def _user_item_counts(data: TrainingData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs sorted by user then item, with their interaction counts."""
    n_items = max(1, data.n_items)
    pairs, counts = sorted_unique(data.users.astype(np.int64) * n_items + data.items)
    return pairs // n_items, pairs % n_items, counts.astype(np.int64)


def _row_weights(rows: np.ndarray, counts: np.ndarray, n_rows: int) -> np.ndarray:
    w = np.log1p(counts.astype(np.float64))
    norms = np.sqrt(np.bincount(rows, weights=w * w, minlength=n_rows))
    return w / norms[rows]


def _row_embedding(items: np.ndarray, counts: np.ndarray, factors: np.ndarray) -> np.ndarray:
    w = np.log1p(counts)
    w = w / np.sqrt((w * w).sum())
    return w @ factors[items]


def _spmm(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, dense: np.ndarray) -> np.ndarray:
    """(sparse matrix as COO sorted by row) @ dense, in chunks of the non-zeros."""
    out = np.zeros((n_rows, dense.shape[1]))
    for s in range(0, len(rows), _SPMM_CHUNK):
        e = s + _SPMM_CHUNK
        r = rows[s:e]
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        out[r[starts]] += np.add.reduceat(vals[s:e, None] * dense[cols[s:e]], starts, axis=0)
    return out


def _item_factors(rows, cols, counts, n_users: int, n_items: int, seed: int) -> np.ndarray:
    """Top right singular vectors [n_items, k] of the user x item matrix (Halko et al. 2011)."""
    k = min(EMBEDDING_DIM, n_users, n_items)
    if not len(rows) or k < 1:
        return np.zeros((n_items, 0))
    vals = _row_weights(rows, counts, n_users)
    by_col = np.argsort(cols, kind="stable")  # the transpose, sorted by its rows
    t_rows, t_cols, t_vals = cols[by_col], rows[by_col], vals[by_col]
    r = min(k + OVERSAMPLE, n_users, n_items)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(_spmm(rows, cols, vals, n_users, rng.standard_normal((n_items, r))))
    for _ in range(POWER_ITERATIONS):
        z, _ = np.linalg.qr(_spmm(t_rows, t_cols, t_vals, n_items, q))
        q, _ = np.linalg.qr(_spmm(rows, cols, vals, n_users, z))
    b_t = _spmm(t_rows, t_cols, t_vals, n_items, q)  # (Q^T A)^T: [n_items, r]
    _, _, vt = np.linalg.svd(b_t.T, full_matrices=False)
    v = vt[:k].T
    signs = np.sign(v[np.abs(v).argmax(axis=0), np.arange(v.shape[1])])  # a fixed sign per vector
    return v * np.where(signs == 0, 1.0, signs)


def _profiles(rows, cols, counts, n_users: int, factors: np.ndarray, user_features) -> np.ndarray:
    """Every item-interaction user's profile: [embedding, log1p(interactions), metadata]."""
    parts = []
    if len(rows):
        parts.append(_spmm(rows, cols, _row_weights(rows, counts, n_users), n_users, factors))
    else:
        parts.append(np.zeros((n_users, factors.shape[1])))
    parts.append(np.log1p(np.bincount(rows, weights=counts, minlength=n_users))[:, None])
    if user_features is not None:
        parts.append(np.asarray(user_features.values, dtype=np.float64))
    return np.hstack(parts)


def _history_features(counts: np.ndarray, taken_any: np.ndarray | int, total_any: np.ndarray | int) -> np.ndarray:
    """[log1p TAKEN, NOT_TAKEN, VIEWED of this action, log1p TAKEN of any, log1p any interaction]."""
    n = len(counts)
    return np.hstack([
        np.log1p(counts.astype(np.float64)),
        np.log1p(np.broadcast_to(np.asarray(taken_any, dtype=np.float64), (n,)))[:, None],
        np.log1p(np.broadcast_to(np.asarray(total_any, dtype=np.float64), (n,)))[:, None],
    ])


def _exclusive_group_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per position, the sum of the earlier values of its group (values in group order)."""
    total = np.cumsum(values) - values
    group = np.cumsum(starts) - 1
    return total - total[starts][group]


def _history_and_labels(users, actions, times, kind, period_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Features of the action history before each interaction, and whether the user took that
    action at that moment or within period_s seconds after. Arrays are in time order."""
    n = len(times)
    hist = np.zeros((n, N_HISTORY))
    labels = np.zeros(n)
    if not n:
        return hist, labels
    one_hot = np.zeros((n, 3))
    one_hot[np.arange(n), kind] = 1.0
    pos = np.arange(n)
    # per (user, action) in time order
    order = np.lexsort((pos, actions, users))
    pair_start = np.ones(n, dtype=bool)
    pair_start[1:] = (users[order][1:] != users[order][:-1]) | (actions[order][1:] != actions[order][:-1])
    prior = np.column_stack([_exclusive_group_cumsum(one_hot[order, j], pair_start) for j in range(3)])
    # per user in time order
    by_user = np.lexsort((pos, users))
    user_start = np.ones(n, dtype=bool)
    user_start[1:] = users[by_user][1:] != users[by_user][:-1]
    taken_any = np.empty(n)
    total_any = np.empty(n)
    taken_any[by_user] = _exclusive_group_cumsum(one_hot[by_user, 0], user_start)
    total_any[by_user] = _exclusive_group_cumsum(np.ones(n), user_start)
    hist[order, :3] = np.log1p(prior)
    hist[:, 3] = np.log1p(taken_any)
    hist[:, 4] = np.log1p(total_any)

    # label: a TAKEN of the same (user, action) at or after the moment, within the period
    pair_id = np.cumsum(pair_start) - 1  # per position of `order`
    t_sorted = times[order]
    unique_times = np.unique(times)
    big = len(unique_times) + 1
    rank = np.searchsorted(unique_times, t_sorted)
    end_rank = np.searchsorted(unique_times, t_sorted + period_s, side="right") - 1
    keys = pair_id * big + rank
    taken_keys = keys[kind[order] == 0]  # sorted: pairs ascending, time ascending within
    if len(taken_keys):
        at = np.searchsorted(taken_keys, keys, side="left")
        nxt = taken_keys[np.minimum(at, len(taken_keys) - 1)]
        labels[order] = ((at < len(taken_keys)) & (nxt <= pair_id * big + end_rank)).astype(np.float64)
    return hist, labels


def _choose_l2(x: np.ndarray, y: np.ndarray, users: np.ndarray) -> float:
    """The L2_GRID penalty with the lowest cross-validated log loss (folds: user code % CV_FOLDS;
    the smaller penalty wins a tie). The middle of the grid when folds or classes are missing."""
    folds = users % CV_FOLDS
    if len(np.unique(folds)) < 2 or len(np.unique(y)) < 2:
        return L2_GRID[len(L2_GRID) // 2]
    xb = _with_intercept(x)
    losses = np.zeros(len(L2_GRID))
    for f in np.unique(folds):
        test = folds == f
        train_x, train_y, test_x, test_y = xb[~test], y[~test], xb[test], y[test]
        w = None
        for j in range(len(L2_GRID) - 1, -1, -1):  # strongest penalty first, warm starts
            w = _newton(train_x, train_y, L2_GRID[j], w)
            p = np.clip(_sigmoid(test_x @ w), 1e-6, 1 - 1e-6)
            losses[j] -= float(np.sum(test_y * np.log(p) + (1 - test_y) * np.log(1 - p)))
    return L2_GRID[int(np.argmin(losses))]


def _with_intercept(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def _logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """L2-regularised logistic regression: [weights..., intercept]."""
    return _newton(_with_intercept(x), y, l2, None)


def _newton(xb: np.ndarray, y: np.ndarray, l2: float, w0: np.ndarray | None) -> np.ndarray:
    """Newton steps on the penalised log loss (xb ends with the intercept column, which gets
    BIAS_L2), from w0 or zeros, until the largest step is below 1e-5 or NEWTON_STEPS."""
    d = xb.shape[1]
    reg = np.full(d, l2)
    reg[-1] = BIAS_L2
    w = np.zeros(d) if w0 is None else w0.copy()
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(xb @ w)
        gradient = xb.T @ (p - y) + reg * w
        hessian = xb.T @ (xb * (p * (1.0 - p))[:, None])
        hessian[np.diag_indices(d)] += reg
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-5:
            break
    return w


def _pair_table(users, actions, times, kind, n_users: int):
    """CSR per action-interaction user of (action, [TAKEN, NOT_TAKEN, VIEWED] counts, latest time)."""
    n_actions = int(actions.max()) + 1 if len(actions) else 1
    keys = users * n_actions + actions
    pairs, inverse = np.unique(keys, return_inverse=True)
    counts = np.zeros((len(pairs), 3), dtype=np.int64)
    np.add.at(counts, (inverse, kind), 1)
    last = np.full(len(pairs), -1, dtype=np.int64)
    np.maximum.at(last, inverse, times)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // n_actions, minlength=n_users), out=indptr[1:])
    return indptr, (pairs % n_actions).astype(np.int64), counts, last


# ---- evaluation ------------------------------------------------------------------------------


def _evaluate(model: NextBestActionModel, test: ActionData, cut: int, seed: int) -> dict[str, float]:
    users = np.unique(test.users)
    if len(users) > MAX_EVALUATION_USERS:
        users = np.sort(np.random.default_rng(seed).choice(users, MAX_EVALUATION_USERS, replace=False))
    n_actions = len(model.action_ids)
    is_taken = test.event_types == ACTION_TAKEN
    recommended = np.zeros(n_actions)  # scored top-K appearances per action
    hits = np.zeros(n_actions)  # ... of which the user took it
    takers = np.zeros(n_actions)
    listed: set[int] = set()
    ndcg = {k: [] for k in NDCG_KS}
    pair_scores: list[np.ndarray] = []
    pair_labels: list[np.ndarray] = []
    by_user = np.argsort(test.users, kind="stable")
    starts = np.searchsorted(test.users[by_user], users, side="left")
    ends = np.searchsorted(test.users[by_user], users, side="right")
    for j, u in enumerate(users):
        rows = by_user[starts[j]:ends[j]]
        truth = np.unique(test.actions[rows[is_taken[rows]]])
        exposed = np.unique(test.actions[rows])
        codes, scores = model._ranked(str(test.user_ids[u]), cut)
        top = codes[:EVALUATION_K]
        listed.update(top.tolist())
        predicted = top[model.eligible[top]]
        recommended[predicted] += 1
        hits[predicted[np.isin(predicted, truth)]] += 1
        takers[truth] += 1
        if len(truth):
            ranked = codes[:max(NDCG_KS)].tolist()
            for k in NDCG_KS:
                ndcg[k].append(ndcg_at_k(ranked, truth.tolist(), k))
        scored = exposed[model.eligible[exposed]]
        pair_scores.append(scores[scored])
        pair_labels.append(np.isin(scored, truth))
    mean = lambda values: float(np.mean(values)) if len(values) else 0.0  # noqa: E731
    shown = recommended > 0
    taken = takers > 0
    metrics = {
        "auc": _auc(np.concatenate(pair_scores) if pair_scores else np.empty(0),
                    np.concatenate(pair_labels) if pair_labels else np.empty(0, dtype=bool)),
        "coverage": len(listed) / max(1, int(model.recommendable.sum())),
        "precision": mean(hits[shown] / recommended[shown]),
        "recall": mean(hits[taken] / takers[taken]),  # hits: takers that had it predicted
    }
    for k in NDCG_KS:
        metrics[f"normalized_discounted_cumulative_gain_at_{k}"] = mean(ndcg[k])
    return {key: round(float(metrics[key]), 4) for key in METRIC_KEYS}


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula, ties counted half; 0.0 without both classes."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if not positives or not negatives:
        return 0.0
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    average = (starts + ends + 1) / 2.0  # 1-based average rank of each tie block
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))
