"""personalize-events: PutEvents, PutItems, PutUsers, PutActions, PutActionInteractions."""
