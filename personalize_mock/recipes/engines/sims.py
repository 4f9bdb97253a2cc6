"""aws-sims: item-to-item collaborative filtering on co-occurrence in user histories (spec §1.2).

Similarity. cooc(i, j) is the number of users whose (training) history holds both i and j; pop(j)
the number of users who interacted with j. The spec leaves AWS's formula UNCONFIRMED and suggests
cooc(i, j) / pop(j) ** popularity_discount_factor; here each co-occurring user adds
w = exp(-d / COOCCURRENCE_DISTANCE) instead of 1, d the distance of i and j in that user's
distinct items (recency order), so items taken up together weigh more:

    sim(i -> j) = sum over users of w / pop(j) ** popularity_discount_factor

for pairs with cooc(i, j) >= min_cointeraction_count (0 and 1 both mean "any co-interaction"). With
the factor at 0 the co-occurrences rank, so popular items come first whatever their correlation;
at 1 popularity is divided out. Ties fall to the larger co-count, then to the more popular item
(Popularity-Count's order). Every item keeps its MAX_NEIGHBOURS best.

Featurization (the `sims` feature transformation): users whose history length (interactions) lies
outside the [min, max]_user_history_length_percentile quantiles of the active users, and items
whose interaction count lies outside the [min, max]_item_interaction_count_percentile quantiles,
are left out of the co-occurrence counts. The item quantiles are interaction-weighted (UNCONFIRMED
which reading AWS uses): with items sorted by count, the 0.9 quantile is the count of the item
holding the interaction at the 90 % mark of the volume, so the default drops the head items whose
interactions all lie in the top 10 % of the volume (the "too general" items the guard is for). The
per-item reading would drop the 10 % most consumed items of the catalogue: on long-tailed data
that is most of what users consume (synthetic precision@10 fell from 0.124 to 0.014 with it).
Left-out items still appear in the popular fallback.

Scale: co-occurrence is counted block of rows by block of rows (a block's (i, j) pair codes are
sorted and run-length counted, then only each row's best neighbours are kept), so memory stays
bounded. A user contributes their MAX_PAIR_HISTORY most recent distinct items (one heavy user adds
at most 200^2 pairs); with the 0.995 history-length percentile the cap rarely binds. Measured on
one core: bench/grocery.py's 1.7 M interactions (230 k users, 187 k items) fit in 2.5 s; a denser
synthetic set of the same size (60 k users, 63 M co-occurring pairs) in ~4 s.

Serving: RELATED_ITEMS return no scores (spec §4.2.2). An item's list is its neighbours, best
first, then popular items (Popularity-Count's rule: distinct users) when they run out; an unknown
item, or one without any neighbour (too little data), gets the popular items (§4.2.4). The item
itself is never returned. history_recommend (offline metrics) adds up the neighbour lists of the
history's HISTORY_WINDOW most recent distinct items, each scaled to its best neighbour and
weighted HISTORY_DECAY ** age (the newest weighs 1). Items already in the history stay eligible,
as custom recipes do not remove seen items (§4.2.4); re-consumption is common (a third of the
synthetic test truths). New events need a new solution version: update() changes nothing.
"""
from __future__ import annotations

import contextlib
import pickle
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from personalize_mock.recipes import hyperparameters as hp
from personalize_mock.recipes.base import Event, Scored, TrainingData

NAME = "aws-sims"

MAX_NEIGHBOURS = 100  # similar items kept per item
# A user's co-occurrence of i and j weighs exp(-d / COOCCURRENCE_DISTANCE), d = their distance in
# the user's distinct items (1: one right after the other): items taken up together relate more
# than the first and last of a long history. ML-100k related items (bench/quality.py),
# precision@10 with the default featurization: tuning splits 0-4 0.0364 -> 0.0382, splits 10-19
# 0.0280 -> 0.0292 (item-kNN 0.0352, 0.0281). The scale was picked on splits 0-4 without the
# featurization: plain 0.0368; 10: 0.0400, 20: 0.0402, 50: 0.0387, 100: 0.0393.
COOCCURRENCE_DISTANCE = 20.0
MAX_PAIR_HISTORY = 200  # most recent distinct items of a user that count towards co-occurrence
BLOCK_PAIRS = 1 << 21  # (i, j) pairs counted at once: 2 M int64 keys (16 MB arrays stay in the heap)
HISTORY_WINDOW = 20  # most recent distinct items aggregated by history_recommend
HISTORY_DECAY = 0.85  # weight of an item one step older in history_recommend
HISTORY_BATCH = 512  # histories scored together by history_recommend_many


