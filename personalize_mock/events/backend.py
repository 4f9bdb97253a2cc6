"""personalize-events backend: streamed records land in the datasets of the personalize backend of
the same account and region, and events reach the deployed models at once (real-time
personalization)."""
from __future__ import annotations

from typing import Any

from moto.core.base_backend import BackendDict

from ..control.backend import DataPlaneBackend
from ..control.lifecycle import now
from ..protocol.errors import InvalidInputException, ResourceInUseException, ResourceNotFoundException


class PersonalizeEventsBackend(DataPlaneBackend):
    def _dataset(self, dataset_arn: str, dataset_type: str) -> Any:
        dataset = self.control.get("dataset", dataset_arn)
        if dataset.dataset_type != dataset_type:
            raise InvalidInputException(f"Dataset {dataset_arn} is a {dataset.dataset_type} dataset, "
                                        f"not {dataset_type}.")
        status = dataset.status
        if status != "ACTIVE":
            raise ResourceInUseException(f"Dataset {dataset_arn} is not ACTIVE (status: {status}).")
        return dataset

    @staticmethod
    def _put(dataset: Any, rows: list[dict]) -> None:
        dataset.records.put(rows)
        dataset.data_updated = now()

    def _records(self, dataset_arn: str, dataset_type: str, id_field: str, id_member: str,
                 records: list[dict]) -> dict:
        from ..data import RecordError, properties_to_row

        dataset = self._dataset(dataset_arn, dataset_type)
        try:
            rows = [properties_to_row(id_field, r[id_member], r.get("properties"), dataset.schema.parsed)
                    for r in records]
        except (RecordError, ValueError) as error:
            raise InvalidInputException(str(error)) from None
        self._put(dataset, rows)
        return {}

    def put_items(self, dataset_arn: str, items: list[dict]) -> dict:
        return self._records(dataset_arn, "ITEMS", "ITEM_ID", "itemId", items)

    def put_users(self, dataset_arn: str, users: list[dict]) -> dict:
        return self._records(dataset_arn, "USERS", "USER_ID", "userId", users)

    def put_actions(self, dataset_arn: str, actions: list[dict]) -> dict:
        return self._records(dataset_arn, "ACTIONS", "ACTION_ID", "actionId", actions)

    def put_events(self, tracking_id: str, session_id: str, event_list: list[dict],
                   user_id: str | None = None) -> dict:
        from ..data import RecordError, event_to_row
        from ..recipes.base import Event

        tracker = self.control.tracker_by_tracking_id(tracking_id)
        if tracker is None:
            raise InvalidInputException(f"No event tracker with trackingId {tracking_id} exists.")
        dataset = self.control.datasets_of(tracker.group).get("INTERACTIONS")
        if dataset is None:
            raise InvalidInputException(
                f"Dataset group {tracker.group.arn} has no Interactions dataset to record events in.")
        try:
            rows = [event_to_row(event, dataset.schema.parsed, user_id=user_id, session_id=session_id)
                    for event in event_list]
        except (RecordError, ValueError) as error:
            raise InvalidInputException(str(error)) from None
        self._put(dataset, rows)
        streamed = [Event(user_id=row["USER_ID"], item_id=row["ITEM_ID"], timestamp=float(row["TIMESTAMP"]),
                          event_type=row.get("EVENT_TYPE"), event_value=row.get("EVENT_VALUE"))
                    for row in rows if row.get("ITEM_ID")]
        # Each deployed model sees the events of the type it trains on (solution eventType, use case).
        deployed = [(c.version.model, c.version.solution.event_type) for c in self.control.campaigns_of(tracker.group)]
        for recommender in self.control.recommenders_of(tracker.group):
            deployed.append((recommender.model, recommender.recipe.event_type))
            excluded = (recommender.recipe.exclude_event_type or "").lower()
            for event in streamed:
                if excluded and (event.event_type or "").lower() == excluded:
                    recommender.excluded.setdefault(event.user_id, set()).add(event.item_id)
        for model, event_type in deployed:
            kept = [e for e in streamed if not event_type or (e.event_type or "").lower() == event_type.lower()]
            if model is not None and kept:
                model.update(kept)
        return {}

    def put_action_interactions(self, tracking_id: str, action_interactions: list[dict]) -> dict:
        from ..data import RecordError, event_to_row
        from ..recipes.base import Event

        dataset = next((d for d in self.control._live("dataset")
                        if d.dataset_type == "ACTION_INTERACTIONS" and d.tracking_id == tracking_id), None)
        if dataset is None:
            raise ResourceNotFoundException(f"No Action interactions dataset has trackingId {tracking_id}.")
        status = dataset.status
        if status != "ACTIVE":
            raise ResourceInUseException(f"Dataset {dataset.arn} is not ACTIVE (status: {status}).")
        try:
            rows = [event_to_row(event, dataset.schema.parsed) for event in action_interactions]
        except (RecordError, ValueError) as error:
            raise InvalidInputException(str(error)) from None
        self._put(dataset, rows)
        streamed = [Event(user_id=row["USER_ID"], item_id=row["ACTION_ID"], timestamp=float(row["TIMESTAMP"]),
                          event_type=row.get("EVENT_TYPE")) for row in rows]
        for campaign in self.control.campaigns_of(dataset.group):
            if campaign.version.recipe.runtime_api == "actions" and campaign.version.model is not None:
                campaign.version.model.update_actions(streamed)
        return {}


personalizeevents_backends = BackendDict(PersonalizeEventsBackend, "personalize")
