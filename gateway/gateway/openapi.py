"""One OpenAPI 3.1 document for the whole public API, merged from the services' own documents.

Merge rules (deterministic, whatever order the services answered in):
- a service contributes the /api/v1 paths the gateway routes to it; a path the gateway would
  send elsewhere is unreachable through it and left out (with a warning for its authors);
- the paths every service serves for itself (`/api/v1/audit/verify`, the operators' dead letters
  and outbox) become one path each with a `service` parameter, as the gateway routes them;
- components with the same name and the same content (after the rules below) are kept once;
  differing ones are all renamed `<Service><Name>`, and every `$ref` (and, for security
  schemes, every security requirement) of that service is rewritten;
- a service-level `security` is copied onto that service's operations, since the merged
  document has no per-service top level; an operation that still has none is a public read
  (servicekit's PublicCtx documents no token) and says so with an empty `security`;
- every tag an operation uses is declared, with a description; components that no operation
  reaches are left out.
"""
from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import orjson

from gateway.routes import API_PREFIX, AUDIT_VERIFY_PATH, is_per_service, service_for

log = logging.getLogger("kezhuan.gateway.openapi")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GATEWAY_SOURCE = "gateway"
_REF_PREFIX = "#/components/"

SERVERS = [{"url": "/", "description": "the gateway that serves this document"}]
TAG_DESCRIPTIONS = {
    "ownership": "Units, achievements, empowerment (ownership or long-term usage rights), the separate ledger "
    "and the pool of achievements for pay-later licences (OWN-*).",
    "pricing": "Transactions priced by agreement with public notice, by listing or by auction, their procedural "
    "record, and challenges (揭榜挂帅) (PRC-*).",
    "exemption": "Due-diligence exemption (尽职免责) determinations, confidential to the unit and the subject (EXE-*).",
    "finance": "Income, rewards, funds, invest-first projects, horizontal investments, subsidies and receivables "
    "(FIN-*).",
    "audit": "Each service's tamper-evident, hash-chained audit log; `service` picks which.",
    "operations": "For operators (platform_admin): each service's dead letters and outbox; `service` picks which.",
    "webhooks": "Event subscriptions delivered over HTTP, for systems that cannot speak NATS.",
    "test clock": "One instant as \"now\" for every service (dev and test only).",
}
"""Descriptions of the tags the services put on their operations; a tag missing here is described by
the service that uses it (its document's `info.description`)."""

