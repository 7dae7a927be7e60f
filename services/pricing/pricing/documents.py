"""Documents of a transaction (DOC-1): appraisal reports, contracts, decisions, kept with their SHA-256; the
record's `document_attached` step and `pricing.document.attached` cite id and hash. Load → decide → save → outbox."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import DocumentAttached
from pricing import deals, repository
from pricing.models import DOCUMENTS
from pricing.schemas import DocumentRead
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.documents import StoredDocument, Upload, load_document, read_content, store_document
from servicekit.errors import NotFound, PolicyViolation

DOCUMENT_KINDS = ("appraisal_report", "contract", "decision", "other")  # API.md §4
OWNER_KIND = "transaction"


def check_kind(kind: str | None) -> str:
    """DOC-1: a transaction's document says what it is."""
    if kind not in DOCUMENT_KINDS:
        raise PolicyViolation("DOC-1", f"kind must be one of {', '.join(DOCUMENT_KINDS)}")
    return kind


def document_read(stored: StoredDocument) -> DocumentRead:
    """What the API shows of a stored document."""
    return DocumentRead(id=stored.id, sha256=stored.sha256, size=stored.size, media_type=stored.media_type,
                        filename=stored.filename, kind=stored.kind or "other")


async def attach_document(
    session: AsyncSession, *, actor: Principal, transaction_id: str,
    receive: Callable[[], AbstractAsyncContextManager[Upload]], now: datetime,
) -> DocumentRead:
    """DOC-1: the unit's unit_admin attaches a file to the transaction; the record and the event cite its hash.

    `receive` parses the upload only once the caller may attach here, so nobody else learns anything from it.
    """
    require_role(actor, "unit_admin")
    tx = await deals.locked(session, transaction_id, now)
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",))
    async with receive() as upload:
        kind = check_kind(upload.fields.get("kind"))
        stored = await store_document(session, DOCUMENTS, upload, owner_kind=OWNER_KIND, owner_id=tx.id, kind=kind,
                                      created_by=actor.sub, now=now)
    read = document_read(stored)
    await deals.append_step(session, tx, step="document_attached", actor=actor.sub, details=read.model_dump(mode="json"),
                            now=now)
    await deals.emit_event(session, "pricing.document.attached", tx.id, DocumentAttached(
        document_id=stored.id, transaction_id=tx.id, unit_id=tx.unit_id, sha256=stored.sha256, size=stored.size,
        kind=kind, media_type=stored.media_type, filename=stored.filename), now)
    return read


async def get_document(
    session: AsyncSession, *, actor: Principal, transaction_id: str, document_id: str
) -> tuple[StoredDocument, bytes]:
    """DOC-1: a document of the transaction with its bytes, for whoever may read the transaction."""
    tx = await repository.get_transaction(session, transaction_id)
    if tx is None:
        raise NotFound()
    deals.ensure_reader(actor, tx)
    stored = await load_document(session, DOCUMENTS, document_id, owner_kind=OWNER_KIND, owner_id=tx.id)
    return stored, await read_content(session, DOCUMENTS, stored)
