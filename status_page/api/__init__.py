"""The ops API machinery: routing with auth and idempotency, errors, OpenAPI."""
