"""Worker pools: which tenant environments each pool serves, as the registry says now."""
