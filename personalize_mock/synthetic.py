"""Seeded synthetic recommendation data with planted, recoverable structure.

Used by tests, `make demo` and the benchmarks. What is planted (and what a good model can learn):

* popularity: item base weights follow a power law (Zipf, exponent ~1), so a few items dominate;
* tastes: every user has 2-3 favourite genres drawn from a prior tied to their AGE_GROUP;
* drift: most users move towards a second set of genres over their history, so their newest
  interactions are better predicted by their recent items than by their whole history;
* series: ~40 % of the items belong to series (episodes 1..n of a show, volumes of a book); after
  consuming an episode a user watches the next one with probability `p_follow`, which gives a
  sequence-aware model a sharp next-item signal;
* noise: a share of the picks ignores taste and follows global popularity; those picks get low
  EVENT_VALUE (engagement) and are rarely purchases, so event filtering has something to remove.

Everything is vectorised over users (one numpy step per position in the histories), so the default
50,000 interactions take a few tens of milliseconds. Ids are strings.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from personalize_mock.recipes.base import FeatureMatrix, TrainingData

GENRE_NAMES = [
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "Horror", "Mystery", "Romance", "SciFi", "Thriller", "Western", "Musical",
]
AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55+"]
MEMBERSHIPS = ["free", "premium"]

T0 = 1_672_531_200  # 2023-01-01T00:00:00Z: a fixed epoch so generated files are reproducible
SPAN = 180 * 86_400  # the interactions cover about six months


def generate(
    n_users: int = 1000,
    n_items: int = 2000,
    n_interactions: int = 50000,
    seed: int = 0,
    *,
    p_follow: float = 0.6,
    p_noise: float = 0.1,
    drift_share: float = 0.6,
    zipf_exponent: float = 1.0,
) -> dict:
    """Return {"interactions", "items", "users"} DataFrames plus "truth" (the planted structure).

    interactions: USER_ID, ITEM_ID, TIMESTAMP (int epoch s), EVENT_TYPE ("click"|"purchase"),
                  EVENT_VALUE (engagement in [0, 1]); sorted by TIMESTAMP.
    items:        ITEM_ID, GENRES ("Comedy" or "Comedy|Drama"), PRICE, CREATION_TIMESTAMP.
    users:        USER_ID, AGE_GROUP, MEMBERSHIP.
    truth:        {"next_item": DataFrame(ITEM_ID, NEXT_ITEM_ID) of the series links,
                   "tastes": DataFrame(USER_ID, EARLY_GENRES, LATE_GENRES) pipe-separated}.
    """
    if n_users < 1 or n_items < 2 or n_interactions < n_users:
        raise ValueError("need n_users >= 1, n_items >= 2 and n_interactions >= n_users")
    rng = np.random.default_rng(seed)
    n_genres = int(np.clip(n_items // 100, 4, len(GENRE_NAMES))) if n_items >= 8 else 2

    # ---- items: genre, power-law base weight, series links ------------------------------------
    genre_sizes = rng.dirichlet(np.full(n_genres, 4.0))
    item_genre = rng.choice(n_genres, size=n_items, p=genre_sizes)
    item_genre[:n_genres] = np.arange(min(n_genres, n_items))  # every genre has at least one item
    rank = rng.permutation(n_items) + 1
    base_weight = rank.astype(np.float64) ** -zipf_exponent
    next_item = _plant_series(rng, item_genre, n_genres)

    # Within-genre sampling through one global CDF: genre g's items occupy [g, g+1).
    by_genre = np.lexsort((np.arange(n_items), item_genre))
    sorted_genre = item_genre[by_genre]
    w = base_weight[by_genre]
    genre_total = np.bincount(sorted_genre, weights=w, minlength=n_genres)
    within = np.cumsum(w) - np.concatenate([[0.0], np.cumsum(genre_total)[:-1]])[sorted_genre]
    global_cdf = sorted_genre + within / genre_total[sorted_genre]
    last_of_genre = np.r_[np.flatnonzero(np.diff(sorted_genre)), n_items - 1]
    global_cdf[last_of_genre] = sorted_genre[last_of_genre] + 1.0  # exact edges: no draw leaks into the next genre
    popular_cdf = np.cumsum(base_weight) / base_weight.sum()

    # ---- users: age group prior, early and late tastes, history lengths -----------------------
    user_age = rng.integers(0, len(AGE_GROUPS), size=n_users)
    age_prior = rng.dirichlet(np.full(n_genres, 0.6), size=len(AGE_GROUPS))
    early = _tastes(rng, age_prior[user_age], n_genres)
    late = _tastes(rng, age_prior[user_age], n_genres)
    drifts = rng.random(n_users) < drift_share
    late[~drifts] = early[~drifts]

    min_len = int(min(5, n_interactions // n_users))
    weights = np.minimum(rng.lognormal(0.0, 1.0, size=n_users), 12.0)  # cap: no single giant user
    lengths = min_len + rng.multinomial(n_interactions - min_len * n_users, weights / weights.sum())

    # ---- histories, one vectorised step per position ------------------------------------------
    max_len = int(lengths.max())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    items_out = np.empty(n_interactions, dtype=np.int64)
    noise_out = np.empty(n_interactions, dtype=bool)
    prev = np.full(n_users, -1, dtype=np.int64)
    cum_early, cum_late = np.cumsum(early, axis=1), np.cumsum(late, axis=1)
    for t in range(max_len):
        active = np.flatnonzero(lengths > t)
        f = (t / np.maximum(lengths[active] - 1, 1))[:, None]
        cum = (1.0 - f) * cum_early[active] + f * cum_late[active]
        genre = (cum < rng.random((len(active), 1)) * cum[:, -1:]).sum(axis=1)
        genre = np.minimum(genre, n_genres - 1)
        pick = by_genre[np.minimum(np.searchsorted(global_cdf, genre + rng.random(len(active))), n_items - 1)]
        noise = rng.random(len(active)) < p_noise
        pick[noise] = np.minimum(np.searchsorted(popular_cdf, rng.random(noise.sum())), n_items - 1)
        succ = next_item[np.maximum(prev[active], 0)]
        follow = (prev[active] >= 0) & (succ >= 0) & (rng.random(len(active)) < p_follow)
        pick[follow] = succ[follow]
        noise[follow] = False
        items_out[offsets[active] + t] = pick
        noise_out[offsets[active] + t] = noise
        prev[active] = pick

    # ---- timestamps: per-user start, sessions of short gaps separated by long ones ------------
    user_of = np.repeat(np.arange(n_users), lengths)
    start = T0 + rng.random(n_users) * SPAN * 0.6
    new_session = rng.random(n_interactions) < 0.2
    gaps = np.where(new_session, rng.exponential(86_400.0, n_interactions), 10.0 + rng.exponential(120.0, n_interactions))
    gaps[offsets] = 0.0
    cum_gap = np.cumsum(gaps)
    cum_gap -= np.repeat(cum_gap[offsets], lengths)
    total = np.maximum(cum_gap[offsets + lengths - 1], 1.0)
    room = (T0 + SPAN - start) * (0.3 + 0.7 * rng.random(n_users))
    scale = np.minimum(1.0, room / total)  # squeeze long users into the window, keep short gaps real
    timestamps = (start[user_of] + cum_gap * scale[user_of]).astype(np.int64)

    purchase = rng.random(n_interactions) < np.where(noise_out, 0.03, 0.15)
    engagement = np.where(noise_out, rng.beta(2.0, 5.0, n_interactions), rng.beta(5.0, 2.0, n_interactions))

    # ---- item metadata (creation precedes the first interaction) ------------------------------
    first_seen = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_seen, items_out, timestamps)
    created = np.where(
        first_seen < np.iinfo(np.int64).max,
        first_seen - rng.exponential(30 * 86_400.0, n_items).astype(np.int64),
        (T0 - 365 * 86_400 + rng.random(n_items) * (SPAN + 365 * 86_400)).astype(np.int64),
    )
    second = rng.integers(0, n_genres, size=n_items)
    has_second = (rng.random(n_items) < 0.25) & (second != item_genre)
    names = np.array(GENRE_NAMES[:n_genres], dtype=object)
    genres_col = np.where(has_second, names[item_genre] + "|" + names[second], names[item_genre])
    genre_price = rng.uniform(5.0, 40.0, n_genres)
    price = np.round(genre_price[item_genre] * rng.lognormal(0.0, 0.3, n_items), 2)

    item_ids = np.array([f"i{i}" for i in range(n_items)], dtype=object)
    user_ids = np.array([f"u{u}" for u in range(n_users)], dtype=object)
    order = np.argsort(timestamps, kind="stable")
    interactions = pd.DataFrame({
        "USER_ID": user_ids[user_of[order]],
        "ITEM_ID": item_ids[items_out[order]],
        "TIMESTAMP": timestamps[order],
        "EVENT_TYPE": np.where(purchase[order], "purchase", "click").astype(object),
        "EVENT_VALUE": np.round(engagement[order], 3),
    })
    items = pd.DataFrame({"ITEM_ID": item_ids, "GENRES": genres_col, "PRICE": price, "CREATION_TIMESTAMP": created})
    users = pd.DataFrame({
        "USER_ID": user_ids,
        "AGE_GROUP": np.array(AGE_GROUPS, dtype=object)[user_age],
        "MEMBERSHIP": np.array(MEMBERSHIPS, dtype=object)[(rng.random(n_users) < 0.3).astype(int)],
    })
    linked = np.flatnonzero(next_item >= 0)
    truth = {
        "next_item": pd.DataFrame({"ITEM_ID": item_ids[linked], "NEXT_ITEM_ID": item_ids[next_item[linked]]}),
        "tastes": pd.DataFrame({
            "USER_ID": user_ids,
            "EARLY_GENRES": _genre_labels(early, names),
            "LATE_GENRES": _genre_labels(late, names),
        }),
    }
    return {"interactions": interactions, "items": items, "users": users, "truth": truth}


def _plant_series(rng: np.random.Generator, item_genre: np.ndarray, n_genres: int) -> np.ndarray:
    """next_item[i] = the following episode of i's series, or -1. Series stay within one genre."""
    n_items = len(item_genre)
    next_item = np.full(n_items, -1, dtype=np.int64)
    in_series = rng.random(n_items) < 0.4
    for g in range(n_genres):  # one pass per genre: at most 16 iterations
        members = rng.permutation(np.flatnonzero(in_series & (item_genre == g)))
        pos = 0
        while pos < len(members) - 1:
            size = int(rng.integers(2, 6))
            chunk = members[pos:pos + size]
            next_item[chunk[:-1]] = chunk[1:]
            pos += size
    return next_item


