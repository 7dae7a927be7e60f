"""The merged OpenAPI document that the gateway serves at /openapi.json, built without starting anything.

Each service's FastAPI app is built (not started) and asked for its own document; the gateway's
merge (gateway.openapi.merge_openapi) combines them with the gateway's own paths, exactly as the
running gateway does once every service has answered. `make lint-api` lints what this writes:

    .venv/bin/python tools/merged_openapi.py var/openapi.json
"""
from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from gateway.app import VERSION, create_app
from gateway.openapi import merge_openapi
from servicekit.settings import SERVICES, KezhuanSettings


def merged_openapi() -> dict[str, Any]:
    """The merged document of a dev system (the test clock included, as `make run` serves it)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = KezhuanSettings(env="dev", data_dir=Path(data_dir))
        documents = {
            name: importlib.import_module(f"{name}.app").create_app(settings=settings).openapi() for name in SERVICES
        }
        gateway = create_app(settings)
        return merge_openapi(documents, gateway.openapi.gateway_doc, version=VERSION)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(orjson.dumps(merged_openapi(), option=orjson.OPT_INDENT_2))
    print(f"wrote {target}")
