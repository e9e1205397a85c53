"""Pure rules and values, no I/O: states, validity and key policy, identifiers, calendars.

Imports nothing of certsvc but ``errors``, ``clock`` and ``config`` (an import-linter
contract in ``scripts/check``), so every rule here is testable without a database.
"""
