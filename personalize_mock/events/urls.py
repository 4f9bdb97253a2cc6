from .responses import PersonalizeEventsResponse

url_bases = [r"https?://personalize-events\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/(?P<operation>events|items|users|actions|action-interactions)$": PersonalizeEventsResponse.dispatch,
}
