from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeResponse(ModelDrivenResponse):
    SERVICE = "personalize"

    def backend(self):
        from .backend import personalize_backends

        return personalize_backends[self.current_account][self.region]
