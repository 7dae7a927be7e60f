"""DOC-1: documents — files of at most 20 MiB, kept with their SHA-256, attached to a service's own records.

**Storage.** A document lives in the database of the service whose record it belongs to, in two
tables that the service installs in its own metadata: `documents` (one row per attachment: owner,
hash, size, media type, name, kind) and `document_contents` (the bytes, content-addressed by
SHA-256 in chunks of 1 MiB, each stored once however often it is attached). Why the database and
not a directory under the data dir: the attachment, the record that cites it and the event that
announces it commit in ONE transaction, so a crash never leaves a record citing a missing file or a
file nobody cites; several replicas on PostgreSQL share it without a shared filesystem; backups and
`KEZHUAN_DATABASE_URL_<SERVICE>` cover it with nothing else to configure; and it works the same on
SQLite. Chunks keep every statement small (1 MiB) whatever the file's size.

**Limits.** The upload is parsed as it streams in: the file part is spooled to a temporary file
(in memory only up to 1 MiB) while its SHA-256 and size are computed; a file over
`MAX_DOCUMENT_BYTES` is refused with 413 problem+json (`rule: DOC-1`), and a multipart body over
`MAX_UPLOAD_BODY_BYTES` is cut off by `BodyLimitMiddleware` (and the gateway) before it is read —
the 1 MiB limit of API.md §2 applies to every other body.

**Visibility** is the owning record's: the service checks access to its record first (404 for
whoever may not see it), then loads the document *of that record* (`owner_kind`, `owner_id`), so a
document id of another record is 404 too.

How a service uses it::

    # models.py: the two tables, then `make migration SERVICE=<name> MSG="documents"`
    DOCUMENTS = install_document_tables(Base.metadata)

    # router.py (a `service_router`: the route owns the transaction): the upload and the download
    @router.post("/things/{thing_id}/documents", status_code=201, response_model=DocumentRead,
                 openapi_extra=upload_openapi({"kind": "appraisal_report | contract | decision | other"}))
    async def attach(thing_id: str, request: Request, ctx: Ctx) -> DocumentRead:
        # one-line docstring: attach a document (DOC-1)
        async with receive_upload(request, fields=("kind",)) as upload:
            return await service.attach(ctx.session, actor=ctx.user, thing_id=thing_id, upload=upload, now=ctx.now)

    @router.get("/things/{thing_id}/documents/{document_id}", response_class=Response, responses=DOWNLOAD_RESPONSES)
    async def download(thing_id: str, document_id: str, request: Request, ctx: Ctx) -> Response:
        # one-line docstring: the document's bytes, ETag = SHA-256 (DOC-1)
        document, content = await service.get_document(ctx.session, actor=ctx.user, thing_id=thing_id,
                                                       document_id=document_id)
        return document_response(document, content, request)

    # service.py: check the record's access, store in the caller's transaction, cite id + hash
    thing = await load_visible_thing(...)                       # 404 for whoever may not see it
    stored = await store_document(session, DOCUMENTS, upload, owner_kind="thing", owner_id=thing.id,
                                  kind=upload.fields["kind"], created_by=actor.sub, now=now)
    ... put stored.id and stored.sha256 on the record and in its event (DOC-1) ...
    document = await load_document(session, DOCUMENTS, document_id, owner_kind="thing", owner_id=thing.id)
    return document, await read_content(session, DOCUMENTS, document)

An `Idempotency-Key` on an upload makes servicekit read the body whole to compare repeats (bounded by
MAX_UPLOAD_BODY_BYTES); without one the file is only ever spooled.
"""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from servicekit.db import UTCDateTime
from servicekit.errors import InvalidInput, KezhuanError, NotFound
from servicekit.i18n import N_
from servicekit.middleware import MAX_DOCUMENT_BYTES, MULTIPART
from servicekit.outbox import new_id

CHUNK_BYTES = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
DEFAULT_MEDIA_TYPE = "application/octet-stream"


class DocumentTooLarge(KezhuanError):
    """A file over MAX_DOCUMENT_BYTES (413 with rule DOC-1)."""

    status = 413
    title = "Payload too large"

    def __init__(self, size_seen: int) -> None:
        super().__init__(
            N_("a document may be at most {limit} bytes (20 MiB); this one has more than {seen}"),
            rule="DOC-1", limit=MAX_DOCUMENT_BYTES, seen=size_seen - 1,
        )


@dataclass(frozen=True)
class DocumentTables:
    documents: Table
    contents: Table


