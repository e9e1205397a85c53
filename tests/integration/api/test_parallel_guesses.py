"""Parallel wrong guesses at the pickup lock: no more than the limit are ever evaluated."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from certsvc.access.accounts import Login
from certsvc.directory import get_subscriber
from certsvc.errors import AuthenticationFailed
from tests.conftest import COMPANY, USER
from tests.integration.api.conftest import PASSWORD

GUESSES = 30


class CountingSecrets:
    """The real secrets, counting how many passwords were really checked."""

    def __init__(self, inner):
        self.inner, self.checked = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def password_matches(self, stored, password):
        self.checked += 1
        return self.inner.password_matches(stored, password)


def test_thirty_simultaneous_wrong_guesses_evaluate_at_most_the_limit(services, tenants):
    accounts = services.accounts
    spy = CountingSecrets(accounts.secrets)
    accounts.secrets = spy
    with services.sessions() as session:
        subscriber_id = get_subscriber(session, COMPANY, USER).id

    def guess(n: int) -> bool:
        try:
            accounts.authenticate(subscriber_id, Login(USER, f"Wrong-pass-{n}", "0000"))
        except AuthenticationFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(guess, range(GUESSES)))

    assert not any(outcomes)
    assert spy.checked <= services.settings.credentials.max_failures
    with pytest.raises(AuthenticationFailed):  # locked: the right password is refused too
        accounts.authenticate(subscriber_id, Login(USER, PASSWORD, "0000"))
    assert spy.checked <= services.settings.credentials.max_failures
