"""Tenant isolation, one rule for API tokens and console sessions alike.

A ``tenant-admin`` sees its own tenant only; anything else does not exist for it (404 /
"not found", never "forbidden", so it cannot even learn what exists).
"""

from __future__ import annotations

from certsvc.access.tokens import Principal
from certsvc.errors import NotFound


def tenant_scope(caller: Principal) -> str | None:
    """The only company a caller may see, or None for every company."""
    return caller.company_number if caller.role == "tenant-admin" else None


def require_visible(caller: Principal, company_number: str, kind: str, key: str) -> None:
    """Raise ``NotFound(kind, key)`` unless the caller may see this company's object."""
    scope = tenant_scope(caller)
    if scope is not None and scope != company_number:
        raise NotFound(kind, key)
