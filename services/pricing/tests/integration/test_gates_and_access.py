"""Opening a transaction: appraisal (PRC-1/2), method (PRC-3), agreement terms (PRC-4), gates OWN-13/14/15, access."""
from __future__ import annotations


async def test_wholly_state_owned_counterparty_needs_no_appraisal(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    response = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price="100000.00")
    assert response.status_code == 201, response.text  # PRC-1
    record = await market.record(response.json()["id"], admin)
    assert [item["step"] for item in record] == ["opened", "appraisal_recorded"]
    assert record[1]["details"]["required"] is False


async def test_other_counterparty_without_appraisal_decision_is_refused_with_prc_2(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    missing = await market.open(admin, achievement["id"], counterparty=market.PRIVATE, proposed_price="100000.00")
    assert missing.status_code == 422 and missing.json()["rule"] == "PRC-2"
    no_value = await market.open(admin, achievement["id"], counterparty=market.PRIVATE, proposed_price="100000.00",
                                 appraisal={"performed": True, "report_reference": "R-1"})
    assert no_value.status_code == 422 and no_value.json()["rule"] == "PRC-2"
    not_performed = await market.open(admin, achievement["id"], counterparty=market.PRIVATE, proposed_price="100000.00",
                                      appraisal={"performed": False})
    assert not_performed.status_code == 201  # PRC-2: the unit decided not to appraise, and that is recorded
    listing_draft = await market.open(admin, achievement["id"], method="listing")
    assert listing_draft.status_code == 422 and listing_draft.json()["rule"] == "PRC-2"  # counterparty not yet known


async def test_unknown_method_is_refused_with_prc_3(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    response = await market.open(admin, achievement["id"], method="barter", appraisal=market.APPRAISED)
    assert response.status_code == 422 and response.json()["rule"] == "PRC-3"


async def test_agreement_without_counterparty_or_price_is_refused_with_prc_4(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    no_price = await market.open(admin, achievement["id"], counterparty=market.PRIVATE, appraisal=market.APPRAISED)
    assert no_price.status_code == 422 and no_price.json()["rule"] == "PRC-4"
    no_party = await market.open(admin, achievement["id"], proposed_price="1.00", appraisal=market.APPRAISED)
    assert no_party.status_code == 422 and no_party.json()["rule"] == "PRC-4"


async def test_price_as_json_number_is_a_422(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    response = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price=100000)
    assert response.status_code == 422


async def test_overseas_counterparty_needs_an_export_control_record_own_13(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    abroad = {**market.PRIVATE, "overseas": True}
    refused = await market.open(admin, achievement["id"], counterparty=abroad, proposed_price="1.00", appraisal=market.APPRAISED)
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-13"
    await market.ownership.record_compliance(achievement["id"], "export_control")  # read fresh on the next request
    allowed = await market.open(admin, achievement["id"], counterparty=abroad, proposed_price="1.00", appraisal=market.APPRAISED)
    assert allowed.status_code == 201, allowed.text


async def test_classified_achievement_needs_approval_and_confidentiality_agreement_own_14(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"], security={"classified": True}, compliance=["secrecy_approval"])
    refused = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-14"
    await market.ownership.record_compliance(achievement["id"], "confidentiality_agreement")
    allowed = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert allowed.status_code == 201, allowed.text


async def test_key_core_technology_with_an_individual_needs_both_records_own_14(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"], security={"key_core_technology": True})
    person = {**market.PRIVATE, "kind": "individual"}
    refused = await market.open(admin, achievement["id"], counterparty=person, proposed_price="1.00", appraisal=market.APPRAISED)
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-14"


async def test_ethics_review_required_needs_the_review_record_own_15(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"], ethics_review_required=True)
    refused = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-15"
    await market.ownership.record_compliance(achievement["id"], "ethics_review")
    allowed = await market.open(admin, achievement["id"], counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert allowed.status_code == 201


async def test_another_units_or_unknown_achievement_is_404(market) -> None:
    unit, admin = await market.unit()
    other, _ = await market.unit()
    foreign = await market.ownership.add(other["id"])
    response = await market.open(admin, foreign["id"], counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert response.status_code == 404
    unknown = await market.open(admin, "no-such-achievement", counterparty=market.STATE_OWNED, proposed_price="1.00")
    assert unknown.status_code == 404


async def test_only_a_unit_admin_opens_a_transaction(market) -> None:
    unit, _ = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    body = {"achievement_id": achievement["id"], "kind": "transfer", "method": "agreement",
            "counterparty": market.STATE_OWNED, "proposed_price": "1.00"}
    assert (await market.client.post(market.T, json=body)).status_code == 401
    assert (await market.client.post(market.T, json=body, headers=market.system.auth("enterprise"))).status_code == 403


async def test_transaction_reads_are_scoped_to_the_unit(market) -> None:
    tx, admin = await market.agreement()
    system = market.system
    url = f"{market.T}/{tx['id']}"
    assert (await market.client.get(url)).status_code == 401
    assert (await market.client.get(url, headers=system.auth("unit_admin", "another-unit"))).status_code == 404
    assert (await market.client.get(url, headers=system.auth("enterprise"))).status_code == 403
    for role in ("department", "platform_admin"):
        assert (await market.client.get(url, headers=system.auth(role))).status_code == 200
    service_token = system.runtime("pricing").service_token()
    record = await market.client.get(f"{url}/record", headers={"Authorization": f"Bearer {service_token}"})
    assert record.status_code == 200
    # The service role only reads: it cannot run a transaction.
    notice = await market.client.post(f"{url}/notice", json={}, headers={"Authorization": f"Bearer {service_token}"})
    assert notice.status_code == 403
    foreign_notice = await market.client.post(f"{url}/notice", json={}, headers=system.auth("unit_admin", "another-unit"))
    assert foreign_notice.status_code == 404


async def test_delisting_party_and_bidder_pass_the_gates_too(market, clock) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    abroad = {**market.PRIVATE, "overseas": True}
    listing_tx = (await market.open(admin, achievement["id"], method="listing", appraisal=market.APPRAISED)).json()
    listing = (await market.client.post(f"{market.T}/{listing_tx['id']}/listing", json={"exchange": "大连", "price": "9.00"},
                                         headers=admin)).json()
    refused = await market.client.post(f"/api/v1/listings/{listing['id']}/delistings", json={"party": abroad},
                                       headers=market.system.auth("enterprise"))
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-13"
    auction_tx = (await market.open(admin, achievement["id"], method="auction", kind="license", appraisal=market.APPRAISED)).json()
    auction = await market.client.post(f"{market.T}/{auction_tx['id']}/auction",
                                       json={"reserve_price": "5.00", "closes_at": "2099-01-01T00:00:00+08:00"}, headers=admin)
    assert auction.status_code == 201, auction.text
    bid = await market.client.post(f"/api/v1/auctions/{auction.json()['id']}/bids", json={"party": abroad, "amount": "6.00"},
                                   headers=market.system.auth("enterprise"))
    assert bid.status_code == 422 and bid.json()["rule"] == "OWN-13"
