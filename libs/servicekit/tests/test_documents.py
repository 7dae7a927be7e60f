"""DOC-1 documents as a servicekit capability: limits, hashes, storage and downloads, over a real database."""
from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI, Request
from sqlalchemy import MetaData, func, select
from starlette.responses import JSONResponse, Response

from servicekit.clock import real_now
from servicekit.db import create_engine, create_sessionmaker
from servicekit.documents import (
    MAX_DOCUMENT_BYTES,
    document_response,
    install_document_tables,
    load_document,
    read_content,
    receive_upload,
    store_document,
)
from servicekit.middleware import MAX_UPLOAD_BODY_BYTES, BodyLimitMiddleware
from servicekit.problems import install_problem_handlers
from servicekit.testing import DatabaseFactory

METADATA = MetaData()
TABLES = install_document_tables(METADATA)


@pytest_asyncio.fixture
async def client(databases: DatabaseFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A bare app that attaches documents to `things`, on a fresh real database (SQLite or PostgreSQL)."""
    engine = create_engine(await databases.url(f"documents_{os.urandom(4).hex()}"))
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    sessions = create_sessionmaker(engine)
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things/{thing_id}/documents", status_code=201)
    async def attach(thing_id: str, request: Request) -> Response:
        async with receive_upload(request, fields=("kind",)) as upload, sessions() as session:
            stored = await store_document(session, TABLES, upload, owner_kind="thing", owner_id=thing_id,
                                          kind=upload.fields.get("kind"), created_by="tester", now=real_now())
            await session.commit()
        return JSONResponse({**stored.summary(), "filename": stored.filename, "kind": stored.kind}, status_code=201)

    @app.get("/things/{thing_id}/documents/{document_id}")
    async def download(thing_id: str, document_id: str, request: Request) -> Response:
        async with sessions() as session:
            document = await load_document(session, TABLES, document_id, owner_kind="thing", owner_id=thing_id)
            return document_response(document, await read_content(session, TABLES, document), request)

    @app.post("/json")
    async def echo(body: dict) -> dict:
        return {"keys": len(body)}

    app.state.sessions = sessions
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=BodyLimitMiddleware(app)), base_url="http://t") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c
    await engine.dispose()


async def _upload(client: httpx.AsyncClient, content: bytes, thing: str = "t1", **extra: str) -> httpx.Response:
    files = {"file": ("评估报告.pdf", content, "application/pdf")}
    return await client.post(f"/things/{thing}/documents", files=files, data={"kind": "appraisal_report", **extra})


async def test_a_document_of_exactly_20_mib_is_stored_with_its_sha256_and_downloads_unchanged(client) -> None:
    content = os.urandom(MAX_DOCUMENT_BYTES)
    response = await _upload(client, content)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert (stored["size"], stored["media_type"], stored["filename"], stored["kind"]) == (
        MAX_DOCUMENT_BYTES, "application/pdf", "评估报告.pdf", "appraisal_report")
    download = await client.get(f"/things/t1/documents/{stored['id']}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["etag"] == f'"{stored["sha256"]}"'
    assert download.headers["content-type"] == "application/pdf"
    again = await client.get(f"/things/t1/documents/{stored['id']}", headers={"If-None-Match": download.headers["etag"]})
    assert again.status_code == 304


async def test_one_byte_over_20_mib_is_413_with_the_rule_and_nothing_is_stored(client) -> None:
    response = await _upload(client, b"x" * (MAX_DOCUMENT_BYTES + 1))
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["rule"] == "DOC-1"
    async with client.app.state.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(TABLES.documents))).scalar_one() == 0


async def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(client) -> None:
    huge = b"x" * (MAX_UPLOAD_BODY_BYTES + 1)
    response = await client.post("/things/t1/documents", content=huge,
                                 headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_bodies_keep_the_1_mib_limit(client) -> None:
    response = await client.post("/json", content=b'{"a": "' + b"x" * (1024 * 1024) + b'"}',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_the_same_bytes_are_stored_once_and_each_record_sees_only_its_own_documents(client) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    first = (await _upload(client, content, "t1")).json()
    second = (await _upload(client, content, "t2")).json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    async with client.app.state.sessions() as session:
        chunks = (await session.execute(
            select(func.count()).select_from(TABLES.contents).where(TABLES.contents.c.sha256 == first["sha256"])
        )).scalar_one()
    assert chunks == 4
    assert (await client.get(f"/things/t2/documents/{first['id']}")).status_code == 404
    assert (await client.get(f"/things/t2/documents/{second['id']}")).content == content


async def test_a_multipart_body_without_a_file_or_a_json_body_is_422(client) -> None:
    no_file = await client.post("/things/t1/documents", data={"kind": "contract"}, files={"other": ("a", b"a")})
    assert no_file.status_code == 422, no_file.text
    as_json = await client.post("/things/t1/documents", json={"kind": "contract"})
    assert as_json.status_code == 422
