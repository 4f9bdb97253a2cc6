from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeEventsResponse(ModelDrivenResponse):
    SERVICE = "personalize-events"
