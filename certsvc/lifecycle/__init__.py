"""Issue, renew, reissue, revoke, collect, expire and reconcile: one transaction each.

The edges (CLI, HTTP) call these; they orchestrate the CA adapter and the database and
leave their audit, feed and outbox rows behind in the same transaction (``effects``).
"""
