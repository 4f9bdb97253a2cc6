"""Batch inference and batch segment jobs: JSON Lines in S3 -> the solution version's model ->
`<input>.out` files."""
from __future__ import annotations

import json
import posixpath
from typing import Any, Callable

from ..control.lifecycle import JobFailure
from . import s3io


def _answer(model: Any, recipe: Any, line: dict, k: int, config: dict, exploration: Any = None) -> dict:
    """One output object for one input line, as the real service writes it."""
    influence = {"ranking_influence": config["rankingInfluence"]} \
        if recipe.supports_ranking_influence and config.get("rankingInfluence") else {}
    if recipe.recipe_type == "PERSONALIZED_RANKING":
        if "userId" not in line or not isinstance(line.get("itemList"), list):
            raise ValueError("each line needs userId and itemList for a PERSONALIZED_RANKING recipe")
        scored = model.rank(user_id=str(line["userId"]), item_ids=[str(i) for i in line["itemList"]])
    elif recipe.recipe_type == "RELATED_ITEMS":
        if "itemId" not in line:
            raise ValueError("each line needs itemId for a RELATED_ITEMS recipe")
        scored = model.recommend(item_id=str(line["itemId"]), k=k, **influence)
    else:
        if "userId" not in line:
            raise ValueError(f"each line needs userId for recipe {recipe.name}")
        if exploration is not None:
            scored = exploration.recommend(model, user_id=str(line["userId"]), k=k)
        else:
            scored = model.recommend(user_id=str(line["userId"]), k=k)
    output: dict[str, Any] = {"recommendedItems": [item for item, _ in scored]}
    if recipe.returns_scores:
        output["scores"] = [None if s is None else round(float(s), 7) for _, s in scored]
    return output


def _segment(model: Any, recipe: Any, line: dict, k: int, config: dict) -> dict:
    if recipe.engine == "aws-item-attribute-affinity":
        if "itemAttributes" not in line:
            raise ValueError("each line needs itemAttributes for aws-item-attribute-affinity")
        users = model.users_for(item_attributes=str(line["itemAttributes"]), k=k)
    else:
        if "itemId" not in line:
            raise ValueError(f"each line needs itemId for {recipe.name}")
        users = model.users_for(item_id=str(line["itemId"]), k=k)
    return {"usersList": list(users)}  # the key the real service writes (spec: control-plane §11.2)


# Queries one batch segment input file may hold (spec: recipes-runtime §1.2).
SEGMENT_QUERY_LIMITS = {"aws-item-affinity": 500, "aws-item-attribute-affinity": 10}


def run_batch_inference(backend: Any, job: Any) -> None:
    from ..runtime.exploration import exploration_for

    version = job.version
    exploration = exploration_for(version.recipe, job.settings.get("batchInferenceJobConfig"),
                                  version.tuned_hyperparameters, version.item_activity, version.arn)
    run_batch(backend, job, lambda model, recipe, line, k, config: _answer(model, recipe, line, k, config, exploration))


def run_batch_segment(backend: Any, job: Any) -> None:
    run_batch(backend, job, _segment)


def run_batch(backend: Any, job: Any, answer: Callable[[Any, Any, dict, int, dict], dict]) -> None:
    """Runs on a worker thread. A line that cannot be answered gets an error entry; the job only
    fails when its input or output location does."""
    version = job.version
    recipe = version.recipe
    settings = job.settings
    k = settings["numResults"]
    source = settings["jobInput"]["s3DataSource"]["path"]
    destination = settings["jobOutput"]["s3DataDestination"]["path"]
    if s3io.parse_s3_uri(source) is None:
        raise JobFailure(f"Invalid S3 input path {source}")
    if s3io.parse_s3_uri(destination) is None:
        raise JobFailure(f"Invalid S3 output path {destination}")
    for name, body in s3io.read_objects(backend.account_id, backend.region_name, source, "Invalid S3 input path."):
        raws = [raw for raw in body.decode("utf-8").splitlines() if raw.strip()]
        limit = SEGMENT_QUERY_LIMITS.get(recipe.engine) if answer is _segment else None
        if limit is not None and len(raws) > limit:
            raise JobFailure(f"{name} has {len(raws)} queries; {recipe.name} accepts at most {limit} per input file.")
        lines = []
        for raw in raws:
            try:
                line = json.loads(raw)
                if not isinstance(line, dict):
                    raise ValueError("each line must be a JSON object")
                config = settings.get("batchInferenceJobConfig") or {}
                lines.append({"input": line, "output": answer(version.model, recipe, line, k, config), "error": None})
            except ValueError as error:
                lines.append({"input": raw, "output": None, "error": str(error)})
        target = posixpath.join(destination.rstrip("/"), posixpath.basename(name) + ".out")
        s3io.write_object(backend.account_id, backend.region_name, target,
                          "".join(json.dumps(entry) + "\n" for entry in lines).encode(), "Invalid S3 output path.")
