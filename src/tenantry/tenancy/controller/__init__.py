"""The controller: reconcile each tenant's desired placements into real resources."""
