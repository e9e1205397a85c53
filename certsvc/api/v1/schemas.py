"""Request bodies of the API: unknown fields are refused and every field is capped.

The caps are generous bounds for what a field can hold (a CSR, an e-mail address), so
an oversized value is refused at the door with 422 before any work is done.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from certsvc.access.credentials import ResetTarget
from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.domain.policy import MAX_CSR_BYTES, RevocationReason

Ticket = Annotated[
    str | None, Field(default=None, max_length=128, description="Helpdesk ticket reference.")
]
CompanyNumber = Annotated[str, Field(min_length=1, max_length=32)]
UserId = Annotated[str, Field(min_length=1, max_length=64)]
Email = Annotated[str, Field(min_length=3, max_length=254)]
Name = Annotated[str, Field(max_length=200)]
Csr = Annotated[
    str | None,
    Field(default=None, max_length=MAX_CSR_BYTES, description="PEM certificate request."),
]
Secret = Annotated[str, Field(max_length=64)]
ReasonName = Literal[
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]
assert {reason.value for reason in RevocationReason} == set(ReasonName.__args__)  # type: ignore[attr-defined]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """PostgreSQL text cannot hold NUL and no field of ours has a use for it."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


class IssueBody(Body):
    company_number: CompanyNumber
    user_id: UserId
    csr: Csr
    pickup: bool = Field(
        default=False,
        description="Leave the certificate (or, without csr, the issuance) "
        "waiting for the subscriber's pickup.",
    )
    ticket: Ticket


class RenewBody(Body):
    csr: Csr
    revoke_old: RevokeOld | None = None
    pickup: bool = False
    ticket: Ticket


class ReissueBody(Body):
    reason: ReissueReason
    csr: Csr
    revoke_old: RevokeOld | None = None
    new_email: Email | None = None
    new_name: Name | None = Field(default=None, description="The new user's display name.")
    pickup: bool = False
    ticket: Ticket


class RevokeBody(Body):
    reason: ReasonName
    ticket: Ticket


class TicketBody(Body):
    ticket: Ticket


class TenantBody(Body):
    company_number: CompanyNumber
    name: Name
    admin_email: Email
    admin_name: Name = ""
    ticket: Ticket


class AdministratorBody(Body):
    name: Name
    email: Email
    ticket: Ticket


class SubscriberBody(Body):
    user_id: UserId
    email: Email
    display_name: Name = ""
    needs_certificate: bool = True
    role: Literal["officer", "staff"] = "staff"
    locale: Literal["ja", "en"] = "ja"
    ticket: Ticket


class EmailBody(Body):
    email: Email
    ticket: Ticket


class CredentialsBody(Body):
    password: Secret
    registration_number: Annotated[str, Field(max_length=16)]
    ticket: Ticket


class SelfResetBody(Body):
    """The self-service reset: who (company number, user ID, the registered address) and
    what to reset; the temporary values go by mail to the registered address."""

    company_number: CompanyNumber
    user_id: UserId
    email: Email
    reset: ResetTarget = ResetTarget.PASSWORD


class CredentialsResetBody(Body):
    """The helpdesk's reset; an empty body resets both, valid 24 hours."""

    reset: ResetTarget = ResetTarget.BOTH
    ticket: Ticket


class PickupBody(Body):
    user_id: UserId
    password: Secret
    challenge: Annotated[str, Field(max_length=8, description="The 4 asked digits.")]
    new_password: Secret | None = None
    csr: Csr
    pkcs12: bool = Field(default=False, description="certsvc makes the key; PKCS#12 answer.")
