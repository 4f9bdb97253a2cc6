from ..protocol.dispatch import ModelDrivenResponse


class PersonalizeRuntimeResponse(ModelDrivenResponse):
    SERVICE = "personalize-runtime"

    def backend(self):
        from .backend import personalizeruntime_backends

        return personalizeruntime_backends[self.current_account][self.region]
