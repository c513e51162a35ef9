"""The local keyring: one key-encryption key file per tenant, mode 0600."""
