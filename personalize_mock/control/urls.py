"""Routes of the personalize backend key.

In server mode moto picks the backend from the SigV4 scope, and all three services sign as
`personalize`: the runtime and events paths therefore arrive here too and are routed by path."""
from ..events.responses import PersonalizeEventsResponse
from ..runtime.responses import PersonalizeRuntimeResponse
from .responses import PersonalizeResponse

url_bases = [r"https?://personalize\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/$": PersonalizeResponse.dispatch,
    "{0}/(?P<operation>recommendations|personalize-ranking|action-recommendations)$": PersonalizeRuntimeResponse.dispatch,
    "{0}/(?P<operation>events|items|users|actions|action-interactions)$": PersonalizeEventsResponse.dispatch,
}