def _tastes(rng: np.random.Generator, prior: np.ndarray, n_genres: int) -> np.ndarray:
    """Per-user genre distribution concentrated on 2-3 genres drawn from the user's age prior."""
    n = len(prior)
    n_fav = np.minimum(np.where(rng.random(n) < 0.3, 3, 2), n_genres)
    keys = np.log(rng.random(prior.shape)) / np.maximum(prior, 1e-12)  # Efraimidis-Spirakis: weighted draws w/o replacement
    top = np.argsort(-keys, axis=1)
    taste = np.zeros_like(prior)
    fav_w = rng.dirichlet(np.full(3, 3.0), size=n)
    for j in range(min(3, n_genres)):
        rows = np.flatnonzero(n_fav > j)
        taste[rows, top[rows, j]] = fav_w[rows, j]
    taste /= taste.sum(axis=1, keepdims=True)
    return 0.97 * taste + 0.03 / n_genres  # a little mass everywhere: tastes are never absolute


def _genre_labels(taste: np.ndarray, names: np.ndarray) -> list[str]:
    top = taste > 0.1
    return ["|".join(names[row]) for row in top]


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as Personalize imports it from S3: header row, no index."""
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def to_training_data(frames: dict) -> TrainingData:
    """TrainingData straight from generate()'s frames, for tests and benchmarks of the engines.

    The service builds TrainingData from imported datasets (personalize_mock.data); this shortcut
    featurises the same way in spirit: one-hot GENRES, standardised PRICE, one-hot AGE_GROUP.
    """
    inter = frames["interactions"]
    items = frames.get("items")
    users = frames.get("users")
    item_ids = pd.unique(pd.concat([inter["ITEM_ID"], items["ITEM_ID"]]) if items is not None else inter["ITEM_ID"])
    user_ids = pd.unique(inter["USER_ID"])
    item_index = pd.Index(item_ids)
    user_index = pd.Index(user_ids)
    order = np.argsort(inter["TIMESTAMP"].to_numpy(), kind="stable")
    inter = inter.iloc[order]
    item_features = creation = None
    if items is not None:
        rows = item_index.get_indexer(items["ITEM_ID"])
        genres = items["GENRES"].str.get_dummies(sep="|")
        price = items["PRICE"].to_numpy(dtype=np.float64)
        price = (price - price.mean()) / (price.std() or 1.0)
        values = np.zeros((len(item_ids), genres.shape[1] + 1), dtype=np.float32)
        values[rows, :-1] = genres.to_numpy(dtype=np.float32)
        values[rows, -1] = price
        item_features = FeatureMatrix(values, [f"GENRES={g}" for g in genres.columns] + ["PRICE"])
        creation = np.full(len(item_ids), -1, dtype=np.int64)
        creation[rows] = items["CREATION_TIMESTAMP"].to_numpy(dtype=np.int64)
    user_features = None
    if users is not None:
        known = users[users["USER_ID"].isin(user_index)]
        dummies = known["AGE_GROUP"].str.get_dummies()
        values = np.zeros((len(user_ids), dummies.shape[1]), dtype=np.float32)
        values[user_index.get_indexer(known["USER_ID"])] = dummies.to_numpy(dtype=np.float32)
        user_features = FeatureMatrix(values, [f"AGE_GROUP={a}" for a in dummies.columns])
    has_type = "EVENT_TYPE" in inter
    has_value = "EVENT_VALUE" in inter
    return TrainingData(
        user_ids=np.asarray(user_ids, dtype=object),
        item_ids=np.asarray(item_ids, dtype=object),
        users=user_index.get_indexer(inter["USER_ID"]).astype(np.int32),
        items=item_index.get_indexer(inter["ITEM_ID"]).astype(np.int32),
        timestamps=inter["TIMESTAMP"].to_numpy(dtype=np.int64),
        event_types=inter["EVENT_TYPE"].to_numpy(dtype=object) if has_type else None,
        event_values=inter["EVENT_VALUE"].to_numpy(dtype=np.float32) if has_value else None,
        item_features=item_features,
        user_features=user_features,
        item_creation_timestamps=creation,
    )
