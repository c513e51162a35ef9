"""The control plane: registry, manifests and (in later issues) the controller and lifecycle."""
