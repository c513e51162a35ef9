"""Sessions: one user conversation per record, CBOR sealed per tenant, in a blob space."""