@dataclass(frozen=True)
class Params:
    popularity_discount_factor: float = 0.5
    min_cointeraction_count: int = 3
    min_user_history_length_percentile: float = 0.005
    max_user_history_length_percentile: float = 0.995
    min_item_interaction_count_percentile: float = 0.01
    max_item_interaction_count_percentile: float = 0.9


@contextlib.contextmanager
def single_threaded_blas():
    """One BLAS thread for the block (training's matrix products and factorisations), for the
    reason user_personalization._train gives for torch: on a busy 2-core machine every threaded
    BLAS call waits for descheduled workers (measured under load: the orthogonalisations of a
    default aws-similar-items fit took 11.8 s on OpenBLAS's 2 threads, 0.15 s on one). Uses
    threadpoolctl when it is installed (it is not a project dependency); without it BLAS keeps its
    own thread count, with the same results."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def parse_hyperparameters(hyperparameters: dict[str, str] | None) -> Params:
    """Strings in, typed Params out; unknown keys are ignored. min_cointeraction_count accepts any
    non-negative count (AWS's documented [0, 10] is the control plane's to enforce)."""
    raw = hp.raw_hyperparameters(hyperparameters)
    kwargs: dict = {}
    if "popularity_discount_factor" in raw:
        kwargs["popularity_discount_factor"] = hp.fraction(raw, "popularity_discount_factor")
    if "min_cointeraction_count" in raw:
        kwargs["min_cointeraction_count"] = hp.integer(raw, "min_cointeraction_count", 0, 1 << 30)
    for name in ("min_user_history_length_percentile", "max_user_history_length_percentile",
                 "min_item_interaction_count_percentile", "max_item_interaction_count_percentile"):
        if name in raw:
            kwargs[name] = hp.fraction(raw, name)
    params = Params(**kwargs)
    for what in ("user_history_length", "item_interaction_count"):
        if getattr(params, f"min_{what}_percentile") > getattr(params, f"max_{what}_percentile"):
            raise ValueError(f"min_{what}_percentile exceeds max_{what}_percentile")
    return params


# ---- training building blocks (shared with aws-similar-items and aws-popularity-count) ---------

def popularity_ranking(data: TrainingData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item codes with >= 1 interaction, most popular first, and their distinct-user and event
    counts: Popularity-Count's rule (distinct users, then events, then the most recent
    interaction, then the catalogue order), also the popular fallback of the related-items engines."""
    n = data.n_items
    items = np.asarray(data.items, dtype=np.int64)
    events = np.bincount(items, minlength=n)
    pairs = sorted_unique(np.asarray(data.users, dtype=np.int64) * n + items)[0]  # distinct (user, item)
    distinct = np.bincount(pairs % n, minlength=n)
    last = np.full(n, -1, dtype=np.int64)  # -1: never seen (timestamps are epoch seconds >= 0)
    np.maximum.at(last, items, data.timestamps)
    # lexsort: last key is primary; negate for descending, code ascending breaks final ties.
    order = np.lexsort((np.arange(n), -last, -events, -distinct))
    order = order[distinct[order] > 0]
    return order, distinct[order], events[order]


