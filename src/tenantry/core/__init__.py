"""The innermost layer: ids, context, name builders, errors, clock and logging."""
