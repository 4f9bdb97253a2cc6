"""Scale benchmark: a grocery-shaped data set (bench/grocery.py: 1.7 million interactions, 230,558
users, 187,437 items with categories) through the whole workflow in process, with boto3 under
mock_personalize: S3 upload, import, training, campaign and 1,000 GetRecommendations.

Targets (2-core reference machine): aws-user-personalization trains within 180 s, the process's
peak resident memory stays within 4 GiB, and GetRecommendations answers at a median under 5 ms
through boto3 (protocol layer + runtime backend + model), with the process's
PERSONALIZE_MOCK_REALTIME_SCORING (default: projected) and PERSONALIZE_MOCK_IN_PROCESS_CALLS
(default: direct). Reported beside it, each in runs of its own taken in turn with the target's
(rounds of BLOCK users, so that all see the same machine load): the same calls with exact
scoring, and how the target's answers compare with theirs (identical item lists, relative error
of the scores); the same calls through moto's stubber (in_process_calls "moto": signed, rebuilt
as HTTP requests by moto, parsed back); the runtime backend's get_recommendations called in
process without boto3 and moto's transport (the whole answer: campaign, exploration, model, item
list); the model alone (SequenceModel.recommend for the same users); the same calls to a campaign
of aws-popularity-count (a near-free model: what boto3, moto and the runtime backend cost alone).

Training is broken down by timing its pieces where they run (the bench wraps them for the run):
build_training_data, the held-out split, the fit on the train users, the evaluation of the test
users and the refit on all data; each with its peak resident memory. The refit runs on a second
thread beside the split fit and the evaluation (SequenceEngine.concurrent_fits), so those pieces
overlap: their seconds add up to more than the stage's, and a piece's peak includes what the
other thread held at the time.

`python bench/scale.py [n_interactions]` runs a smaller copy of the same shape (the users and items
scaled down in proportion) when a number is given.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grocery  # noqa: E402
from workflow import PeakSampler, rss_bytes  # noqa: E402

BUCKET = "personalize-scale-data"
RECIPE = "arn:aws:personalize:::recipe/"
FULL = {"n_users": 230_558, "n_items": 187_437, "n_interactions": 1_701_476}
N_REQUESTS = 1_000
BLOCK = 100  # users per round of timed runs
SCHEMAS = {
    "INTERACTIONS": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": "float"},
    ],
    "ITEMS": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "CATEGORY", "type": "string", "categorical": True},
        {"name": "BRAND", "type": "string", "categorical": True},
        {"name": "PRICE", "type": "float"},
    ],
}
TARGETS = {"train_seconds": 180, "peak_rss_gib": 4, "get_recommendations_median_ms": 5}


def _mib(n: float) -> float:
    return round(n / 2**20, 1)


class _Peaks(PeakSampler):
    """PeakSampler that also keeps the peak of each open interval; intervals may overlap (the
    refit runs on its own thread beside the split fit)."""

    def __init__(self, interval: float = 0.005):
        super().__init__(interval)
        self.open: list[list[int]] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = rss_bytes()
            self.peak = max(self.peak, rss)
            for box in list(self.open):
                box[0] = max(box[0], rss)
            time.sleep(self.interval)

    def start(self) -> list[int]:
        box = [rss_bytes()]
        self.open.append(box)
        return box

    def stop(self, box: list[int]) -> int:
        self.open = [b for b in self.open if b is not box]
        return max(box[0], rss_bytes())


class _Recorder:
    """Stages and the pieces inside them, each with its wall time and peak resident memory."""

    def __init__(self, sampler: _Peaks):
        self.sampler, self.stages, self.pieces = sampler, [], []

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        box = self.sampler.start()
        t0 = time.perf_counter()
        yield
        self.stages.append({"stage": name, "seconds": round(time.perf_counter() - t0, 3),
                            "peak_rss_mib": _mib(self.sampler.stop(box)),
                            "load_1m_at_end": round(os.getloadavg()[0], 2)})

    def wrap(self, name: Callable[..., str] | str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            box = self.sampler.start()
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                label = name(*args, **kwargs) if callable(name) else name
                self.pieces.append({"piece": label, "seconds": round(time.perf_counter() - t0, 3),
                                    "peak_rss_mib": _mib(self.sampler.stop(box))})
        return timed


@contextlib.contextmanager
def _instrument(recorder: _Recorder) -> Iterator[None]:
    """Time the pieces of a training where the service calls them; restored afterwards."""
    from personalize_mock.jobs import training as jobs_training
    from personalize_mock.recipes import evaluation
    from personalize_mock.recipes.engines import ENGINES

    built: list = []  # the TrainingData of the latest training: a fit on it is the served model's

    def build(*args, **kwargs):
        built[:] = [original_build(*args, **kwargs)]
        return built[0]

    def fit_label(engine, data, *args, **kwargs):
        return f"{engine.name}: {'refit on all users' if built and data is built[0] else 'fit on train users'}"

    original_build = jobs_training.build_training_data
    saved = [(jobs_training, "build_training_data", jobs_training.build_training_data),
             (evaluation, "split", evaluation.split), (evaluation, "evaluate", evaluation.evaluate)]
    jobs_training.build_training_data = recorder.wrap("build_training_data", build)
    evaluation.split = recorder.wrap("split", evaluation.split)
    evaluation.evaluate = recorder.wrap(lambda model, *a, **k: f"{model.engine_name}: evaluate",
                                        evaluation.evaluate)
    engines = [e for e in ENGINES.values() if hasattr(e, "name")]
    for engine in engines:
        fit = type(engine).fit.__get__(engine)
        engine.fit = recorder.wrap(lambda *a, _e=engine, **k: fit_label(_e, *a, **k), fit)
    try:
        yield
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)
        for engine in engines:
            engine.__dict__.pop("fit", None)


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"median_ms": round(float(np.median(a)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "mean_ms": round(float(a.mean()), 3)}


@contextlib.contextmanager
def _setting(env: str, value: str) -> Iterator[None]:
    """A personalize_mock setting (read at each call) changed for a while."""
    saved = os.environ.get(env)
    os.environ[env] = value
    try:
        yield
    finally:
        if saved is None:
            del os.environ[env]
        else:
            os.environ[env] = saved


def _agreement(exact: list[list[dict]], projected: list[list[dict]]) -> dict[str, Any]:
    """How the answers of the configured scoring compare with the exact ones: identical item lists
    (order included), and the relative error of the scores of items in both answers."""
    errors = [abs(p / e - 1.0) for a, b in zip(exact, projected)
              for e, p in ((x["score"], y["score"]) for x, y in zip(a, b) if x["itemId"] == y["itemId"])
              if e > 0]
    return {"identical_item_lists": round(sum([x["itemId"] for x in a] == [y["itemId"] for y in b]
                                              for a, b in zip(exact, projected)) / max(1, len(exact)), 4),
            "score_relative_error": {"median": round(float(np.median(errors)), 5),
                                     "p99": round(float(np.percentile(errors, 99)), 5),
                                     "max": round(float(np.max(errors)), 5)} if errors else None}


def run(n_interactions: int | None = None, recipes: tuple[str, ...] = ("aws-user-personalization",
                                                                       "aws-popularity-count")) -> dict:
    import boto3

    from personalize_mock import demo, mock_personalize, settings, synthetic
    from personalize_mock.control.backend import personalize_backends
    from personalize_mock.runtime.backend import personalizeruntime_backends

    shape = dict(FULL)
    if n_interactions is not None and n_interactions != FULL["n_interactions"]:
        f = n_interactions / FULL["n_interactions"]
        shape = {"n_users": max(10, int(FULL["n_users"] * f)), "n_items": max(20, int(FULL["n_items"] * f)),
                 "n_interactions": int(n_interactions)}
    result: dict[str, Any] = {"benchmark": "scale", "data": shape, "targets": TARGETS}
    scoring = settings.realtime_scoring()  # the process's settings: what the target is measured with
    lane = settings.in_process_calls()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    with _Peaks() as sampler:
        rec = _Recorder(sampler)
        with rec.stage("generate"):
            data = grocery.generate(**shape, seed=0)
            inter = data["interactions"]
            result["data"].update(users_with_interactions=int(inter["USER_ID"].nunique()),
                                  items_with_interactions=int(inter["ITEM_ID"].nunique()))
        with mock_personalize(), _instrument(rec):
            personalize, runtime, s3, iam = (boto3.client(n, region_name=demo.REGION) for n in
                                             ("personalize", "personalize-runtime", "s3", "iam"))
            with rec.stage("upload"):
                s3.create_bucket(Bucket=BUCKET)
                for kind in SCHEMAS:
                    body = synthetic.to_csv_bytes(data[kind.lower()])
                    result["data"][f"{kind.lower()}_csv_mib"] = _mib(len(body))
                    s3.put_object(Bucket=BUCKET, Key=f"input/{kind.lower()}.csv", Body=body)
                    del body
                role = iam.create_role(RoleName="PersonalizeScaleRole",
                                       AssumeRolePolicyDocument=json.dumps(demo.TRUST_POLICY))["Role"]["Arn"]
            users = list(inter["USER_ID"].drop_duplicates().sample(
                n=min(N_REQUESTS, inter["USER_ID"].nunique()), random_state=0))
            del data, inter

            with rec.stage("import"):
                group = personalize.create_dataset_group(name="grocery")["datasetGroupArn"]
                demo._active(demo.wait(
                    lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]))
                jobs = []
                for kind in SCHEMAS:
                    schema = personalize.create_schema(name=f"grocery-{kind.lower()}",
                                                       schema=demo.avro_schema(kind, SCHEMAS[kind]))["schemaArn"]
                    dataset = personalize.create_dataset(name=f"grocery-{kind.lower()}", schemaArn=schema,
                                                         datasetGroupArn=group, datasetType=kind)["datasetArn"]
                    demo._active(demo.wait(lambda: personalize.describe_dataset(datasetArn=dataset)["dataset"]))
                    jobs.append(personalize.create_dataset_import_job(
                        jobName=f"grocery-import-{kind.lower()}", datasetArn=dataset, roleArn=role,
                        dataSource={"dataLocation": f"s3://{BUCKET}/input/{kind.lower()}.csv"})["datasetImportJobArn"])
                for job in jobs:
                    demo._active(demo.wait(lambda: personalize.describe_dataset_import_job(
                        datasetImportJobArn=job)["datasetImportJob"], timeout=1800))

            versions, metrics = {}, {}
            for recipe in recipes:
                with rec.stage(f"train {recipe}"):
                    solution = personalize.create_solution(name=f"grocery-{recipe}", datasetGroupArn=group,
                                                           recipeArn=RECIPE + recipe)["solutionArn"]
                    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
                    demo._active(demo.wait(lambda: personalize.describe_solution_version(
                        solutionVersionArn=version)["solutionVersion"], timeout=3600))
                    versions[recipe] = version
                    metrics[recipe] = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]

            with rec.stage("campaign"):
                campaign = personalize.create_campaign(name="grocery-campaign", solutionVersionArn=versions[recipes[0]],
                                                       minProvisionedTPS=1)["campaignArn"]
                demo._active(demo.wait(lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]))

            account = campaign.split(":")[4]
            model = personalize_backends[account][demo.REGION].get("campaign", campaign).version.model
            info = getattr(model, "training_info", {})
            popular = None
            if "aws-popularity-count" in versions:  # the same calls answered by a near-free model
                popular = personalize.create_campaign(
                    name="grocery-popular", minProvisionedTPS=1,
                    solutionVersionArn=versions["aws-popularity-count"])["campaignArn"]
                demo._active(demo.wait(lambda: personalize.describe_campaign(campaignArn=popular)["campaign"]))
                runtime.get_recommendations(campaignArn=popular, userId=users[0])
            runtime.get_recommendations(campaignArn=campaign, userId=users[0])  # connection set up
            # In rounds of BLOCK users, each kind of call in a run of its own: the calls through
            # boto3 as configured (the target), the same calls with exact scoring, through moto's
            # stubber, the runtime backend's, the model alone, the popularity campaign's calls.
            # Each call follows one of its own kind, as in a steady stream of them (a whole-table
            # scan before a call leaves it a cold cache: +1 ms here), and every kind sees the
            # machine's load over the run.
            runs: dict[str, list[float]] = {"boto3": [], "exact": [], "moto": [], "backend": [], "model": [],
                                            "popular": []}
            backend = personalizeruntime_backends[account][demo.REGION]
            answers: dict[str, list] = {"boto3": [], "exact": []}

            def via_boto3(user: str) -> dict:
                return runtime.get_recommendations(campaignArn=campaign, userId=user)

            def timed(kind: str, call: Callable[[str], Any], block: list[str]) -> None:
                for user in block:
                    t0 = time.perf_counter()
                    out = call(user)
                    runs[kind].append((time.perf_counter() - t0) * 1e3)
                    if kind in answers:
                        answers[kind].append(out["itemList"])

            with rec.stage(f"get_recommendations x{len(users)}"):
                for lo in range(0, len(users), BLOCK):
                    block = users[lo:lo + BLOCK]
                    timed("boto3", via_boto3, block)
                    with _setting(settings.REALTIME_SCORING_ENV, "exact"):
                        timed("exact", via_boto3, block)
                    with _setting(settings.IN_PROCESS_CALLS_ENV, "moto"):
                        timed("moto", via_boto3, block)
                    timed("backend", lambda u: backend.get_recommendations(campaign_arn=campaign, user_id=u), block)
                    timed("model", lambda u: model.recommend(user_id=u, k=25), block)
                    if popular is not None:
                        timed("popular", lambda u: runtime.get_recommendations(campaignArn=popular, userId=u), block)
        total = time.perf_counter() - started

    train_s = {s["stage"]: s["seconds"] for s in rec.stages}
    peak = max([_mib(sampler.peak)] + [s["peak_rss_mib"] for s in rec.stages + rec.pieces])
    key = "normalized_discounted_cumulative_gain_at_10"
    up = metrics.get("aws-user-personalization", {}).get(key)
    pop = metrics.get("aws-popularity-count", {}).get(key)
    result.update({
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "stages": rec.stages,
        "training_pieces": rec.pieces,
        "training_info": info,
        "realtime_scoring": scoring,
        "in_process_calls": lane,
        "get_recommendations": dict(_percentiles(runs["boto3"]), requests=len(runs["boto3"]), num_results=25,
                                    items_returned=sum(len(a) for a in answers["boto3"])),
        "runtime_backend_get_recommendations": _percentiles(runs["backend"]),
        "model_recommend": _percentiles(runs["model"]),
        "get_recommendations_exact": dict(_percentiles(runs["exact"]),
                                          **_agreement(answers["exact"], answers["boto3"])),
        "get_recommendations_through_moto_stubber": _percentiles(runs["moto"]),
        "get_recommendations_popularity_campaign": _percentiles(runs["popular"]) if runs["popular"] else None,
        "peak_rss_mib": peak,
        "total_seconds": round(total, 3),
        "ndcg_at_10": {"aws-user-personalization": up, "aws-popularity-count": pop,
                       "ratio": round(up / pop, 3) if up is not None and pop else None},
        "metrics": metrics,
    })
    result["meets_targets"] = {
        "train_seconds": train_s.get("train aws-user-personalization", float("inf")) <= TARGETS["train_seconds"],
        "peak_rss_gib": peak / 1024 <= TARGETS["peak_rss_gib"],
        "get_recommendations_median_ms":
            result["get_recommendations"]["median_ms"] < TARGETS["get_recommendations_median_ms"],
    }
    return result


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
