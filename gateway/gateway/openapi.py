"""One OpenAPI 3.1 document for the whole public API, merged from the services' own documents.

Merge rules (deterministic, whatever order the services answered in):
- a service contributes the /api/v1 paths the gateway routes to it; a path the gateway would
  send elsewhere is unreachable through it and left out (with a warning for its authors);
- `/api/v1/audit/verify`, which every service has, becomes one path with a `service` parameter;
- components with the same name and the same content (after the rules below) are kept once;
  differing ones are all renamed `<Service><Name>`, and every `$ref` (and, for security
  schemes, every security requirement) of that service is rewritten;
- a service-level `security` is copied onto that service's operations, since the merged
  document has no per-service top level.
"""
from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from gateway.routes import API_PREFIX, AUDIT_VERIFY_PATH, service_for

log = logging.getLogger("kezhuan.gateway.openapi")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GATEWAY_SOURCE = "gateway"
_REF_PREFIX = "#/components/"

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
        if source == GATEWAY_SOURCE or path == AUDIT_VERIFY_PATH or service_for(path) == source:
            kept[path] = item
        elif path.startswith(API_PREFIX):
            log.warning("%s documents %s, which the gateway routes elsewhere; left out", source, path)
    return kept


def _audit_operation(operations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The services' audit operations as one, with the `service` query parameter that picks one."""
    first = copy.deepcopy(operations[sorted(operations)[0]])
    parameter = {
        "name": "service",
        "in": "query",
        "required": True,
        "description": "whose audit log to verify",
        "schema": {"type": "string", "enum": sorted(operations)},
    }
    first["parameters"] = [p for p in first.get("parameters", []) if p.get("name") != "service"] + [parameter]
    first["operationId"] = "verify_audit_log"
    return first


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
    audit: dict[str, dict[str, dict[str, Any]]] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for source, doc in sources.items():
        source_renames = renames[source]
        default_security = doc.get("security")
        for path, raw_item in sorted(_routed_paths(source, doc.get("paths") or {}).items()):
            item = _rewrite(raw_item, source_renames)
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                if "security" not in operation and default_security is not None:
                    operation["security"] = copy.deepcopy(default_security)
                if "security" in operation:
                    operation["security"] = _rename_security(operation["security"], source_renames)
                operation_id = operation.get("operationId")
                if operation_id is not None:
                    if operation_id in operation_ids:
                        operation_id = operation["operationId"] = f"{source}_{operation_id}"
                    operation_ids.add(operation_id)
                if path == AUDIT_VERIFY_PATH and source != GATEWAY_SOURCE:
                    audit.setdefault(method, {})[source] = operation
            if path == AUDIT_VERIFY_PATH and source != GATEWAY_SOURCE:
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
    if audit:
        paths[AUDIT_VERIFY_PATH] = {method: _audit_operation(ops) for method, ops in sorted(audit.items())}

    description = "The public REST API of every Kezhuan service, as served by the gateway."
    if missing:
        description += f" Not yet included (unreachable when this document was built): {', '.join(missing)}."
    document: Document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {section: dict(sorted(items.items())) for section, items in sorted(components.items())},
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
        self._gateway_doc = gateway_doc
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
                merged = merge_openapi(self._docs, self._gateway_doc, version=self._version, missing=missing)
                self._body = orjson.dumps(merged)
            return self._body
