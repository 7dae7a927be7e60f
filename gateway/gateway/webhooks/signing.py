"""How a delivery is signed; `examples/verify_webhook.py` is the receiver's side of it."""
from __future__ import annotations

import hashlib
import hmac
import secrets

ID_HEADER = "Kezhuan-Webhook-Id"
TIMESTAMP_HEADER = "Kezhuan-Webhook-Timestamp"
SIGNATURE_HEADER = "Kezhuan-Webhook-Signature"


def new_secret() -> str:
    """A fresh per-subscription signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex HMAC-SHA256 of "{timestamp}.{body}">` keyed with the secret's UTF-8 bytes."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "Content-Type": "application/cloudevents+json",
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
