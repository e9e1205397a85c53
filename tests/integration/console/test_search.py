"""The console's search box on SQLite and PostgreSQL: every kind of term, pages, order."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from certsvc.audit import Actor
from certsvc.directory import NewSubscriber
from certsvc.errors import InputError
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.search import SearchQuery, SortKey, like_escape, search
from tests.conftest import COMPANY, OPERATOR
from tests.integration.console.conftest import OTHER
from tests.keys import make_csr

USERS = (
    (COMPANY, "taro", "Taro.Yamada@acme.example.jp"),
    (COMPANY, "u_01", "u01@acme.example.jp"),
    (COMPANY, "ux01", "ux01@acme.example.jp"),
    (OTHER, "taro", "taro@beta.example.jp"),
    (OTHER, "hanako", "hanako@beta.example.jp"),
)


@pytest.fixture
def people(services, tenants):
    """Five subscribers; taro of 1001 holds a certificate issued under ticket REQ-77."""
    for company, user, email in USERS:
        services.directory.add_subscriber(NewSubscriber(company, user, email, user), OPERATOR)
    issued = services.lifecycle.issue(
        COMPANY, "taro", CsrKey(make_csr()), Actor("test:desk", "REQ-77")
    )
    services.lifecycle.issue(OTHER, "hanako", CsrKey(make_csr()), OPERATOR)
    services.directory.add_tenant("3003", "Gamma_Works", "a@gamma.example.jp", OPERATOR)
    return issued.certificate.serial


def find(services, term, **options):
    with services.sessions() as session:
        return search(session, SearchQuery(term, **options))


def keys(page):
    return [(row.company_number, row.user_id) for row in page.rows]


def test_company_number_and_name(services, people):
    assert keys(find(services, OTHER)) == [(OTHER, "taro"), (OTHER, "hanako")]  # as added
    assert {row.company_number for row in find(services, "acme").rows} == {COMPANY}
    by_user = find(services, "100%", sort=SortKey.USER_ID)
    assert keys(by_user) == [(OTHER, "hanako"), (OTHER, "taro")]
    assert keys(find(services, "gamma_")) == [("3003", None)]  # a tenant without subscribers


def test_user_id_any_case_and_literal_underscore(services, people):
    assert keys(find(services, "TARO")) == [(COMPANY, "taro"), (OTHER, "taro")]
    assert keys(find(services, "u_0")) == [(COMPANY, "u_01")]  # not ux01
    assert like_escape("50%_\\") == "50\\%\\_\\\\"


def test_email_of_the_subscriber_any_case(services, people):
    assert keys(find(services, "taro.yamada@ACME")) == [(COMPANY, "taro")]
    assert keys(find(services, "hanako@beta.example.jp")) == [(OTHER, "hanako")]


def test_serial_in_any_case_with_or_without_colons(services, people):
    serial = people
    colons = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)).lower()
    for typed in (serial, serial.lower(), colons):
        (row,) = find(services, typed).rows
        assert (row.serial, row.user_id, row.company_number) == (serial, "taro", COMPANY)
        assert row.state is not None
        assert row.expiry_date is not None


def test_ticket_of_the_audit_trail(services, people):
    (row,) = find(services, "req-77").rows
    assert row.serial == people
    services.directory.mark_no_certificate(OTHER, "taro", Actor("test:desk", "REQ-88"))
    assert keys(find(services, "REQ-88")) == [(OTHER, "taro")]


def test_tenant_scope_hides_other_tenants(services, people):
    assert keys(find(services, "taro", scope=COMPANY)) == [(COMPANY, "taro")]
    assert find(services, people, scope=OTHER).total == 0


def test_pages_and_order(services, people):
    for n, mail in enumerate(("d", "b", "e", "a", "c")):
        new = NewSubscriber(COMPANY, f"p{n}", f"p.{mail}@acme.example.jp", "")
        services.directory.add_subscriber(new, OPERATOR)
    everything = find(services, "P", scope=COMPANY, sort=SortKey.EMAIL)
    assert everything.total == 5
    assert [row.email[:3] for row in everything.rows] == ["p.a", "p.b", "p.c", "p.d", "p.e"]
    pages = [
        find(
            services,
            "p",
            scope=COMPANY,
            sort=SortKey.USER_ID,
            descending=True,
            per_page=2,
            page=page,
        )
        for page in (1, 2, 3)
    ]
    assert [(page.total, page.pages) for page in pages] == [(5, 3)] * 3
    users = [row.user_id for page in pages for row in page.rows]
    assert users == ["p4", "p3", "p2", "p1", "p0"]
    by_serial = find(services, "taro", sort=SortKey.SERIAL)
    assert [row.serial is None for row in by_serial.rows] == [False, True]
    by_expiry = find(services, "acme", sort=SortKey.EXPIRY_DATE, descending=True)
    assert by_expiry.rows[0].expiry_date is not None
    assert by_expiry.rows[-1].expiry_date is None


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(" "),
        SearchQuery("x" * 255),
        SearchQuery("x", page=0),
        SearchQuery("x", per_page=201),
    ],
)
def test_bad_queries_are_refused(services, query):
    with services.sessions() as session, pytest.raises(InputError):
        search(session, query)


@pytest.mark.postgres
def test_postgres_serves_prefix_searches_from_the_lower_indexes(services, people):
    if services.engine.dialect.name != "postgresql":
        pytest.skip("needs CERTSVC_TEST_DATABASE_URL")
    with services.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plans = {
            index: "\n".join(
                connection.execute(text(f"EXPLAIN SELECT id FROM {table} WHERE {where}")).scalars()
            )
            for index, table, where in (
                ("ix_subscribers_user_id_lower", "subscribers", "lower(user_id) LIKE 'tar%'"),
                ("ix_subscribers_email_lower", "subscribers", "lower(email) LIKE 'taro.y%'"),
                ("ix_certificates_email_lower", "certificates", "lower(email) LIKE 'taro%'"),
                ("ix_audit_events_ticket_lower", "audit_events", "lower(ticket) = 'req-77'"),
            )
        }
    for index, plan in plans.items():
        assert index in plan, plan
