"""Benchmarks, each comparing Tenantry against its anchor measured in the same run."""
