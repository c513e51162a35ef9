"""Object spaces on the S3 API: a prefix in the shared bucket, or a bucket per tenant env."""
