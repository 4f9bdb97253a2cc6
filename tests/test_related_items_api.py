"""RELATED_ITEMS recipes through the API: item-to-item recommendations without scores."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from personalize_mock import mock_personalize
from test_control import BUCKET, REGION, code, import_job, make_group, put
from test_trending_and_actions import HEADER, T0, trained_campaign


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
