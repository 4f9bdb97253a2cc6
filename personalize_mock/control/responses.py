from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeResponse(ModelDrivenResponse):
    SERVICE = "personalize"
