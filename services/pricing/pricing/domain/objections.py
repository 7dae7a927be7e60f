"""Objections to a public notice (PRC-5, M (四)): anyone may object, anonymously with a way to reach them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from servicekit.errors import PolicyViolation

ANONYMOUS_PER_MINUTE = 10  # PRC-5: at least 10 anonymous objections a minute from one client address are accepted
RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Contact:
    """How an objector can be reached."""

    name: str | None
    phone: str | None = None
    email: str | None = None


def check_contact(authenticated: bool, contact: Contact | None) -> None:
    """PRC-5: an anonymous objection names the objector and a phone number or an e-mail address."""
    if authenticated:
        return
    if contact is None or not (contact.name or "").strip() or not ((contact.phone or "").strip() or (contact.email or "").strip()):
        raise PolicyViolation("PRC-5", "an anonymous objection needs contact.name and a contact.phone or contact.email")


def over_rate_limit(anonymous_in_window: int) -> bool:
    """PRC-5: anonymous objections from one client address beyond the minute's allowance are turned away (429)."""
    return anonymous_in_window >= ANONYMOUS_PER_MINUTE
