"""personalize-runtime backend: answers from the models of the personalize backend of the same
account and region."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict
from moto.moto_api._internal import mock_random

from ..control.backend import DataPlaneBackend
from ..protocol.errors import InvalidInputException, ResourceNotFoundException
from .exploration import Exploration, exploration_for

MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
MAX_ACTIONS = 100
SCORE_DECIMALS = 7  # scores as the real service prints them


def recommendation_id() -> str:
    return "RID-" + str(uuid.UUID(int=mock_random.getrandbits(128), version=4))  # 40 characters


class PersonalizeRuntimeBackend(DataPlaneBackend):

    # ------------------------------------------------------------------ shared checks

    def _deployment(self, campaign_arn: str | None, recommender_arn: str | None) -> "Deployment":
        """What answers: a campaign's solution version, or a recommender."""
        if campaign_arn:
            campaign = self.control.serving_campaign(campaign_arn)
            version = campaign.version
            exploration = exploration_for(version.recipe, campaign.campaign_config, version.tuned_hyperparameters,
                                          version.item_activity, campaign.arn)
            return Deployment(campaign.arn, version.recipe, version.model, campaign.campaign_config,
                              version.solution.group, {}, "Campaign", exploration)
        recommender = self.control.serving_recommender(recommender_arn)
        exploration = exploration_for(recommender.recipe, recommender.recommender_config, None,
                                      recommender.item_activity, recommender.arn)
        return Deployment(recommender.arn, recommender.recipe, recommender.model, recommender.recommender_config,
                          recommender.group, recommender.excluded, "Recommender", exploration)

    def _reject_filters(self, filter_arn: str | None, promotions: list | None = None) -> None:
        # No CreateFilter yet, so no filter ARN can name an existing filter.
        for arn in [filter_arn] + [p.get("filterArn") for p in promotions or []]:
            if arn:
                raise ResourceNotFoundException(f"Resource {arn} does not exist.")

    def _metadata(self, deployment: "Deployment", columns: dict | None, item_ids: list[str]) -> dict[str, dict] | None:
        """Item metadata columns for the response: keys lower-cased, values strings (as AWS)."""
        if not columns:
            return None
        if not deployment.config.get("enableMetadataWithRecommendations"):
            raise InvalidInputException(f"{deployment.kind} {deployment.arn} does not return metadata: "
                                        "enable enableMetadataWithRecommendations.")
        unknown_keys = set(columns) - {"ITEMS"}
        if unknown_keys:
            raise InvalidInputException(f"metadataColumns only accepts the key ITEMS, got {sorted(unknown_keys)}.")
        wanted = columns.get("ITEMS") or []
        items = self.control.datasets_of(deployment.group).get("ITEMS")
        if items is None:
            raise InvalidInputException("metadataColumns needs an Items dataset in the dataset group.")
        frame = items.records.frame()
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise InvalidInputException(f"Columns {missing} are not in the Items dataset schema.")
        rows = frame.drop_duplicates("ITEM_ID", keep="last").set_index("ITEM_ID")
        rows = rows.loc[rows.index.intersection(item_ids), wanted]
        return {item: {c.lower(): ("" if v is None else str(v)) for c, v in row.items() if v == v}
                for item, row in rows.iterrows()}

    @staticmethod
    def _predicted(scored: list[tuple[str, float | None]], metadata: dict | None) -> list[dict]:
        out = []
        for item_id, score in scored:
            entry: dict[str, Any] = {"itemId": item_id}
            if score is not None:
                entry["score"] = round(float(score), SCORE_DECIMALS)
            if metadata is not None and item_id in metadata:
                entry["metadata"] = metadata[item_id]
            out.append(entry)
        return out

    # ------------------------------------------------------------------ operations

    def get_recommendations(self, campaign_arn: str | None = None, item_id: str | None = None,
                            user_id: str | None = None, num_results: int | None = None,
                            context: dict | None = None, filter_arn: str | None = None,
                            filter_values: dict | None = None, recommender_arn: str | None = None,
                            promotions: list | None = None, metadata_columns: dict | None = None) -> dict:
        if bool(campaign_arn) == bool(recommender_arn):
            raise InvalidInputException("Exactly one of campaignArn and recommenderArn must be given.")
        k = 25 if num_results is None else num_results
        limit = MAX_RESULTS_WITH_METADATA if metadata_columns else MAX_RESULTS
        if k > limit:
            raise InvalidInputException(f"numResults must be at most {limit}, got {k}.")
        deployment = self._deployment(campaign_arn, recommender_arn)
        self._reject_filters(filter_arn, promotions)
        recipe = deployment.recipe
        if recipe.runtime_api != "recommend":
            api = {"rank": "GetPersonalizedRanking", "actions": "GetActionRecommendations",
                   "segment": "CreateBatchSegmentJob"}[recipe.runtime_api]
            raise InvalidInputException(f"{deployment.kind} {deployment.arn} serves {recipe.name}: use {api}.")
        if recipe.requires_item_id and not item_id:
            raise InvalidInputException(f"itemId is required by {recipe.name}.")
        if recipe.requires_user_id and not user_id:
            raise InvalidInputException(f"userId is required by {recipe.name}.")
        exclude = deployment.excluded.get(user_id, ()) if user_id else ()
        query = {"item_id": item_id} if recipe.requires_item_id else {"user_id": user_id}
        if recipe.supports_ranking_influence and deployment.config.get("rankingInfluence"):
            query["ranking_influence"] = deployment.config["rankingInfluence"]
        if not k:
            scored = []
        elif deployment.exploration is not None:
            scored = deployment.exploration.recommend(deployment.model, user_id=user_id, k=k, exclude=exclude)
        else:
            scored = deployment.model.recommend(**query, k=k, exclude=exclude)
        if not recipe.returns_scores or deployment.kind == "Recommender":  # recommenders return no scores
            scored = [(item, None) for item, _ in scored]
        metadata = self._metadata(deployment, metadata_columns, [i for i, _ in scored])
        return {"itemList": self._predicted(scored, metadata), "recommendationId": recommendation_id()}

    def get_personalized_ranking(self, campaign_arn: str, input_list: list[str], user_id: str,
                                 context: dict | None = None, filter_arn: str | None = None,
                                 filter_values: dict | None = None, metadata_columns: dict | None = None) -> dict:
        limit = MAX_RESULTS_WITH_METADATA if metadata_columns else MAX_RESULTS
        if len(input_list) > limit:
            raise InvalidInputException(f"inputList may hold at most {limit} items, got {len(input_list)}.")
        deployment = self._deployment(campaign_arn, None)
        self._reject_filters(filter_arn)
        recipe = deployment.recipe
        if recipe.runtime_api != "rank":
            raise InvalidInputException(
                f"Campaign {campaign_arn} serves recipe {recipe.name}; GetPersonalizedRanking needs a "
                "PERSONALIZED_RANKING recipe.")
        ranked = deployment.model.rank(user_id=user_id, item_ids=list(dict.fromkeys(input_list)))
        metadata = self._metadata(deployment, metadata_columns, [i for i, _ in ranked])
        return {"personalizedRanking": self._predicted(ranked, metadata), "recommendationId": recommendation_id()}


    def get_action_recommendations(self, campaign_arn: str | None = None, user_id: str | None = None,
                                   num_results: int | None = None, filter_arn: str | None = None,
                                   filter_values: dict | None = None) -> dict:
        if not campaign_arn:
            raise InvalidInputException("campaignArn is required.")
        k = 5 if num_results is None else num_results
        if k > MAX_ACTIONS:
            raise InvalidInputException(f"numResults must be at most {MAX_ACTIONS}, got {k}.")
        deployment = self._deployment(campaign_arn, None)
        self._reject_filters(filter_arn)
        if deployment.recipe.runtime_api != "actions":
            raise InvalidInputException(
                f"Campaign {campaign_arn} serves recipe {deployment.recipe.name}; GetActionRecommendations needs "
                "a PERSONALIZED_ACTIONS (Next-Best-Action) recipe.")
        if not user_id:
            raise InvalidInputException("userId is required by aws-next-best-action.")
        actions = deployment.model.recommend_actions(user_id=user_id, k=k) if k else []
        return {"actionList": [{"actionId": a, "score": round(float(score or 0.0), SCORE_DECIMALS)}
                               for a, score in actions],
                "recommendationId": recommendation_id()}


@dataclass
class Deployment:
    arn: str
    recipe: Any
    model: Any
    config: dict
    group: Any
    excluded: dict[str, set[str]]
    kind: str  # "Campaign" | "Recommender", for messages
    exploration: Exploration | None = None  # itemExplorationConfig / HRNN-Coldstart's cold items


personalizeruntime_backends = BackendDict(PersonalizeRuntimeBackend, "personalize")
