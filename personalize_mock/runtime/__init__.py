"""personalize-runtime: GetRecommendations, GetPersonalizedRanking, GetActionRecommendations."""