Document = dict[str, Any]
Renames = dict[tuple[str, str], str]
"""(components section, old name) → new name, for one source document."""


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _rewrite(value: Any, renames: Renames) -> Any:
    """A deep copy of `value` with `#/components/<section>/<name>` refs renamed."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith(_REF_PREFIX):
                section, _, name = item[len(_REF_PREFIX):].partition("/")
                new = renames.get((section, name))
                out[key] = f"{_REF_PREFIX}{section}/{new}" if new else item
            else:
                out[key] = _rewrite(item, renames)
        return out
    if isinstance(value, list):
        return [_rewrite(item, renames) for item in value]
    return value


def _rename_security(requirements: list[dict[str, Any]], renames: Renames) -> list[dict[str, Any]]:
    return [
        {renames.get(("securitySchemes", name), name): scopes for name, scopes in requirement.items()}
        for requirement in requirements
    ]


def _plan_renames(sources: Mapping[str, Document]) -> dict[str, Renames]:
    """Which components each source must rename so that no two different definitions share a name."""
    defined: dict[tuple[str, str], dict[str, Any]] = {}
    for source, doc in sources.items():
        for section, items in (doc.get("components") or {}).items():
            if isinstance(items, dict):
                for name, definition in items.items():
                    defined.setdefault((section, name), {})[source] = definition
    taken = set(defined)
    colliding: set[tuple[str, str]] = set()
    renames: dict[str, Renames] = {source: {} for source in sources}
    # Two identical definitions may still differ once the names they refer to are renamed,
    # so repeat until no further name has to move.
    while True:
        newly = set()
        for key, by_source in defined.items():
            if key in colliding or len(by_source) < 2:
                continue
            if len({_canonical(_rewrite(d, renames[s])) for s, d in by_source.items()}) > 1:
                newly.add(key)
        if not newly:
            return renames
        for key in sorted(newly):
            section, name = key
            for source in sorted(defined[key]):
                new = f"{source.capitalize()}{name}"
                suffix = 2
                while (section, new) in taken:
                    new = f"{source.capitalize()}{name}{suffix}"
                    suffix += 1
                taken.add((section, new))
                renames[source][key] = new
        colliding |= newly


def _routed_paths(source: str, paths: Mapping[str, Any]) -> dict[str, Any]:
    """The paths of `source` that the gateway actually routes to it."""
    kept = {}
    for path, item in paths.items():
        if source == GATEWAY_SOURCE or is_per_service(path) or service_for(path) == source:
            kept[path] = item
        elif path.startswith(API_PREFIX):
            log.warning("%s documents %s, which the gateway routes elsewhere; left out", source, path)
    return kept


def _per_service_operation(path: str, operations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The services' copies of one per-service operation as one, with the `service` query parameter that picks one."""
    first = copy.deepcopy(operations[sorted(operations)[0]])
    parameter = {
        "name": "service",
        "in": "query",
        "required": True,
        "description": "whose audit log to verify" if path == AUDIT_VERIFY_PATH else "whose dead letters or outbox",
        "schema": {"type": "string", "enum": sorted(operations)},
    }
    first["parameters"] = [p for p in first.get("parameters", []) if p.get("name") != "service"] + [parameter]
    if path == AUDIT_VERIFY_PATH:
        first["operationId"] = "verify_audit_log"
    return first


def _component_refs(value: Any) -> Iterator[tuple[str, str]]:
    """(section, name) of every `#/components/<section>/<name>` ref in `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith(_REF_PREFIX):
                section, _, name = item[len(_REF_PREFIX):].partition("/")
                yield section, name
            else:
                yield from _component_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _component_refs(item)


def _reachable_components(paths: Mapping[str, Any], components: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The components that some operation uses, directly or through other components."""
    pending = list(_component_refs(paths))
    for item in paths.values():
        for method in HTTP_METHODS:
            for requirement in (item.get(method) or {}).get("security", []):
                pending.extend(("securitySchemes", name) for name in requirement)
    reached: set[tuple[str, str]] = set()
    while pending:
        key = pending.pop()
        if key in reached:
            continue
        reached.add(key)
        section, name = key
        pending.extend(_component_refs(components.get(section, {}).get(name)))
    return reached


