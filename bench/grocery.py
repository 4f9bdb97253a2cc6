"""A generated data set shaped like Amazon review 2018 "Grocery_and_Gourmet_Food" as the user
segmentation notebook reduces it (spec real-clients.md §2): 1,701,476 interactions, 230,558 users
with more than 3 reviews each, 187,437 items with metadata (CATEGORY, BRAND, PRICE).

The shape that matters for the engines:

* popularity is heavy-tailed: item weights follow a Zipf law (exponent 0.8), so a few hundred
  items take a large share and most items have a handful of interactions;
* users are mostly short: every user has at least `min_history` (4) reviews and the rest of the
  interactions go to users by heavy-tailed (Pareto) weights: median ~5, a few hundred at most;
* items have a three-level category path ("Grocery & Gourmet Food|Beverages|Coffee") and a brand
  that lives in one sub-category; users favour 1-3 sub-categories, often stay in the category of
  their previous item and sometimes buy the same brand again, so there is structure to learn;
* timestamps are at day resolution (unixReviewTime) from 2004 to September 2018, denser later;
  EVENT_VALUE is the star rating (mostly 5), EVENT_TYPE is "review".

Vectorised over users, one numpy step per history position: 5-7 s for the full size on one core.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DAY = 86_400
T_START = 1_072_915_200  # 2004-01-01
T_END = 1_537_401_600  # 2018-09-20: the notebook's window ends here
TOPS = ["Beverages", "Snack Foods", "Cooking & Baking", "Candy & Chocolate", "Breakfast Foods",
        "Pantry Staples", "Herbs, Spices & Seasonings", "Condiments & Salad Dressings",
        "Canned, Jarred & Packaged Foods", "Dairy, Cheese & Eggs", "Gourmet Gifts",
        "Meat & Seafood"]
ROOT = "Grocery & Gourmet Food"


def generate(n_users: int = 230_558, n_items: int = 187_437, n_interactions: int = 1_701_476,
             seed: int = 0, *, min_history: int = 4, n_categories: int = 160,
             zipf_exponent: float = 0.8, length_tail: float = 1.3, max_history: int = 1_000,
             p_taste: float = 0.45, p_same_category: float = 0.2, p_same_brand: float = 0.1) -> dict:
    """{"interactions", "items"} DataFrames (the CSV columns), sorted by TIMESTAMP, plus
    "users" (None: the grocery set has no user metadata)."""
    if n_interactions < min_history * n_users:
        raise ValueError("need n_interactions >= min_history * n_users")
    rng = np.random.default_rng(seed)

    # ---- items: category path, brand within the category, Zipf popularity ---------------------
    cat_top = rng.integers(0, len(TOPS), n_categories)
    cat_top[:len(TOPS)] = np.arange(len(TOPS))
    cat_size = rng.dirichlet(np.full(n_categories, 2.0))
    item_cat = rng.choice(n_categories, size=n_items, p=cat_size)
    n_brands = max(n_categories, n_items // 12)
    brand_cat = rng.choice(n_categories, size=n_brands, p=cat_size)
    brand_cat[:n_categories] = np.arange(n_categories)  # every category has a brand
    brands_by_cat = np.argsort(brand_cat, kind="stable")
    brand_start = np.searchsorted(brand_cat[brands_by_cat], np.arange(n_categories))
    brand_count = np.bincount(brand_cat, minlength=n_categories)
    # a few big brands per category: pick within the category with a skew towards its first brands
    offset = (brand_count[item_cat] * rng.random(n_items) ** 2).astype(np.int64)
    item_brand = brands_by_cat[brand_start[item_cat] + offset]
    weight = (rng.permutation(n_items) + 1.0) ** -zipf_exponent

    cat_order, cat_cdf = _group_sampler(item_cat, weight, n_categories)
    brand_order, brand_cdf = _group_sampler(item_brand, weight, n_brands)
    popular_cdf = np.cumsum(weight) / weight.sum()

    # ---- users: 1-3 favourite categories, heavy-tailed history lengths -------------------------
    n_fav = rng.integers(1, 4, n_users)
    fav = rng.choice(n_categories, size=(n_users, 3), p=cat_size)
    fav_w = rng.dirichlet(np.full(3, 1.0), size=n_users) * (np.arange(3)[None, :] < n_fav[:, None])
    fav_cdf = np.cumsum(fav_w, axis=1)
    fav_cdf /= fav_cdf[:, -1:]
    tail = np.minimum(rng.pareto(length_tail, n_users), max_history / 2.0)
    extra = n_interactions - min_history * n_users
    lengths = min_history + rng.multinomial(extra, tail / tail.sum())
    lengths = _cap(lengths, max_history, rng)

    # ---- histories, one vectorised step per position -------------------------------------------
    max_len = int(lengths.max())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    items_out = np.empty(n_interactions, dtype=np.int64)
    prev = np.full(n_users, -1, dtype=np.int64)
    for t in range(max_len):
        active = np.flatnonzero(lengths > t)
        m = len(active)
        mode = rng.random(m)
        pick = np.minimum(np.searchsorted(popular_cdf, rng.random(m)), n_items - 1)
        taste = mode < p_taste
        slot = (fav_cdf[active[taste]] < rng.random((int(taste.sum()), 1))).sum(axis=1)
        pick[taste] = _draw(cat_order, cat_cdf, fav[active[taste], np.minimum(slot, 2)], rng)
        has_prev = prev[active] >= 0
        same_cat = has_prev & (mode >= p_taste) & (mode < p_taste + p_same_category)
        pick[same_cat] = _draw(cat_order, cat_cdf, item_cat[prev[active[same_cat]]], rng)
        same_brand = has_prev & (mode >= p_taste + p_same_category) & (
            mode < p_taste + p_same_category + p_same_brand)
        pick[same_brand] = _draw(brand_order, brand_cdf, item_brand[prev[active[same_brand]]], rng)
        items_out[offsets[active] + t] = pick
        prev[active] = pick

    # ---- timestamps: reviews get denser towards 2018; per-user gaps of weeks to months ---------
    user_of = np.repeat(np.arange(n_users), lengths)
    span_days = (T_END - T_START) // DAY
    last_day = span_days - (span_days * rng.beta(1.0, 4.0, n_users)).astype(np.int64)
    gaps = rng.exponential(45.0, n_interactions)
    gaps[offsets] = 0.0
    cum = np.cumsum(gaps)
    cum -= np.repeat(cum[offsets], lengths)
    back = np.repeat(cum[offsets + lengths - 1], lengths) - cum  # days before the user's last review
    total = np.maximum(cum[offsets + lengths - 1], 1.0)
    squeeze = np.minimum(1.0, last_day / total)  # long histories are squeezed into the window
    day = np.repeat(last_day, lengths) - (back * np.repeat(squeeze, lengths)).astype(np.int64)
    timestamps = T_START + day * DAY
    rating = rng.choice(np.arange(1, 6), size=n_interactions, p=[0.05, 0.04, 0.08, 0.16, 0.67])

    # ---- ids and frames --------------------------------------------------------------------------
    user_ids = _ids("A", rng.permutation(n_users), 13)  # 14 characters, like a reviewerID
    item_ids = _ids("B0", rng.permutation(n_items), 8)  # 10 characters, like an ASIN
    order = np.argsort(timestamps, kind="stable")
    interactions = pd.DataFrame({
        "USER_ID": user_ids[user_of[order]],
        "ITEM_ID": item_ids[items_out[order]],
        "TIMESTAMP": timestamps[order],
        "EVENT_TYPE": np.full(n_interactions, "review", dtype=object),
        "EVENT_VALUE": rating[order].astype(np.float64),
    })
    cat_names = np.array([f"{ROOT}|{TOPS[cat_top[c]]}|{TOPS[cat_top[c]].split(' ')[0]} {c}"
                          for c in range(n_categories)], dtype=object)
    brand_names = np.array([f"Brand {b}" for b in range(n_brands)], dtype=object)
    price = np.round(rng.lognormal(2.3, 0.8, n_items), 2)
    items = pd.DataFrame({"ITEM_ID": item_ids, "CATEGORY": cat_names[item_cat],
                          "BRAND": brand_names[item_brand], "PRICE": price})
    return {"interactions": interactions, "items": items, "users": None}


def _group_sampler(groups: np.ndarray, weight: np.ndarray, n_groups: int):
    """(order, cdf): group g's members occupy (g, g+1] of one global CDF, weighted by `weight`."""
    order = np.lexsort((np.arange(len(groups)), groups))
    g = groups[order]
    w = weight[order]
    total = np.bincount(g, weights=w, minlength=n_groups)
    within = np.cumsum(w) - np.concatenate([[0.0], np.cumsum(total)[:-1]])[g]
    cdf = g + within / total[g]
    last = np.r_[np.flatnonzero(np.diff(g)), len(g) - 1]
    cdf[last] = g[last] + 1.0
    return order, cdf


def _draw(order: np.ndarray, cdf: np.ndarray, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return order[np.minimum(np.searchsorted(cdf, group + rng.random(len(group))), len(order) - 1)]


def _cap(lengths: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Move what exceeds `cap` to random users below it (the total stays the same)."""
    lengths = lengths.copy()
    over = int(np.maximum(lengths - cap, 0).sum())
    lengths = np.minimum(lengths, cap)
    while over:
        room = np.flatnonzero(lengths < cap)
        take = rng.choice(room, size=min(over, len(room)), replace=False)
        lengths[take] += 1
        over -= len(take)
    return lengths


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Distinct random-looking ids: n -> n * K mod 36**width is a bijection (K is prime to 36)."""
    space = 36 ** width
    return np.array([prefix + np.base_repr((int(n) * 2_654_435_761 + space // 3) % space, 36).rjust(width, "0")
                     for n in numbers], dtype=object)
