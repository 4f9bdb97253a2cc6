from .responses import PersonalizeRuntimeResponse

url_bases = [r"https?://personalize-runtime\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/(?P<operation>recommendations|personalize-ranking|action-recommendations)$": PersonalizeRuntimeResponse.dispatch,
}
