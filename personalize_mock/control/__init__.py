"""The personalize control plane: resources, their lifecycles and the rules between them."""