def merge_openapi(
    service_docs: Mapping[str, Document],
    gateway_doc: Document | None = None,
    *,
    title: str = "Kezhuan API",
    version: str = "0.1.0",
    missing: list[str] | None = None,
) -> Document:
    """Merge the services' documents (and the gateway's own) into one OpenAPI 3.1 document."""
    sources: dict[str, Document] = {name: service_docs[name] for name in sorted(service_docs)}
    if gateway_doc is not None:
        sources[GATEWAY_SOURCE] = gateway_doc
    renames = _plan_renames(sources)

    paths: dict[str, dict[str, Any]] = {}
    per_service: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    """path → method → source → that source's operation"""
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    tag_users: dict[str, str] = {}
    """tag → the first source whose operations use it"""
    operation_ids: set[str] = set()
    for source, doc in sources.items():
        source_renames = renames[source]
        default_security = doc.get("security")
        for path, raw_item in sorted(_routed_paths(source, doc.get("paths") or {}).items()):
            item = _rewrite(raw_item, source_renames)
            shared = is_per_service(path) and source != GATEWAY_SOURCE
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                if "security" not in operation and default_security is not None:
                    operation["security"] = copy.deepcopy(default_security)
                if "security" in operation:
                    operation["security"] = _rename_security(operation["security"], source_renames)
                for tag in operation.get("tags", []):
                    tag_users.setdefault(tag, source)
                if shared:
                    per_service.setdefault(path, {}).setdefault(method, {})[source] = operation
                    continue
                operation_id = operation.get("operationId")
                if operation_id is not None:
                    if operation_id in operation_ids:
                        operation_id = operation["operationId"] = f"{source}_{operation_id}"
                    operation_ids.add(operation_id)
            if shared:
                continue
            target = paths.setdefault(path, {})
            for key, value in item.items():
                if key in target:
                    log.warning("%s %s is documented twice; keeping the first", key, path)
                else:
                    target[key] = value
        for section, items in (doc.get("components") or {}).items():
            if isinstance(items, dict):
                merged = components.setdefault(section, {})
                for name, definition in items.items():
                    renamed = source_renames.get((section, name))
                    rewritten = _rewrite(definition, source_renames)
                    if renamed and section == "schemas" and isinstance(rewritten, dict) and "title" in rewritten:
                        # Client generators name models after `title`: keep it as unique as the key.
                        rewritten["title"] = renamed
                    merged.setdefault(renamed or name, rewritten)
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and isinstance(tag.get("name"), str):
                tags.setdefault(tag["name"], tag)
    for path, by_method in per_service.items():
        paths[path] = {method: _per_service_operation(path, ops) for method, ops in sorted(by_method.items())}
    for item in paths.values():
        for method in HTTP_METHODS:
            if method in item:
                item[method].setdefault("security", [])
    for tag, source in tag_users.items():
        if tag not in tags or not tags[tag].get("description"):
            description = TAG_DESCRIPTIONS.get(tag) or sources[source].get("info", {}).get("description")
            tags[tag] = {"name": tag, "description": description or f"Operations of the {source} service."}
    reachable = _reachable_components(paths, components)
    components = {
        section: {name: item for name, item in items.items() if (section, name) in reachable}
        for section, items in components.items()
    }

    description = "The public REST API of every Kezhuan service, as served by the gateway."
    if missing:
        description += f" Not yet included (unreachable when this document was built): {', '.join(missing)}."
    document: Document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": copy.deepcopy(SERVERS),
        "paths": dict(sorted(paths.items())),
        "components": {
            section: dict(sorted(items.items())) for section, items in sorted(components.items()) if items
        },
    }
    if tags:
        document["tags"] = [tags[name] for name in sorted(tags)]
    if missing:
        document["x-kezhuan-missing-services"] = sorted(missing)
    return document


Fetch = Callable[[str], Awaitable[Document | None]]


class OpenApiCache:
    """The merged document, rebuilt only while some service has not yet delivered its own."""

    def __init__(self, services: list[str], fetch: Fetch, gateway_doc: Document | None, *, version: str) -> None:
        self._services = services
        self._fetch = fetch
        self.gateway_doc = gateway_doc
        """The gateway's own paths (test clock, webhooks), merged in as one more source."""
        self._version = version
        self._docs: dict[str, Document] = {}
        self._body: bytes | None = None
        self._lock = asyncio.Lock()

    @property
    def complete(self) -> bool:
        """True once every service's document is in."""
        return len(self._docs) == len(self._services)

    async def document(self) -> bytes:
        """The merged document as JSON; services that were down are asked again."""
        if self._body is not None and self.complete:
            return self._body
        async with self._lock:
            if self._body is None or not self.complete:
                wanted = [s for s in self._services if s not in self._docs]
                fetched = await asyncio.gather(*(self._fetch(s) for s in wanted))
                self._docs.update({s: doc for s, doc in zip(wanted, fetched, strict=True) if doc is not None})
                missing = [s for s in self._services if s not in self._docs]
                merged = merge_openapi(self._docs, self.gateway_doc, version=self._version, missing=missing)
                self._body = orjson.dumps(merged)
            return self._body
