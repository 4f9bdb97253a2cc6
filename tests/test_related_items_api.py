"""RELATED_ITEMS recipes through the API: item-to-item recommendations without scores."""
from __future__ import annotations

import json
import random

import boto3
import pytest
from botocore.exceptions import ClientError

from personalize_mock import demo, mock_personalize
from test_control import BUCKET, REGION, code, import_job, make_group, put
from test_trending_and_actions import HEADER, RECIPE, T0, trained_campaign


def test_sims_campaign_puts_the_planted_twin_first():
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        arns = make_group(personalize)
        rows = []
        for u in range(200):  # everyone who takes "left" also takes "right"; the rest is noise
            if u % 4 == 0:
                rows += [f"u{u},left,{T0 + u * 10},click,1\n", f"u{u},right,{T0 + u * 10 + 1},click,1\n"]
            rows += [f"u{u},n{(u * 7 + j) % 40},{T0 + u * 10 + 2 + j},click,1\n" for j in range(5)]
        assert import_job(personalize, arns["INTERACTIONS"], put("pairs.csv", (HEADER + "".join(rows)).encode()),
                          "pairs")["status"] == "ACTIVE"
        _, campaign = trained_campaign(personalize, arns["group"], "aws-sims")
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        items = runtime.get_recommendations(campaignArn=campaign, itemId="left", numResults=5)["itemList"]
        assert items[0] == {"itemId": "right"}
        assert "left" not in {i["itemId"] for i in items}
        unknown = runtime.get_recommendations(campaignArn=campaign, itemId="never-seen", numResults=3)["itemList"]
        assert len(unknown) == 3  # popular items
        with pytest.raises(ClientError) as error:
            runtime.get_recommendations(campaignArn=campaign, userId="u1")
        assert code(error) == "InvalidInputException"
        with pytest.raises(ClientError) as error:  # only Semantic-Similarity takes a ranking influence
            personalize.create_campaign(name="influenced", solutionVersionArn=personalize.list_solution_versions()[
                "solutionVersions"][0]["solutionVersionArn"], campaignConfig={"rankingInfluence": {"POPULARITY": 0.5}})
        assert code(error) == "InvalidInputException"


ITEMS_SCHEMA = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
                "fields": [{"name": "ITEM_ID", "type": "string"},
                           {"name": "TITLE", "type": ["null", "string"], "itemName": True},
                           {"name": "GENRES", "type": ["null", "string"], "categorical": True},
                           {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True}]}


def topic_text(topic: int, rng: random.Random, rare: int = 2) -> str:
    """`rare` of the topic's 3 rare words among 6 of 30 common ones."""
    words = rng.sample([f"rare{topic}x{j}" for j in range(3)], rare) + rng.sample([f"common{j}" for j in range(30)], 6)
    rng.shuffle(words)
    return " ".join(words).capitalize()


def title(topic: int, index: int) -> str:
    """A title that says nothing of the topic: "Product" and a number of its own."""
    return f"Product {topic * 3 + index}"


