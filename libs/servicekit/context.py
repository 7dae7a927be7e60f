"""Per-process context variables: the request id travels from HTTP into events and back out."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
log_fields_var: ContextVar[dict[str, str] | None] = ContextVar("log_fields", default=None)
"""Extra fields for every log line of the current request or event (e.g. `unit`), filled as they become known."""
write_session_var: ContextVar[Any] = ContextVar("write_session", default=None)
"""The current write request's session, so a remote lookup can refuse to run inside its transaction."""
