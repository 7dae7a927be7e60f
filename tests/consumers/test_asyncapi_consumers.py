"""The AsyncAPI document says what each service consumes, from the services' own ConsumerSpecs."""
from __future__ import annotations

from contracts.events import CATALOGUE
from gateway.asyncapi import build_asyncapi
from servicekit.testing import InProcessSystem
from tests.e2e.contracts_check import assert_valid_asyncapi_3


async def test_every_consumer_of_every_service_has_a_receive_operation_on_its_event_types_channel(
    system: InProcessSystem,
) -> None:
    declarations = {}
    for service, client in system.clients.items():
        response = await client.get("/internal/consumers")
        assert response.status_code == 200, response.text
        assert response.json()["service"] == service
        declarations[service] = response.json()["consumers"]
    document = build_asyncapi(CATALOGUE, nats_url="nats://127.0.0.1:4222", consumers=declarations)
    assert_valid_asyncapi_3(document)

    receives = {
        name: operation["channel"]["$ref"].removeprefix("#/channels/")
        for name, operation in document["operations"].items()
        if operation["action"] == "receive"
    }
    expected = {
        f"{runner.durable}.{event_type}.receive": event_type
        for service in system.apps
        for runner in system.runtime(service).consumers
        for event_type in runner.spec.event_types
    }
    assert receives == expected
    record = document["operations"]["exemption-pricing-record.pricing.record.appended.receive"]
    assert "Parsed as RecordStepAppended" in record["description"]
    income = document["operations"]["finance-deal-income.pricing.deal.concluded.receive"]
    assert income["summary"].startswith("FIN-1")
