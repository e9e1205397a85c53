"""Console sign-in: password + TOTP, the first-sign-in password change, timeouts, locks."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from certsvc.access.scope import require_visible, tenant_scope
from certsvc.access.sessions import SignIn
from certsvc.errors import (
    AuthenticationFailed,
    Conflict,
    InputError,
    NotFound,
    PasswordChangeRequired,
)
from certsvc.storage.models import AuditEvent, ConsoleSession, Operator
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR
from tests.integration.console.conftest import NEW_PASSWORD, OTHER, PASSWORD, totp_of

STEP = timedelta(seconds=30)


def events(services, action=None):
    with services.sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query))


def operator_row(services, name="hanako"):
    with services.sessions() as session:
        return session.scalars(select(Operator).where(Operator.name == name)).one()


def signed_in(services, clock, account):
    """Sign in for the first time and set the new password: a session ready to work."""
    token = services.console_sessions.sign_in(account.attempt()).token
    services.console_sessions.change_password(token, PASSWORD, NEW_PASSWORD)
    clock.advance(STEP)
    return token


def test_first_sign_in_must_change_the_password_before_anything(services, desk, clock):
    account = desk()
    signed = services.console_sessions.sign_in(account.attempt())
    assert signed.must_change_password
    assert signed.token.startswith("cs_")
    assert signed.expires_at == clock.now() + timedelta(hours=10)
    with pytest.raises(PasswordChangeRequired):
        services.console_sessions.principal(signed.token)
    with pytest.raises(InputError, match="used recently"):
        services.console_sessions.change_password(signed.token, PASSWORD, PASSWORD)
    with pytest.raises(AuthenticationFailed, match="current password"):
        services.console_sessions.change_password(signed.token, "wrong-Pass-9", NEW_PASSWORD)
    services.console_sessions.change_password(signed.token, PASSWORD, NEW_PASSWORD)
    principal = services.console_sessions.principal(signed.token)
    assert (principal.name, principal.role, principal.company_number) == (
        "hanako",
        "helpdesk",
        None,
    )
    assert principal.actor("T-9").name == "console:hanako"
    assert principal.actor("T-9").ticket == "T-9"
    with services.sessions() as session:
        stored = session.scalars(select(ConsoleSession.token_sha256)).all()
    assert signed.token not in stored
    assert operator_row(services).totp_confirmed_at == timestamps.issued


def test_the_new_password_signs_in_and_the_old_one_no_longer(services, desk, clock):
    account = desk()
    signed_in(services, clock, account)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt(PASSWORD))
    clock.advance(STEP)
    again = services.console_sessions.sign_in(account.attempt(NEW_PASSWORD))
    assert not again.must_change_password
    assert operator_row(services).failed_attempts == 0


def test_a_code_is_good_once_and_only_near_now(services, desk, clock):
    account = desk()
    code = account.code()
    services.console_sessions.sign_in(account.attempt(code=code))
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt(code=code))  # replayed
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt(code=account.code(offset=3)))
    refused = events(services, "console.sign_in")
    reasons = [event.after["reason"] for event in refused if event.outcome == "refused"]
    assert reasons == ["wrong or reused code", "wrong or reused code"]


def test_three_failures_lock_until_midnight_even_the_right_password(services, desk, clock):
    account = desk()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            services.console_sessions.sign_in(account.attempt("wrong-Pass-9"))
    clock.advance(STEP)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt())
    row = operator_row(services)
    assert row.locked_until == timestamps.issued.replace(day=27, hour=0)
    (locked,) = events(services, "console.locked")
    assert locked.outcome == "refused"
    assert locked.actor == "console:hanako"
    clock.set(timestamps.issued.replace(day=27, hour=0, minute=1))
    assert services.console_sessions.sign_in(account.attempt()).token


def test_parallel_guesses_are_checked_at_most_max_failures_times(services, desk):
    account = desk()
    guesses = [account.attempt(f"guess-{n}-Pass") for n in range(12)]

    def guess(attempt: SignIn) -> None:
        with pytest.raises(AuthenticationFailed):
            services.console_sessions.sign_in(attempt)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(guess, guesses))
    checked = [
        event
        for event in events(services, "console.sign_in")
        if event.after["reason"] == "wrong password"
    ]
    assert len(checked) == 3
    assert operator_row(services).failed_attempts == 3
    assert len(events(services, "console.locked")) == 1


def test_sign_in_audit_never_holds_the_password_or_the_code(services, desk, clock):
    account = desk()
    code = account.code()
    services.console_sessions.sign_in(SignIn("hanako", PASSWORD, code))
    clock.advance(STEP)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(SignIn("hanako", "wrong-Pass-9", account.code()))
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(SignIn("secret-Typed-1", PASSWORD, code))
    trail = json.dumps([[e.actor, e.after, e.before] for e in events(services)])
    for secret in (PASSWORD, "wrong-Pass-9", code, account.totp.secret, "secret-Typed-1"):
        assert secret not in trail
    outcomes = [(e.action, e.outcome) for e in events(services) if e.action.startswith("console")]
    assert outcomes == [
        ("console.sign_in", "ok"),
        ("console.sign_in", "refused"),
        ("console.sign_in", "refused"),
    ]


def test_idle_and_absolute_timeouts_end_a_session(services, desk, clock):
    account = desk()
    token = signed_in(services, clock, account)
    for _ in range(20):  # used every 29 minutes: alive until 10 hours after sign-in
        clock.advance(timedelta(minutes=29))
        assert services.console_sessions.resolve(token).principal.name == "hanako"
    clock.advance(timedelta(minutes=20))  # 30 s + 9 h 40 min + 20 min: past 10 h, not idle
    with pytest.raises(AuthenticationFailed, match="sign in again"):
        services.console_sessions.resolve(token)
    clock.advance(STEP)
    idle = services.console_sessions.sign_in(account.attempt(NEW_PASSWORD)).token
    clock.advance(timedelta(minutes=29, seconds=59))
    assert services.console_sessions.resolve(idle).idle_until == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=30))
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.principal(idle)


def test_sign_out_reset_and_disable_end_sessions(services, desk, clock):
    account = desk()
    token = signed_in(services, clock, account)
    services.console_sessions.sign_out(token)
    services.console_sessions.sign_out(token)  # twice: nothing more to do
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.resolve(token)
    other = services.console_sessions.sign_in(account.attempt(NEW_PASSWORD)).token
    fresh = services.operators.reset("hanako", "third-Pass-3", OPERATOR)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.resolve(other)
    clock.advance(STEP)
    with pytest.raises(AuthenticationFailed):  # the old authenticator entry is void
        services.console_sessions.sign_in(account.attempt("third-Pass-3"))
    account.totp = totp_of(fresh.uri)
    after_reset = services.console_sessions.sign_in(account.attempt("third-Pass-3"))
    assert after_reset.must_change_password
    services.operators.disable("hanako", OPERATOR)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.resolve(after_reset.token)
    clock.advance(STEP)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt("third-Pass-3"))
    actions = [e.action for e in events(services) if e.action.startswith("operator.")]
    assert actions == ["operator.add", "operator.password", "operator.reset", "operator.disable"]


def test_a_tenant_admin_sees_only_its_own_tenant(services, desk, clock):
    account = desk("yuki", "tenant-admin", COMPANY)
    principal = services.console_sessions.principal(signed_in(services, clock, account))
    assert tenant_scope(principal) == COMPANY
    require_visible(principal, COMPANY, "certificate", "0A")
    with pytest.raises(NotFound):
        require_visible(principal, OTHER, "certificate", "0A")
    add = events(services, "operator.add")[0]
    assert add.company_number == COMPANY


def test_an_expired_password_must_be_changed_again(services, desk, clock):
    account = desk()
    signed_in(services, clock, account)
    clock.advance(timedelta(days=90))
    again = services.console_sessions.sign_in(account.attempt(NEW_PASSWORD))
    assert again.must_change_password


def test_changing_the_authenticator_needs_a_code_from_the_new_secret(services, desk, clock):
    account = desk()
    signed_in(services, clock, account)
    with pytest.raises(Conflict, match="no TOTP change"):
        services.operators.confirm_totp_change("hanako", "000000", OPERATOR)
    enrolment = services.operators.begin_totp_change("hanako")
    assert enrolment.svg().startswith("<svg")
    new = totp_of(enrolment.uri)
    with pytest.raises(InputError, match="does not match"):
        services.operators.confirm_totp_change("hanako", account.code(), OPERATOR)
    services.operators.confirm_totp_change("hanako", new.at(clock.now()), OPERATOR)
    clock.advance(STEP)
    with pytest.raises(AuthenticationFailed):
        services.console_sessions.sign_in(account.attempt(NEW_PASSWORD))  # old entry
    account.totp = new
    clock.advance(STEP)
    assert services.console_sessions.sign_in(account.attempt(NEW_PASSWORD)).token
    with pytest.raises(NotFound):
        services.operators.begin_totp_change("nobody")
    assert events(services, "operator.totp_changed")[0].actor == "test:operator"
