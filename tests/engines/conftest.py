"""Small hand-built TrainingData for the engine tests, and checks shared by engine tests."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from personalize_mock.recipes.base import FeatureMatrix, TrainingData


def make_data(rows, catalogue=None, genres=None) -> TrainingData:
    """rows: (user_id, item_id, timestamp); catalogue: extra item ids known only from the Items data;
    genres: {item_id: genre} turned into one-hot item features."""
    rows = sorted(rows, key=lambda r: r[2])  # TrainingData is time-ordered; sorted() is stable
    user_ids = list(dict.fromkeys(r[0] for r in rows))
    item_ids = list(dict.fromkeys([r[1] for r in rows] + list(catalogue or [])))
    if genres:
        item_ids += [i for i in genres if i not in item_ids]
    u_index = {u: c for c, u in enumerate(user_ids)}
    i_index = {i: c for c, i in enumerate(item_ids)}
    features = None
    if genres:
        names = sorted(set(genres.values()))
        values = np.zeros((len(item_ids), len(names)), dtype=np.float32)
        for item, genre in genres.items():
            values[i_index[item], names.index(genre)] = 1.0
        features = FeatureMatrix(values, [f"GENRES={n}" for n in names])
    return TrainingData(
        user_ids=np.array(user_ids, dtype=object),
        item_ids=np.array(item_ids, dtype=object),
        users=np.array([u_index[r[0]] for r in rows], dtype=np.int32),
        items=np.array([i_index[r[1]] for r in rows], dtype=np.int32),
        timestamps=np.array([int(r[2]) for r in rows], dtype=np.int64),
        item_features=features,
    )


@pytest.fixture
def tiny_up_hp():
    """Hyperparameters that train a small sequence model in well under a second."""
    return {"hidden_dimension": "32", "bptt": "8", "epochs": "30", "batch_size": "8", "learning_rate": "0.01"}


def assert_round_trip_serves_without_torch(model, tmp_path) -> None:
    """A saved model loads through the registry, answers as the original, and serves in a fresh
    process without importing torch."""
    from personalize_mock.recipes.engines import load_model

    blob = model.save()
    clone = load_model(blob)
    assert type(clone) is type(model) and clone.engine_name == model.engine_name
    assert clone.recommend(user_id="newbie", k=5) == model.recommend(user_id="newbie", k=5)
    assert clone.rank(user_id="u1", item_ids=["a1", "b1"]) == model.rank(user_id="u1", item_ids=["a1", "b1"])
    path = tmp_path / "model.bin"
    path.write_bytes(blob)
    code = (
        "import sys; from personalize_mock.recipes.engines import load_model;"
        f"m = load_model(open({str(path)!r}, 'rb').read()); print(m.recommend(user_id='newbie', k=2));"
        "assert 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(model.recommend(user_id="newbie", k=2))
