"""Objects: a tenant environment's blobs under its prefix or bucket, sealed per tenant."""
