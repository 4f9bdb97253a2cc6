from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeEventsResponse(ModelDrivenResponse):
    SERVICE = "personalize-events"

    def backend(self):
        from .backend import personalizeevents_backends

        return personalizeevents_backends[self.current_account][self.region]
