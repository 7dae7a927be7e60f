"""W3C Trace Context: the `traceparent` text that every hop passes on (HTTP header, outbox envelope, NATS header).

Plain string functions with no dependencies, so that logging (servicekit.observability) and spans
(servicekit.tracing) can both use them without importing each other.
"""
from __future__ import annotations

import os

_HEX = frozenset("0123456789abcdef")


def new_traceparent(trace_id: str | None = None) -> str:
    """A W3C traceparent for a new span: in the given trace, or in a new one."""
    return f"00-{trace_id or os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a well-formed W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), else None."""
    if not traceparent or len(traceparent) != 55:
        return None
    version, trace_id, span_id, flags = traceparent[:2], traceparent[3:35], traceparent[36:52], traceparent[53:]
    if traceparent[2] != "-" or traceparent[35] != "-" or traceparent[52] != "-":
        return None
    if not set(version + trace_id + span_id + flags) <= _HEX or version == "ff":
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id


def continue_trace(incoming: str | None) -> str:
    """The traceparent for this hop: a new span in the caller's trace, or a new trace."""
    return new_traceparent(trace_id_of(incoming))