def sorted_unique(keys: np.ndarray, *, assume_sorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(unique values ascending, their counts) by sorting: np.unique's hash path is ~50x slower
    on millions of int64 keys (numpy 2.4)."""
    if not assume_sorted:
        keys = np.sort(keys)
    if not len(keys):
        return keys, np.empty(0, dtype=np.int64)
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    counts = np.diff(np.append(first, len(keys)))
    return keys[first], counts


def _quantiles(values: np.ndarray, lo: float, hi: float, weights: np.ndarray | None = None) -> tuple[float, float]:
    """The lo and hi quantiles of values ("higher" method); with weights, of the weighted sample."""
    if weights is None:
        q = np.quantile(values, [lo, hi], method="higher")
        return float(q[0]), float(q[1])
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order], dtype=np.float64)
    at = np.minimum(len(order) - 1, np.searchsorted(cum, np.array([lo, hi]) * cum[-1], side="left"))
    return float(values[order[at[0]]]), float(values[order[at[1]]])


def training_histories(data: TrainingData, params: Params, max_history: int = MAX_PAIR_HISTORY):
    """Per-user distinct item codes, newest first, after the featurization percentiles and the
    per-user cap: (user_indptr, user_items). Users left out have empty rows."""
    n_items, n_users = data.n_items, data.n_users
    users = np.asarray(data.users, dtype=np.int64)
    items = np.asarray(data.items, dtype=np.int64)
    lengths = np.bincount(users, minlength=n_users)
    active = lengths > 0
    keep_user = np.zeros(n_users, dtype=bool)
    if active.any():
        lo, hi = _quantiles(lengths[active], params.min_user_history_length_percentile,
                            params.max_user_history_length_percentile)
        keep_user = active & (lengths >= lo) & (lengths <= hi)
    counts = np.bincount(items, minlength=n_items)
    seen = counts > 0
    keep_item = np.zeros(n_items, dtype=bool)
    if seen.any():
        lo, hi = _quantiles(counts[seen], params.min_item_interaction_count_percentile,
                            params.max_item_interaction_count_percentile, weights=counts[seen])
        keep_item = seen & (counts >= lo) & (counts <= hi)
    mask = keep_user[users] & keep_item[items]
    users, items = users[mask], items[mask]
    # Distinct (user, item) pairs with the position of their last interaction (data is time-ordered).
    keys = users * n_items + items
    order = np.argsort(keys, kind="stable")  # equal keys keep the time order
    sorted_keys = keys[order]
    is_last = np.append(sorted_keys[1:] != sorted_keys[:-1], True) if len(keys) else np.empty(0, dtype=bool)
    uniq, last_pos = sorted_keys[is_last], order[is_last]
    pu, pi = uniq // n_items, uniq % n_items
    order = np.lexsort((-last_pos, pu))  # by user, newest first
    pu, pi = pu[order], pi[order]
    per_user = np.bincount(pu, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(per_user)[:-1]])
    rank = np.arange(len(pu)) - np.repeat(starts, per_user)
    capped = rank < max_history
    pu, pi = pu[capped], pi[capped]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(pu, minlength=n_users), out=indptr[1:])
    return indptr, pi.astype(np.int32)


def count_cooccurrences(user_indptr: np.ndarray, user_items: np.ndarray, n_items: int, min_count: int,
                        select: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                        block_pairs: int = BLOCK_PAIRS, distance_scale: float = COOCCURRENCE_DISTANCE):
    """Co-occurrence counts cooc(i, j), i != j, over the users' item sets, in blocks of rows, and
    their distance-weighted sums: each user adds exp(-d / distance_scale), d the distance between
    i and j in that user's row of user_items (inf: every user adds 1).

    For every block the pairs with count >= max(1, min_count) are passed to
    select(rows, cols, counts, weights) (rows ascending, cols ascending within a row), which
    returns the indices to keep; the kept (rows, cols, counts, weights) of all blocks are
    concatenated and returned. A block holds the rows whose pairs add up to about block_pairs
    (one heavy row may exceed it).
    """
    lengths = np.diff(user_indptr)
    pair_users = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    by_item = np.argsort(user_items, kind="stable")
    item_users = pair_users[by_item]  # users of each item, item-major
    item_indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_items, minlength=n_items), out=item_indptr[1:])
    entry_work = lengths[item_users]  # pairs each (item, user) entry generates
    cum_work = np.concatenate([[0], np.cumsum(entry_work)])  # by entry
    row_cum = cum_work[item_indptr]  # pairs generated by all rows before each row
    row_work = np.diff(row_cum)
    floor = max(1, int(min_count))
    user_items64 = user_items.astype(np.int64)
    out_rows, out_cols, out_counts, out_weights = [], [], [], []
    start = 0
    while start < n_items:
        stop = int(np.searchsorted(row_cum, row_cum[start] + block_pairs, side="right")) - 1
        stop = min(n_items, max(stop, start + 1))
        e0, e1 = item_indptr[start], item_indptr[stop]
        total = int(cum_work[e1] - cum_work[e0])
        if total:
            entry_users = item_users[e0:e1]
            span = entry_work[e0:e1]
            # position in user_items of every generated pair: user start + offset within the user
            shift = user_indptr[entry_users] - (cum_work[e0:e1] - cum_work[e0])
            pos = np.repeat(shift, span)
            pos += np.arange(total, dtype=np.int64)
            keys = np.repeat(np.arange(stop - start, dtype=np.int64) * n_items, row_work[start:stop])
            keys += user_items64[pos]
            # the row item's own place in user_items (by_item: entries item-major) against its partner's
            weights = np.exp(np.abs(pos - np.repeat(by_item[e0:e1], span)) / -distance_scale)
            del pos
            order = np.argsort(keys, kind="stable")
            keys, weights = keys[order], weights[order]
            del order
            uniq, counts = sorted_unique(keys, assume_sorted=True)
            del keys
            sums = np.add.reduceat(weights, np.cumsum(counts) - counts) if len(counts) else weights[:0]
            rows_u = uniq // n_items + start
            cols_u = uniq % n_items
            ok = (counts >= floor) & (cols_u != rows_u)
            rows_u, cols_u, counts, sums = rows_u[ok], cols_u[ok], counts[ok], sums[ok]
            if len(rows_u):
                keep = select(rows_u, cols_u, counts, sums)
                out_rows.append(rows_u[keep])
                out_cols.append(cols_u[keep])
                out_counts.append(counts[keep])
                out_weights.append(sums[keep])
        start = stop
    if not out_rows:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, np.empty(0)
    return (np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_counts),
            np.concatenate(out_weights))


def top_per_row(rows: np.ndarray, keys: tuple[np.ndarray, ...], limit: int) -> np.ndarray:
    """Indices of the best `limit` entries of every row; keys are lexsort keys (last = primary
    within a row, ascending = better). Result: rows ascending, each best first."""
    order = np.lexsort(keys + (rows,))
    sorted_rows = rows[order]
    first = np.concatenate([[0], np.flatnonzero(np.diff(sorted_rows)) + 1]) if len(rows) else np.empty(0, np.int64)
    sizes = np.diff(np.concatenate([first, [len(rows)]]))
    rank = np.arange(len(rows)) - np.repeat(first, sizes)
    return order[rank < limit]


def to_csr(rows: np.ndarray, n_rows: int, *columns: np.ndarray):
    """(indptr, columns...) of entries already grouped by row in ascending row order."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return (indptr,) + columns


# ---- the trained model: numpy only ------------------------------------------------------------

class RelatedItemsBase:
    """Serving shared by the RELATED_ITEMS engines (aws-sims, aws-similar-items,
    aws-semantic-similarity): ids, the popular fallback, exclusions and candidates, the batched
    history path. A subclass provides _ranked_many(histories, limit) -> per history, up to `limit`
    item codes best first."""

    engine_name = ""

    def _init_common(self, item_ids: np.ndarray, popular: np.ndarray) -> None:
        self.item_ids = np.asarray(item_ids, dtype=object)
        self.popular = np.asarray(popular, dtype=np.int64)  # codes with interactions, best first
        self._index = {item: c for c, item in enumerate(self.item_ids)}
        self._pop_rank = np.full(len(self.item_ids), len(self.popular), dtype=np.int64)
        self._pop_rank[self.popular] = np.arange(len(self.popular))

    def _codes(self, ids: Iterable[str]) -> np.ndarray:
        idx = self._index
        return np.array([idx[i] for i in ids if i in idx], dtype=np.int64)

    def _emit(self, ranked: np.ndarray, k: int, banned: np.ndarray, candidates: Sequence[str] | None) -> list[Scored]:
        """The first k codes of `ranked`, then of the popular list, skipping banned codes and
        repeats; with candidates, only those (never-interacted candidates are not popular)."""
        if k <= 0:
            return []
        taken = set(np.asarray(banned, dtype=np.int64).tolist())
        allowed = None if candidates is None else set(self._codes(candidates).tolist())
        out: list[Scored] = []
        if allowed is None:
            fill = self.popular[:k + len(taken) + len(ranked)]
        else:
            pool = np.array(sorted(allowed), dtype=np.int64)
            pool = pool[self._pop_rank[pool] < len(self.popular)]
            fill = pool[np.argsort(self._pop_rank[pool], kind="stable")]
        for source in (ranked, fill):
            for code in np.asarray(source, dtype=np.int64).tolist():
                if code in taken or (allowed is not None and code not in allowed):
                    continue
                taken.add(code)
                out.append((self.item_ids[code], None))
                if len(out) >= k:
                    return out
        return out

    def rank(self, *, user_id: str, item_ids: Sequence[str]) -> list[Scored]:
        """RELATED_ITEMS recipes do not serve GetPersonalizedRanking; this answers in popularity
        order (items without interactions, then unknown ones, last in input order), no scores."""
        unique = list(dict.fromkeys(item_ids))
        known = sorted((i for i in unique if i in self._index), key=lambda i: self._pop_rank[self._index[i]])
        return [(i, None) for i in known] + [(i, None) for i in unique if i not in self._index]

    def update(self, events: Sequence[Event]) -> None:
        """Related-items models need a new solution version to see new events (documented)."""
        return None

    # -- anonymous histories (offline evaluation) --
    def history_recommend(self, history: Sequence[str], k: int, exclude: Iterable[str] = ()) -> list[Scored]:
        """Items related to the history's most recent items (then popular items). Items already
        in the history are not removed: custom recipes do not drop seen items (spec §4.2.4)."""
        banned = self._codes(exclude)
        ranked = self._ranked_many([history], k + len(banned))[0]
        return self._emit(ranked, k, banned, None)

    def history_recommend_many(self, histories: Sequence[Sequence[str]], k: int) -> list[list[Scored]]:
        out: list[list[Scored]] = []
        nothing = np.empty(0, dtype=np.int64)
        for start in range(0, len(histories), HISTORY_BATCH):
            block = histories[start:start + HISTORY_BATCH]
            out.extend(self._emit(ranked, k, nothing, None) for ranked in self._ranked_many(block, k))
        return out

    def _recent_windows(self, histories: Sequence[Sequence[str]], window: int):
        """(history index, item code, age) of every history's `window` most recent distinct known
        items, age 0 the newest; grouped by history, newest first."""
        idx = self._index
        owner: list[int] = []
        codes: list[int] = []
        for h, history in enumerate(histories):
            known = [idx[i] for i in history if i in idx]
            codes.extend(known)
            owner.extend([h] * len(known))
        owner_a = np.asarray(owner, dtype=np.int64)
        codes_a = np.asarray(codes, dtype=np.int64)
        if not len(codes_a):
            return owner_a, codes_a, owner_a
        position = np.arange(len(codes_a))
        order = np.lexsort((-position, codes_a, owner_a))  # per (history, item): newest first
        o, c = owner_a[order], codes_a[order]
        newest = order[np.concatenate([[True], (o[1:] != o[:-1]) | (c[1:] != c[:-1])])]
        newest = newest[np.lexsort((-newest, owner_a[newest]))]  # by history, newest first
        o = owner_a[newest]
        first = np.flatnonzero(np.concatenate([[True], o[1:] != o[:-1]]))
        age = np.arange(len(o)) - np.repeat(first, np.diff(np.append(first, len(o))))
        keep = age < window
        return o[keep], codes_a[newest][keep], age[keep]

    def _top_by_group(self, groups: np.ndarray, items: np.ndarray, weights: np.ndarray, n_groups: int,
                      limit: int) -> list[np.ndarray]:
        """Sum weights per (group, item); each group's `limit` best items (ties: the more popular)."""
        out = [np.empty(0, dtype=np.int64) for _ in range(n_groups)]
        if not len(groups) or limit <= 0:
            return out
        n = len(self.item_ids)
        keys = groups * n + items
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        total = np.add.reduceat(np.asarray(weights, dtype=np.float64)[order], first)
        g, it = keys[first] // n, keys[first] % n
        pick = top_per_row(g, (self._pop_rank[it], -total), limit)
        g, it = g[pick], it[pick]
        bounds = np.searchsorted(g, np.arange(n_groups + 1))
        for h in range(n_groups):
            out[h] = it[bounds[h]:bounds[h + 1]]
        return out


class SimsModel(RelatedItemsBase):
    engine_name = NAME

    def __init__(self, params: Params, item_ids: np.ndarray, popular: np.ndarray, indptr: np.ndarray,
                 neighbours: np.ndarray, scores: np.ndarray, training_info: dict | None = None):
        self.params = params
        self._init_common(item_ids, popular)
        self.indptr = np.asarray(indptr, dtype=np.int64)  # CSR over item codes
        self.neighbours = np.asarray(neighbours, dtype=np.int32)  # best first within a row
        self.scores = np.asarray(scores, dtype=np.float32)  # sim(i -> j) of each neighbour
        self.training_info = training_info or {}

    def neighbours_of(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[code], self.indptr[code + 1]
        return self.neighbours[a:b], self.scores[a:b]

    def recommend(self, *, user_id: str | None = None, item_id: str | None = None, k: int = 25,
                  exclude: Iterable[str] = (), candidates: Sequence[str] | None = None) -> list[Scored]:
        """The items most similar to item_id (then popular items); popular items when item_id is
        unknown, missing or without neighbours. user_id is not used (SIMS is not personalised)."""
        banned = self._codes(exclude)
        code = self._index.get(item_id) if item_id is not None else None
        ranked = np.empty(0, dtype=np.int64)
        if code is not None:
            banned = np.append(banned, code)
            ranked = self.neighbours_of(code)[0]
        return self._emit(ranked, k, banned, candidates)

    def _ranked_many(self, histories: Sequence[Sequence[str]], limit: int) -> list[np.ndarray]:
        """Neighbour lists of each history's HISTORY_WINDOW newest items, each scaled to its best
        neighbour and weighted HISTORY_DECAY ** age, summed."""
        owner, codes, age = self._recent_windows(histories, HISTORY_WINDOW)
        starts, ends = self.indptr[codes], self.indptr[codes + 1]
        ok = ends > starts
        owner, age, starts, span = owner[ok], age[ok], starts[ok], (ends - starts)[ok]
        pos = np.repeat(starts - (np.cumsum(span) - span), span) + np.arange(int(span.sum()))
        best = self.scores[starts].astype(np.float64)  # rows are best first: the row maximum
        weight = np.repeat(HISTORY_DECAY ** age.astype(np.float64) / best, span)
        return self._top_by_group(np.repeat(owner, span), self.neighbours[pos].astype(np.int64),
                                  self.scores[pos] * weight, len(histories), limit)

    def save(self) -> bytes:
        state = {"params": self.params.__dict__, "item_ids": list(self.item_ids), "popular": self.popular,
                 "indptr": self.indptr, "neighbours": self.neighbours, "scores": self.scores,
                 "training_info": self.training_info}
        return pickle.dumps({"engine": NAME, "version": 1, "state": state}, protocol=5)

    @classmethod
    def load(cls, blob: bytes) -> "SimsModel":
        payload = pickle.loads(blob)
        if payload.get("engine") != NAME:
            raise ValueError(f"not a {NAME} model: {payload.get('engine')!r}")
        s = payload["state"]
        return cls(Params(**s["params"]), np.array(s["item_ids"], dtype=object), s["popular"], s["indptr"],
                   s["neighbours"], s["scores"], s["training_info"])


class SimsEngine:
    name = NAME

    def fit(self, data: TrainingData, hyperparameters: dict[str, str] | None = None, seed: int = 0) -> SimsModel:
        """Deterministic: the seed is not needed (no sampling anywhere)."""
        params = parse_hyperparameters(hyperparameters)
        if data.n_interactions == 0:
            raise ValueError("no interactions to train on")
        n = data.n_items
        popular = popularity_ranking(data)[0]
        user_indptr, user_items = training_histories(data, params)
        pop = np.bincount(user_items, minlength=n).astype(np.float64)  # distinct training users per item
        alpha = params.popularity_discount_factor
        discount = np.ones(n) if alpha == 0 else np.maximum(pop, 1.0) ** -alpha
        pop_rank = np.full(n, len(popular), dtype=np.int64)
        pop_rank[popular] = np.arange(len(popular))

        def select(rows, cols, counts, weights):
            sim = weights * discount[cols]
            return top_per_row(rows, (pop_rank[cols], -counts, -sim), MAX_NEIGHBOURS)

        rows, cols, _, weights = count_cooccurrences(user_indptr, user_items, n, params.min_cointeraction_count, select)
        sims = (weights * discount[cols]).astype(np.float32)
        indptr, neighbours, scores = to_csr(rows, n, cols.astype(np.int32), sims)
        info = {"n_training_users": int((np.diff(user_indptr) > 0).sum()),
                "n_items_with_neighbours": int((np.diff(indptr) > 0).sum()),
                "n_pairs_kept": int(len(rows))}
        return SimsModel(params, data.item_ids, popular, indptr, neighbours, scores, info)
