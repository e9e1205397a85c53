"""certsvc's side of ``ca_adapters.base.CALedger``: what an adapter may look up, on the DB.

Adapters never see a session or a model: they ask these two questions, and the answer is
whatever certsvc committed (a certificate not yet committed is not there).
"""

from __future__ import annotations

from sqlalchemy import select

from certsvc.storage.db import SessionFactory
from certsvc.storage.models import Certificate


class DatabaseLedger:
    """Answers an adapter's look-ups from the ``certificates`` table."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

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