def semantic_campaign(personalize, group: str, name: str, **config) -> tuple[str, str]:
    """(solution, campaign) of a trained aws-semantic-similarity solution."""
    solution = personalize.create_solution(name=name, datasetGroupArn=group,
                                           recipeArn=RECIPE + "aws-semantic-similarity", **config)["solutionArn"]
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    described = demo.wait(lambda: personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"])
    assert described["status"] == "ACTIVE", described.get("failureReason")
    return solution, personalize.create_campaign(name=name, solutionVersionArn=version)["campaignArn"]


def related(runtime, campaign: str, item: str, k: int = 25) -> list[str]:
    return [i["itemId"] for i in runtime.get_recommendations(campaignArn=campaign, itemId=item,
                                                             numResults=k)["itemList"]]


def test_semantic_similarity_campaign_and_incremental_updates(monkeypatch):
    monkeypatch.setenv("PERSONALIZE_MOCK_TRAINING_MINIMUMS", "relaxed")
    rng = random.Random(3)
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        events = boto3.client("personalize-events", region_name=REGION)
        arns = make_group(personalize)
        schema = personalize.create_schema(name="text-items", schema=json.dumps(ITEMS_SCHEMA))["schemaArn"]
        items = personalize.create_dataset(name="text-items", schemaArn=schema, datasetGroupArn=arns["group"],
                                           datasetType="ITEMS")["datasetArn"]
        # 40 topics of 3 items: items of a topic share rare words, every item some common ones; 8
        # topics to a genre
        catalogue = "".join(f't{t}-{i},{title(t, i)},G{t % 5},"{topic_text(t, rng)}"\n' for t in range(40) for i in range(3))
        job = import_job(personalize, items, put("items.csv", b"ITEM_ID,TITLE,GENRES,DESCRIPTION\n" + catalogue.encode()),
                         "items")
        assert job["status"] == "ACTIVE", job.get("failureReason")
        rows = "".join(f"u{u},t{(u + j) % 40}-{j % 3},{T0 + u * 10 + j},click,1\n" for u in range(30) for j in range(4))
        assert import_job(personalize, arns["INTERACTIONS"], put("clicks.csv", (HEADER + rows).encode()),
                          "clicks")["status"] == "ACTIVE"
        updating_solution, updating = semantic_campaign(personalize, arns["group"], "updating")
        frozen_solution, frozen = semantic_campaign(personalize, arns["group"], "frozen",
                                                    performIncrementalUpdate=False)
        def flag(solution: str) -> bool:
            return personalize.describe_solution(solutionArn=solution)["solution"]["performIncrementalUpdate"]

        assert flag(updating_solution) and not flag(frozen_solution)  # true is the recipe's default

        # the planted structure, from the raw text: an item's first related item is a topic mate
        # (by genre alone: 2 mates among 23 items)
        for campaign in (updating, frozen):
            hits = [related(runtime, campaign, f"t{t}-{i}", 1)[0].startswith(f"t{t}-")
                    for t in range(40) for i in range(3)]
            assert sum(hits) / len(hits) >= 0.9
        unknown = related(runtime, frozen, "never-seen")
        probes = ("t5-0", "t7-1", "t9-1", "t11-2")
        before = {item: related(runtime, frozen, item) for item in probes}

        # a brand-new item (PutItems), a new item (incremental import) and a changed one (PutItems),
        # each with all three rare words of a topic
        events.put_items(datasetArn=items, items=[
            {"itemId": "fresh", "properties": json.dumps({"genres": "G0", "description": topic_text(5, rng, 3)})},
            {"itemId": "t9-0", "properties": json.dumps({"genres": "G1", "description": topic_text(11, rng, 3)})}])
        more = f'ITEM_ID,TITLE,GENRES,DESCRIPTION\nfresh2,Fresh two,G2,"{topic_text(7, rng, 3)}"\n'.encode()
        job = import_job(personalize, items, put("more.csv", more), "more", mode="INCREMENTAL")
        assert job["status"] == "ACTIVE", job.get("failureReason")

        assert "fresh" in related(runtime, updating, "t5-0", 3)
        assert set(related(runtime, updating, "fresh", 3)) == {"t5-0", "t5-1", "t5-2"}
        assert "fresh2" in related(runtime, updating, "t7-1", 3)
        assert "t9-0" in related(runtime, updating, "t11-2", 3)
        assert "t9-0" not in related(runtime, updating, "t9-1", 3)
        # performIncrementalUpdate false: nothing changes until a new solution version
        assert {item: related(runtime, frozen, item) for item in probes} == before
        assert related(runtime, frozen, "fresh") == unknown

        # switched on later, the campaign catches up with everything that arrived since its training
        personalize.update_solution(solutionArn=frozen_solution, performIncrementalUpdate=True)
        assert flag(frozen_solution)
        assert "fresh" in related(runtime, frozen, "t5-0", 3)
        assert "fresh2" in related(runtime, frozen, "t7-1", 3)


def test_semantic_similarity_needs_no_interactions_dataset():
    """Semantic-Similarity learns from item text alone (AWS: Interactions optional, no minimums);
    recipes that learn from interactions fail their training in such a group, naming what is missing."""
    rng = random.Random(5)
    with mock_personalize():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        group = make_group(personalize, kinds=())["group"]
        schema = personalize.create_schema(name="text-only", schema=json.dumps(ITEMS_SCHEMA))["schemaArn"]
        items = personalize.create_dataset(name="text-only", schemaArn=schema, datasetGroupArn=group,
                                           datasetType="ITEMS")["datasetArn"]
        catalogue = "".join(f't{t}-{i},{title(t, i)},G{t % 5},"{topic_text(t, rng)}"\n' for t in range(30) for i in range(3))
        job = import_job(personalize, items, put("text-only.csv", b"ITEM_ID,TITLE,GENRES,DESCRIPTION\n" + catalogue.encode()),
                         "text-only")
        assert job["status"] == "ACTIVE", job.get("failureReason")

        _, campaign = semantic_campaign(personalize, group, "text-only")
        hits = [related(runtime, campaign, f"t{t}-{i}", 1)[0].startswith(f"t{t}-") for t in range(30) for i in range(3)]
        assert sum(hits) / len(hits) >= 0.9

        for recipe, reason in (("aws-sims", "Create failed. The dataset group has no Interactions dataset."),
                               ("aws-next-best-action", "Create failed. aws-next-best-action needs an Actions "
                                                        "dataset and an Interactions dataset in the dataset group.")):
            solution = personalize.create_solution(name=recipe, datasetGroupArn=group,
                                                   recipeArn=RECIPE + recipe)["solutionArn"]
            version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
            described = demo.wait(lambda: personalize.describe_solution_version(
                solutionVersionArn=version)["solutionVersion"])
            assert (described["status"], described["failureReason"]) == ("CREATE FAILED", reason)

        # AWS's Items data for this recipe: an itemName field (the title) and a textual field
        untitled = make_group(personalize, name="untitled", kinds=())["group"]
        fields = [f for f in ITEMS_SCHEMA["fields"] if f["name"] != "TITLE"]
        schema = personalize.create_schema(name="untitled", schema=json.dumps({**ITEMS_SCHEMA, "fields": fields}))
        personalize.create_dataset(name="untitled", schemaArn=schema["schemaArn"], datasetGroupArn=untitled,
                                   datasetType="ITEMS")
        solution = personalize.create_solution(name="untitled", datasetGroupArn=untitled,
                                               recipeArn=RECIPE + "aws-semantic-similarity")["solutionArn"]
        version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        described = demo.wait(lambda: personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"])
        assert described["status"] == "CREATE FAILED"
        assert described["failureReason"] == ('Create failed. aws-semantic-similarity needs an Items schema with a '
                                              'string field that has "itemName": true (the item\'s title) and at '
                                              'least one textual field.')
