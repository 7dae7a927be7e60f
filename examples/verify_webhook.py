import hashlib, hmac, time

TOLERANCE = 300  # seconds: older (or future) timestamps are refused, so `seen` need only span this long

def verify_webhook(secret: str, headers, body: bytes, seen: set, now: float | None = None) -> bool:
    """True for an authentic, fresh delivery not accepted before; `headers` is case-insensitive."""
    event_id, timestamp = headers["Kezhuan-Webhook-Id"], headers["Kezhuan-Webhook-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers["Kezhuan-Webhook-Signature"]): return False
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE: return False
    if (event_id, timestamp) in seen: return False  # a captured request sent again
    seen.add((event_id, timestamp)); return True
