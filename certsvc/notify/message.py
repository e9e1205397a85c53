"""Building a mail that spam filters accept: MIME alternative, UTF-8, and honest headers.

Every message has Date (from the injected clock), a Message-ID that stays the same on
every retry (a resend after a lost answer can be recognised as the same mail), From and
Reply-To from the configuration, ``Auto-Submitted: auto-generated`` (RFC 3834, so
auto-responders stay quiet) and ``Content-Language``. Japanese text goes as UTF-8;
headers are encoded per RFC 2047 by the ``email`` package's SMTP policy.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from certsvc.config import MailSettings
from certsvc.notify.templates import RenderedMail


def build_message(
    rendered: RenderedMail,
    recipient: str,
    settings: MailSettings,
    now: datetime,
    identity: str,
) -> EmailMessage:
    """A multipart/alternative message (plain text first, HTML preferred).

    ``identity`` is stable per outbox message; it becomes the Message-ID's left part.
    """
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = rendered.subject
    message["From"] = settings.from_
    message["To"] = recipient
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(identity, settings.from_)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message["Content-Language"] = rendered.locale  # after the parts: set_content clears it
    return message


def message_id(identity: str, sender: str) -> str:
    """``<certsvc.<hash>@<sender's domain>>``: the same for every attempt of one message."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"<certsvc.{digest}@{sender_domain(sender)}>"


def sender_domain(sender: str) -> str:
    """The domain of the From address (``Name <a@example.jp>`` gives ``example.jp``)."""
    addresses = getaddresses([sender])
    address = addresses[0][1] if addresses else sender
    domain = address.rpartition("@")[2]
    return domain or "localhost"


def envelope_sender(sender: str) -> str:
    """The bare address for MAIL FROM."""
    addresses = getaddresses([sender])
    return addresses[0][1] if addresses and addresses[0][1] else str(Address(addr_spec=sender))