def install_document_tables(metadata: MetaData) -> DocumentTables:
    """`documents` (who owns which file) and `document_contents` (the bytes by SHA-256), in the service's database."""
    documents = Table(
        "documents",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("owner_kind", String(40), nullable=False),
        Column("owner_id", String(64), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("media_type", String(200), nullable=False),
        Column("filename", String(300), nullable=True),
        Column("kind", String(40), nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("created_by", String(200), nullable=False),
        Index("ix_documents_owner", "owner_kind", "owner_id"),
    )
    contents = Table(
        "document_contents",
        metadata,
        Column("sha256", String(64), primary_key=True),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("data", LargeBinary, nullable=False),
    )
    return DocumentTables(documents, contents)


@dataclass
class Upload:
    """A received file (spooled, hashed, measured) and the text fields sent beside it."""

    file: UploadFile
    fields: dict[str, str]
    filename: str | None
    media_type: str
    size: int
    sha256: str

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes again, CHUNK_BYTES at a time."""
        await self.file.seek(0)
        while chunk := await self.file.read(CHUNK_BYTES):
            yield chunk


@dataclass(frozen=True)
class StoredDocument:
    """A document as stored: what records and events cite (id, sha256) and what a download needs."""

    id: str
    owner_kind: str
    owner_id: str
    sha256: str
    size: int
    media_type: str
    filename: str | None
    kind: str | None
    created_at: datetime
    created_by: str

    def summary(self) -> dict[str, Any]:
        """`{id, sha256, size, media_type}`: what a record shows of its document (API.md §5)."""
        return {"id": self.id, "sha256": self.sha256, "size": self.size, "media_type": self.media_type}


def is_multipart(request: Request) -> bool:
    """True when the request carries multipart/form-data."""
    return request.headers.get("content-type", "").lower().startswith(MULTIPART)


@asynccontextmanager
async def receive_upload(request: Request, *, fields: Iterable[str] = ()) -> AsyncIterator[Upload]:
    """Parse a multipart body with one `file` part: 413 above 20 MiB, 422 without a file; spooled files are closed after."""
    if not is_multipart(request):
        raise InvalidInput("send multipart/form-data with a `file` part")
    wanted = tuple(fields)
    form = await request.form(max_files=1, max_fields=len(wanted) + 4, max_part_size=MAX_FIELD_BYTES)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput("the multipart body needs a `file` part with the document")
        texts = {name: value for name in wanted if isinstance(value := form.get(name), str)}
        size, digest = 0, hashlib.sha256()
        await file.seek(0)
        while chunk := await file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise DocumentTooLarge(size)
            digest.update(chunk)
        upload = Upload(
            file=file, fields=texts, filename=_clean_filename(file.filename),
            media_type=_media_type(file.content_type), size=size, sha256=digest.hexdigest(),
        )
        yield upload
    finally:
        await form.close()


async def store_document(
    session: AsyncSession, tables: DocumentTables, upload: Upload, *, owner_kind: str, owner_id: str,
    kind: str | None, created_by: str, now: datetime, document_id: str | None = None,
) -> StoredDocument:
    """Attach the upload to a record in the caller's transaction; the bytes are stored once per SHA-256.

    `document_id` lets the caller cite the id in its record before storing (a new id otherwise)."""
    exists = (
        await session.execute(select(tables.contents.c.seq).where(tables.contents.c.sha256 == upload.sha256).limit(1))
    ).first()
    if exists is None:
        postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
        insert = postgresql_insert if postgres else sqlite_insert
        seq = 0
        async for chunk in upload.chunks():
            # ON CONFLICT: a concurrent upload of the same bytes stores the same chunks.
            await session.execute(
                insert(tables.contents).values(sha256=upload.sha256, seq=seq, data=chunk)
                .on_conflict_do_nothing(index_elements=["sha256", "seq"])
            )
            seq += 1
    stored = StoredDocument(
        id=document_id or new_id(), owner_kind=owner_kind, owner_id=owner_id, sha256=upload.sha256, size=upload.size,
        media_type=upload.media_type, filename=upload.filename, kind=kind, created_at=now, created_by=created_by,
    )
    await session.execute(tables.documents.insert().values(**stored.__dict__))
    return stored


async def load_document(
    session: AsyncSession, tables: DocumentTables, document_id: str, *, owner_kind: str, owner_id: str
) -> StoredDocument:
    """The document of this record (call after the record's own access check); 404 for any other id."""
    table = tables.documents
    row = (
        await session.execute(
            select(table).where(table.c.id == document_id, table.c.owner_kind == owner_kind, table.c.owner_id == owner_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such document")
    return StoredDocument(**row._asdict())


async def read_content(session: AsyncSession, tables: DocumentTables, document: StoredDocument) -> bytes:
    """The document's bytes (at most 20 MiB), verified against its SHA-256."""
    contents = tables.contents
    rows = await session.execute(
        select(contents.c.data).where(contents.c.sha256 == document.sha256).order_by(contents.c.seq)
    )
    data = b"".join(rows.scalars())
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise RuntimeError(f"document {document.id}: stored bytes do not match their SHA-256")
    return data


def document_response(document: StoredDocument, content: bytes, request: Request) -> Response:
    """The bytes with `ETag: "<sha256>"` (304 when If-None-Match names it) and the original name."""
    etag = f'"{document.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if document.filename:
        headers["Content-Disposition"] = _content_disposition(document.filename)
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=document.media_type, headers=headers)


def upload_openapi(fields: dict[str, str], *, required: Iterable[str] = ()) -> dict[str, Any]:
    """`openapi_extra` documenting a multipart body: `file` (≤ 20 MiB) and the named text fields."""
    properties: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": "the document, at most 20 MiB (DOC-1)"}
    }
    properties.update({name: {"type": "string", "description": text} for name, text in fields.items()})
    return {
        "requestBody": {
            "required": True,
            "content": {
                MULTIPART: {
                    "schema": {"type": "object", "properties": properties, "required": ["file", *required]}
                }
            },
        }
    }


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the document's bytes; `ETag` is its SHA-256",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "not modified (If-None-Match named the SHA-256)"},
}


def _clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in base if ch.isprintable())[:300] or None


def _media_type(value: str | None) -> str:
    text = (value or "").strip()
    if not text or len(text) > 200 or "/" not in text or not text.isascii():
        return DEFAULT_MEDIA_TYPE
    return text


def _content_disposition(filename: str) -> str:
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
