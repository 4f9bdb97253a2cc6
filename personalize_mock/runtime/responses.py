from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeRuntimeResponse(ModelDrivenResponse):
    SERVICE = "personalize-runtime"
