import io

import numpy as np
import pandas as pd

from personalize_mock import synthetic


def test_shapes_types_and_determinism():
    d = synthetic.generate(n_users=200, n_items=300, n_interactions=5000, seed=5)
    inter, items, users = d["interactions"], d["items"], d["users"]
    assert list(inter.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]
    assert len(inter) == 5000 and len(items) == 300 and len(users) == 200
    assert inter["USER_ID"].map(type).eq(str).all() and inter["ITEM_ID"].map(type).eq(str).all()
    assert inter["TIMESTAMP"].dtype == np.int64 and inter["TIMESTAMP"].is_monotonic_increasing
    assert set(inter["EVENT_TYPE"]) == {"click", "purchase"}
    assert inter["EVENT_VALUE"].between(0, 1).all()
    assert set(inter["ITEM_ID"]) <= set(items["ITEM_ID"]) and set(inter["USER_ID"]) <= set(users["USER_ID"])
    genres = set("|".join(items["GENRES"]).split("|"))
    assert genres <= set(synthetic.GENRE_NAMES) and len(genres) >= 2
    assert set(users["AGE_GROUP"]) <= set(synthetic.AGE_GROUPS)
    first = inter.groupby("ITEM_ID")["TIMESTAMP"].min()
    assert (items.set_index("ITEM_ID").loc[first.index, "CREATION_TIMESTAMP"] <= first).all()
    again = synthetic.generate(n_users=200, n_items=300, n_interactions=5000, seed=5)
    pd.testing.assert_frame_equal(inter, again["interactions"])
    pd.testing.assert_frame_equal(items, again["items"])
    other = synthetic.generate(n_users=200, n_items=300, n_interactions=5000, seed=6)
    assert not inter["ITEM_ID"].equals(other["interactions"]["ITEM_ID"])


def test_planted_structure():
    d = synthetic.generate(seed=0)
    inter = d["interactions"]
    # power-law popularity: the top 1 % of items take a large share of the interactions
    counts = inter["ITEM_ID"].value_counts()
    assert counts.iloc[:20].sum() / len(inter) > 0.15
    # series: a user's next item is the next episode far more often than chance
    nxt = dict(zip(d["truth"]["next_item"]["ITEM_ID"], d["truth"]["next_item"]["NEXT_ITEM_ID"]))
    g = inter.sort_values(["USER_ID", "TIMESTAMP"], kind="stable")
    same_user = g["USER_ID"].to_numpy()[1:] == g["USER_ID"].to_numpy()[:-1]
    prev, cur = g["ITEM_ID"].to_numpy()[:-1][same_user], g["ITEM_ID"].to_numpy()[1:][same_user]
    has_next = np.array([p in nxt for p in prev])
    follow = np.array([nxt.get(p) == c for p, c in zip(prev, cur)])
    assert follow[has_next].mean() > 0.4
    # tastes drift: users' late interactions fall in their late genres more than their early ones do
    genre_of = dict(zip(d["items"]["ITEM_ID"], d["items"]["GENRES"].str.split("|").str[0]))
    tastes = d["truth"]["tastes"].set_index("USER_ID")
    drifted = tastes[tastes["EARLY_GENRES"] != tastes["LATE_GENRES"]].index
    late_share = {"early": [], "late": []}
    for user, rows in g[g["USER_ID"].isin(drifted[:200])].groupby("USER_ID"):
        late = set(tastes.loc[user, "LATE_GENRES"].split("|")) - set(tastes.loc[user, "EARLY_GENRES"].split("|"))
        if not late or len(rows) < 20:
            continue
        hit = rows["ITEM_ID"].map(genre_of).isin(late).to_numpy()
        late_share["early"].append(hit[: len(hit) // 4].mean())
        late_share["late"].append(hit[-(len(hit) // 4):].mean())
    assert np.mean(late_share["late"]) > np.mean(late_share["early"]) + 0.2


def test_csv_and_training_data():
    d = synthetic.generate(n_users=50, n_items=40, n_interactions=600, seed=1)
    back = pd.read_csv(io.BytesIO(synthetic.to_csv_bytes(d["items"])))
    assert list(back.columns) == ["ITEM_ID", "GENRES", "PRICE", "CREATION_TIMESTAMP"] and len(back) == 40
    td = synthetic.to_training_data(d)
    assert td.n_interactions == 600 and td.n_items == 40 and td.n_users == 50
    assert (np.diff(td.timestamps) >= 0).all()
    assert list(td.item_ids[td.items[:5]]) == list(d["interactions"]["ITEM_ID"][:5])
    assert td.item_features.values.shape == (40, len(td.item_features.columns))
