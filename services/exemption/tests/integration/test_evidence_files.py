"""Evidence as files (DOC-1): the SHA-256 in the case and its event equals the bytes; downloads only for those who see the case."""
from __future__ import annotations

import hashlib
import os

import orjson
from sqlalchemy import select

from servicekit.middleware import MAX_DOCUMENT_BYTES
from servicekit.testing import InProcessSystem

from .cases import open_case


async def test_an_evidence_file_keeps_its_hash_and_only_those_who_see_the_case_download_it(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.panel()
    content = os.urandom(1024 * 1024 + 123)  # above the 1 MiB JSON limit
    response = await case.client.post(case.url("/evidence"), headers=case.admin, data={"kind": "document", "title": "校长办公会纪要"},
                                      files={"file": ("纪要.pdf", content, "application/pdf")})
    assert response.status_code == 201, response.text
    evidence = response.json()["evidence"][-1]
    document = evidence["document"]
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert (document["size"], document["media_type"], evidence["title"]) == (len(content), "application/pdf", "校长办公会纪要")
    url = case.url(f"/documents/{document['id']}")
    for viewer in (case.admin, case.subject, case.member):
        download = await case.client.get(url, headers=viewer)
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["etag"] == f'"{document["sha256"]}"'
    other_unit = (await system.register_unit())["id"]
    for outsider in (system.auth("unit_admin", other_unit), system.auth("researcher", case.unit_id), system.auth("platform_admin")):
        assert (await case.client.get(url, headers=outsider)).status_code == 404
    assert (await case.client.get(case.url("/documents/unknown"), headers=case.admin)).status_code == 404
    runtime = system.runtime("exemption")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == "exemption.case.document_attached"))).scalars().all()
    events = [e for e in map(orjson.loads, rows) if e["subject"] == case.id]
    assert [e["data"]["sha256"] for e in events] == [document["sha256"]]
    assert events[0]["data"]["document_id"] == document["id"] and "title" not in events[0]["data"]


async def test_an_evidence_file_over_20_mib_is_413_and_a_file_without_kind_is_422(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.panel()
    too_big = await case.client.post(case.url("/evidence"), headers=case.admin, data={"kind": "document", "title": "大文件"},
                                     files={"file": ("big.bin", b"x" * (MAX_DOCUMENT_BYTES + 1), "application/octet-stream")})
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["rule"] == "DOC-1"
    no_kind = await case.client.post(case.url("/evidence"), headers=case.admin, data={"title": "无类型"},
                                     files={"file": ("a.txt", b"a", "text/plain")})
    assert no_kind.status_code == 422, no_kind.text
    assert (await case.get())["evidence"] == []
