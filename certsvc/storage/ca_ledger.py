"""certsvc's side of ``ca_adapters.base.CALedger``: what an adapter may look up, on the DB.

Adapters never see a session or a model: they ask these questions, and the answer is
whatever certsvc committed (a certificate not yet committed is not there). The CA
identity rows make one CA per database: the first node to record its CA wins, and every
other node is told which CA the database belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ca_adapters.base import CAIdentity
from certsvc.clock import Clock
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, RecordedCA


class DatabaseLedger:
    """Answers an adapter's look-ups from the ``certificates`` and ``ca_identities`` tables."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def certificate_pem(self, serial: str) -> bytes | None:
        with self._sessions() as session:
            pem = session.scalar(select(Certificate.pem).where(Certificate.serial == serial))
        return pem.encode() if pem else None

    def latest_certificate_pem(self, adapter: str) -> bytes | None:
        with self._sessions() as session:
            pem = session.scalar(
                select(Certificate.pem)
                .where(Certificate.adapter == adapter, Certificate.pem.is_not(None))
                .order_by(Certificate.id.desc())
                .limit(1)
            )
        return pem.encode() if pem else None

    def recorded_cas(self, adapter: str) -> Sequence[CAIdentity]:
        with self._sessions() as session:
            return recorded_cas(session, adapter)

    def record_cas(self, adapter: str, cas: Sequence[CAIdentity]) -> Sequence[CAIdentity]:
        now = self._clock.now()
        try:
            with transaction(self._sessions) as session:
                for ca in cas:
                    session.add(
                        RecordedCA(
                            adapter=adapter,
                            ca_name=ca.ca_name,
                            certificate_pem=ca.certificate_pem.decode(),
                            key_id=ca.key_id,
                            recorded_at=now,
                        )
                    )
        except IntegrityError:
            pass  # another node recorded first: its CA is the database's
        return self.recorded_cas(adapter)

    def last_expiry(self, adapter: str, ca_name: str) -> datetime | None:
        with self._sessions() as session:
            return session.scalar(
                select(func.max(Certificate.not_after)).where(
                    Certificate.ca_name == ca_name, Certificate.adapter == adapter
                )
            )


def recorded_cas(session: Session, adapter: str) -> list[CAIdentity]:
    """The recorded CAs of ``adapter`` in recording order (``certsvc ca check`` reads them)."""
    rows = session.scalars(
        select(RecordedCA).where(RecordedCA.adapter == adapter).order_by(RecordedCA.id)
    )
    return [CAIdentity(row.ca_name, row.certificate_pem.encode(), row.key_id) for row in rows]
