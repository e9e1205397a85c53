"""Who may do what: API and feed tokens, pickup credentials, idempotency keys."""
