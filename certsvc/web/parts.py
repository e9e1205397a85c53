"""What the pages work with, handed over by the app factory (the pages never see
``certsvc.app``): the same lifecycle and access objects the JSON API calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from certsvc.access.accounts import Accounts
from certsvc.access.tokens import Tokens
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.domain.maintenance import MaintenanceCalendar
from certsvc.lifecycle.operations import Lifecycle
from certsvc.lifecycle.pickup import Pickups


@dataclass(frozen=True)
class SelfResetRequest:
    """The reset form: who (company, user ID, registered e-mail) and what to reset."""

    company_number: str
    user_id: str
    email: str
    reset: str  # "password" | "registration_number" | "both"


SelfReset = Callable[[SelfResetRequest], None]
"""Resets and mails the temporary credentials; says nothing about a wrong address."""


@dataclass(frozen=True)
class WebParts:
    settings: Settings
    clock: Clock
    maintenance: MaintenanceCalendar
    pickups: Pickups
    accounts: Accounts
    lifecycle: Lifecycle
    tokens: Tokens
    trust_chain: Callable[[], list[x509.Certificate]]
    self_reset: SelfReset
