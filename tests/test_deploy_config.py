"""docker-compose.yml and deploy/k8s name every process and only settings the code knows, and give each what it needs."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from servicekit.settings import SERVICES, KezhuanSettings

ROOT = Path(__file__).resolve().parents[1]
APPS = (*SERVICES, "gateway")
KNOWN = {f"KEZHUAN_{name.upper()}" for name in KezhuanSettings.model_fields} | {"KEZHUAN_APP"}
REQUIRED = {
    "KEZHUAN_ENV",
    "KEZHUAN_JWT_SECRET",
    "KEZHUAN_NATS_URL",
    *(f"KEZHUAN_DATABASE_URL_{s.upper()}" for s in APPS),
    *(f"KEZHUAN_{s.upper()}_URL" for s in SERVICES),
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def k8s_documents() -> list[dict]:
    documents: list[dict] = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        documents.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return documents


def test_compose_runs_every_app_with_known_and_complete_settings() -> None:
    services = compose()["services"]
    assert {"nats", "postgres", *APPS} <= services.keys()
    for app in APPS:
        env = services[app]["environment"]
        assert set(env) <= KNOWN, f"{app} sets unknown variables: {set(env) - KNOWN}"
        assert REQUIRED <= set(env), f"{app} lacks {REQUIRED - set(env)}"
        assert env["KEZHUAN_APP"] == app
        assert env["KEZHUAN_ENV"] == "production"
    assert "-js" in services["nats"]["command"]


def test_kubernetes_runs_every_app_with_probes_and_complete_settings() -> None:
    documents = k8s_documents()
    by_kind_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    provided = set(by_kind_name[("ConfigMap", "kezhuan-config")]["data"]) | set(
        by_kind_name[("Secret", "kezhuan-secrets")]["stringData"]
    )
    assert provided <= KNOWN, provided - KNOWN
    assert REQUIRED <= provided | {"KEZHUAN_APP"}, REQUIRED - provided
    for app in APPS:
        deployment = by_kind_name[("Deployment", app)]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"name": "KEZHUAN_APP", "value": app} in container["env"]
        assert deployment["spec"]["replicas"] >= 2, "stateless services run in several replicas"
        assert ("Service", app) in by_kind_name
    nats = by_kind_name[("StatefulSet", "nats")]
    assert nats["spec"]["replicas"] == 3
    assert by_kind_name[("ConfigMap", "kezhuan-config")]["data"]["KEZHUAN_STREAM_REPLICAS"] == "3"


@pytest.mark.parametrize("env", ["production"])
def test_production_refuses_the_dev_secret(env: str) -> None:
    with pytest.raises(ValueError, match="KEZHUAN_JWT_SECRET"):
        KezhuanSettings(env=env)
    KezhuanSettings(env=env, jwt_secret="x" * 40)
