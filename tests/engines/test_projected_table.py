"""The projected item table: the exact top k and exact logits from a projection of the table,
with an estimated softmax denominator; and User-Personalization serving from it."""
import numpy as np
import pytest

from personalize_mock.recipes.engines import projected_table
from personalize_mock.recipes.engines.projected_table import ProjectedItemTable, suits, top_indices

NONE = np.empty(0, dtype=np.int64)


def table(n=6000, dim=96, rank=12, seed=0):
    """Item vectors with a few strong directions plus noise, a popularity-like bias, and users."""
    rng = np.random.default_rng(seed)
    items = (rng.normal(size=(n, rank)) @ rng.normal(size=(rank, dim)) * 0.4
             + rng.normal(size=(n, dim)) * 0.15).astype(np.float32)
    bias = (-np.log1p(np.arange(n)) * 0.5 + rng.normal(size=n) * 0.3).astype(np.float32)
    users = (rng.normal(size=(40, dim)) * 0.5).astype(np.float32)
    probe = np.sort(np.argsort(-bias)[:512])
    return items, bias, users, probe


def exact_answer(items, bias, user, k, excluded=()):
    logits = (items @ user + bias).astype(np.float64)
    allowed = np.setdiff1d(np.arange(len(bias)), np.asarray(excluded, dtype=np.int64))
    order = allowed[np.lexsort((allowed, -logits[allowed]))][:k]
    top = logits.max()
    return order, logits, top + np.log(np.exp(logits - top).sum())


@pytest.fixture(scope="module")
def projected():
    items, bias, users, probe = table()
    return ProjectedItemTable(np.asfortranarray(items), bias, probe, rank=16, sample=1024), items, bias, users


def test_top_k_and_logits_are_the_full_pass(projected):
    proj, items, bias, users = projected
    extra = np.array([5, 77, 4000, 5999])
    for user in users:
        answer = proj.answer(user, 25, NONE, extra)
        rows, logits, log_z = exact_answer(items, bias, user, 25)
        assert answer.rows.tolist() == rows.tolist()  # the same items in the same order
        np.testing.assert_allclose(answer.logits, logits[rows], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(answer.extra_logits, logits[extra], rtol=1e-5, atol=1e-5)
        assert answer.log_z == pytest.approx(log_z, abs=0.02)  # the denominator is estimated


def test_the_sample_corrects_what_the_projection_misses_of_the_denominator():
    """Items without low-rank structure and a flat softmax: most of the mass lies outside the rows
    scored exactly, and the projected logits miss a residual whose exponential averages well above
    1. The sample's correction brings the denominator within a few per cent; the projection alone
    is off by about half."""
    rng = np.random.default_rng(2)
    items = rng.normal(size=(20_000, 64)).astype(np.float32)
    bias = np.zeros(20_000, dtype=np.float32)
    proj = ProjectedItemTable(items, bias, np.arange(512), rank=16, sample=2048)
    corrected, alone = [], []
    for user in (rng.normal(size=(10, 64)) * 0.15).astype(np.float32):
        logits = (items @ user).astype(np.float64)
        rows = np.sort(np.argsort(-logits)[:25])
        projected = np.append(user @ proj.basis, np.float32(1.0)) @ proj.projected_T
        exact = np.logaddexp.reduce(logits)
        alone.append(abs(np.logaddexp.reduce(projected.astype(np.float64)) - exact))
        estimate = proj._log_normaliser(user, projected, logits.max(), rows, logits[rows], NONE,
                                        np.empty(0))  # exponentiates `projected` in place
        corrected.append(abs(estimate - exact))
    assert np.median(corrected) < 0.03 and max(corrected) < 0.1
    assert min(alone) > 0.3


def test_logits_far_from_zero_keep_their_denominator(projected):
    """The exponentials are taken relative to the top logit, wherever the logits lie."""
    proj, items, bias, users = projected
    for shift in (150.0, -150.0):
        shifted = ProjectedItemTable(items, bias + np.float32(shift), proj.probe, rank=16, sample=1024)
        for user in users[:5]:
            answer, plain = shifted.answer(user, 25, NONE, NONE), proj.answer(user, 25, NONE, NONE)
            assert answer.rows.tolist() == plain.rows.tolist()
            assert answer.log_z == pytest.approx(plain.log_z + shift, abs=1e-3)


def test_the_rough_exponential_is_within_three_per_cent_and_never_garbage():
    values = np.linspace(-86.0, 86.0, 200_001).astype(np.float32)
    ratio = projected_table._rough_exp(values.copy() + np.float32(5.0), 5.0) / np.exp(values.astype(np.float64))
    assert np.all(np.abs(ratio - 1.0) < 0.03)
    far = projected_table._rough_exp(np.array([-1e30, -500.0, 500.0, 1e30], dtype=np.float32), 0.0)
    assert np.all(np.isfinite(far)) and far[0] == far[1] < 1e-37 and far[2] == far[3] > 1e37  # clipped


def test_excluded_rows_are_skipped_and_still_counted_in_the_denominator(projected):
    proj, items, bias, users = projected
    user = users[3]
    best, _, _ = exact_answer(items, bias, user, 10)
    excluded = np.sort(best[:4])
    answer = proj.answer(user, 10, excluded, NONE)
    rows, _, log_z = exact_answer(items, bias, user, 10, excluded)
    assert answer.rows.tolist() == rows.tolist() and not set(excluded) & set(answer.rows.tolist())
    assert answer.log_z == pytest.approx(proj.answer(user, 10, NONE, NONE).log_z, abs=0.005)
    assert answer.log_z == pytest.approx(log_z, abs=0.02)


def test_the_caller_scans_where_the_projection_cannot_answer(projected, monkeypatch):
    proj, items, bias, users = projected
    assert proj.answer(users[0], 5, np.arange(len(bias) - 3), NONE) is None  # fewer allowed rows than k
    assert proj.answer(np.full(items.shape[1], np.nan, dtype=np.float32), 5, NONE, NONE) is None
    monkeypatch.setattr(projected_table, "MAX_EXACT_ROWS", 8)
    assert proj.answer(users[0], 5, NONE, NONE) is None  # too many rows to gather one by one


def test_top_indices_is_exact_whatever_the_probe():
    values = np.random.default_rng(1).normal(size=5000).astype(np.float32)
    for probe in (np.arange(100), np.arange(4900, 5000), np.arange(0, 5000, 7)):
        got = np.sort(top_indices(values, 20, probe))
        assert got.tolist() == np.sort(np.argsort(-values)[:20]).tolist()


def test_only_large_finite_tables_are_projected(monkeypatch):
    items = np.ones((1000, 96), dtype=np.float32)
    assert not suits(items)  # 384 KB: read whole
    monkeypatch.setattr(projected_table, "MIN_TABLE_BYTES", 0)
    assert suits(items)
    assert not suits(np.ones((1000, 16), dtype=np.float32))  # rows too narrow to save anything
    items[3, 3] = np.nan
    assert not suits(items)  # a diverged model is read whole


@pytest.fixture
def projected_serving(monkeypatch):
    """Projected real-time scoring on whatever table (the tests' tables are small)."""
    monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "projected")
    monkeypatch.setattr(projected_table, "MIN_TABLE_BYTES", 0)
    monkeypatch.setattr(projected_table, "MIN_DIMENSION", 0)
    monkeypatch.setattr(projected_table, "RANK", 4)


