"""Test helpers for CA adapters: the conformance suite every adapter must pass, as a plugin."""