def test_user_personalization_serves_the_exact_lists_from_the_projection(projected_serving, monkeypatch):
    from personalize_mock.recipes.engines import get_engine, load_model
    from tests.engines.test_user_personalization import genre_data

    hp = {"hidden_dimension": "32", "bptt": "8", "epochs": "10", "batch_size": "8", "learning_rate": "0.01"}
    model = get_engine("aws-user-personalization").fit(genre_data(), hp, 3)
    exact_model = load_model(model.save())  # an unprojected twin
    catalogue = np.arange(len(model.item_ids))
    for user in ("u0", "u1", "u7"):
        got = model.recommend(user_id=user, k=6, exclude=["a1"])
        monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "exact")
        want = exact_model.recommend(user_id=user, k=6, exclude=["a1"])
        want_top, want_scores = exact_model.recommend_and_score(user_id=user, k=6, catalogue_items=catalogue)
        monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "projected")
        top, scores = model.recommend_and_score(user_id=user, k=6, catalogue_items=catalogue)
        assert [i for i, _ in got] == [i for i, _ in want] and "a1" not in [i for i, _ in got]
        # 17 items: the sample holds them all, so even the denominator is exact here
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-4, atol=1e-7)
        assert [i for i, _ in top] == [i for i, _ in want_top]
        np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-7, equal_nan=True)
    assert isinstance(model._projection, ProjectedItemTable)
    assert exact_model._projection is None  # never asked under "exact"
    assert model.recommend(user_id="nobody", k=3) == exact_model.recommend(user_id="nobody", k=3)


def test_the_setting_is_checked(monkeypatch):
    from personalize_mock import settings

    monkeypatch.delenv("PERSONALIZE_MOCK_REALTIME_SCORING", raising=False)
    assert settings.realtime_scoring() == "projected"
    monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "EXACT")
    assert settings.realtime_scoring() == "exact"
    monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", " Projected ")
    assert settings.realtime_scoring() == "projected"
    monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "fast")
    with pytest.raises(ValueError, match="PERSONALIZE_MOCK_REALTIME_SCORING='fast' is not a valid setting"):
        settings.realtime_scoring()


def test_a_campaign_builds_the_projection_before_it_is_active(projected_serving, monkeypatch):
    import boto3

    from personalize_mock import demo, mock_personalize, synthetic
    from personalize_mock.control.backend import personalize_backends
    from test_control import BUCKET, REGION, import_job, make_group, put
    from test_training_options import RECIPE, train

    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        arns = make_group(personalize)
        data = synthetic.generate(n_users=40, n_items=60, n_interactions=1000, seed=1)
        import_job(personalize, arns["INTERACTIONS"], put("i.csv", synthetic.to_csv_bytes(data["interactions"])), "i")
        solution = personalize.create_solution(
            name="up", datasetGroupArn=arns["group"], recipeArn=RECIPE + "aws-user-personalization",
            solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "32", "bptt": "8"}},
        )["solutionArn"]
        version = train(personalize, solution)["solutionVersionArn"]
        model = personalize_backends["123456789012"][REGION].get("solution_version", version).model

        def deploy(name):
            arn = personalize.create_campaign(name=name, solutionVersionArn=version)["campaignArn"]
            assert demo.wait(lambda: personalize.describe_campaign(campaignArn=arn)["campaign"])["status"] == "ACTIVE"

        monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "exact")
        deploy("exact")
        assert model._projection is None  # nothing to build for exact scoring
        monkeypatch.setenv("PERSONALIZE_MOCK_REALTIME_SCORING", "projected")
        deploy("projected")
        assert isinstance(model._projection, ProjectedItemTable)  # built before any request
