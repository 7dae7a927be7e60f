"""EVA-1/EVA-2 over real NATS and a real database: two units, two years, every indicator of API.md §6b."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import pytest_asyncio
from openpyxl import load_workbook

from servicekit.testing import InProcessSystem, eventually

from . import scenario as sc

GROUPS = ("quantity", "quality", "benefit")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def published(evaluation: InProcessSystem, evaluation_nats: str) -> sc.Scenario:
    """The scenario's events, published once and applied by the evaluation service."""
    scenario = sc.build()
    system = evaluation
    await sc.publish(evaluation_nats, scenario)
    admin = system.auth("platform_admin")

    async def applied() -> bool:
        response = await system.clients["evaluation"].get(
            f"/api/v1/evaluation/units/{scenario.unit_b}", params={"year": 2026}, headers=admin
        )
        return response.status_code == 200 and response.json()["benefit"]["income_received"] == "250000.00" and (
            response.json()["quality"]["exemption_conclusions"]["basically_meets"] == 1
        )

    await eventually(applied, timeout=20)
    # The last event of unit A's stream of facts, so every earlier one has been applied too.
    async def unit_a_corrected() -> bool:
        response = await system.clients["evaluation"].get(
            f"/api/v1/evaluation/units/{scenario.unit_a}/departments", params={"year": 2025}, headers=admin
        )
        return response.status_code == 200 and len(response.json()["items"]) == 2 and (
            response.json()["items"][1]["quantity"]["achievements_registered"] == 2
        )

    await eventually(unit_a_corrected, timeout=20)
    return scenario


def _groups(body: dict[str, Any]) -> dict[str, Any]:
    return {group: body[group] for group in GROUPS}


async def _get(system: InProcessSystem, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await system.clients["evaluation"].get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(("unit", "year", "expected"), [
    ("unit_a", 2025, sc.UNIT_A_2025),
    ("unit_a", 2026, sc.UNIT_A_2026),
    ("unit_b", 2025, sc.UNIT_B_2025),
    ("unit_b", 2026, sc.UNIT_B_2026),
])
async def test_every_indicator_of_a_unit_and_year_is_exact(
    evaluation: InProcessSystem, published: sc.Scenario, unit: str, year: int, expected: dict[str, Any]
) -> None:
    """EVA-1: quantity, quality and benefit of each unit and year, as worked out by hand from the events."""
    system = evaluation
    unit_id = getattr(published, unit)
    body = (await _get(system, f"/api/v1/evaluation/units/{unit_id}", system.auth("department"), year=year)).json()
    assert (body["unit_id"], body["year"]) == (unit_id, year)
    assert _groups(body) == expected


async def test_departments_count_their_achievements_as_corrected(evaluation: InProcessSystem, published: sc.Scenario) -> None:
    """EVA-1 per internal department; a4's correction (OWN-17) moved it to 机械学院, notices follow their transaction."""
    system = evaluation
    unit = published.unit_a
    body = (await _get(system, f"/api/v1/evaluation/units/{unit}/departments", system.auth("unit_admin", unit), year=2025)).json()
    assert [item["department"] for item in body["items"]] == ["化工学院", "机械学院"] and body["next_cursor"] is None
    chemistry, mechanics = body["items"]
    assert _groups(chemistry) == sc.indicators(quantity__achievements_registered=1, quantity__empowerments__usage_right=1)
    assert _groups(mechanics) == sc.indicators(
        quantity__achievements_registered=2, quantity__empowerments__ownership=1, quantity__transactions_opened=1,
        quantity__deals__license=1, quantity__deals_by_basis__listing_expired=1, quantity__pay_later_licences=1,
        quantity__pool_size=1, quantity__pool_transformed=1, quality__median_days_grant_to_deal=1491,
        quality__notices_published=1, quality__notices_objected=1, benefit__deal_amount="100000.00",
        benefit__receivables_outstanding="100000.00",
    )
    first = (await _get(system, f"/api/v1/evaluation/units/{unit}/departments", system.auth("department"), year=2025, limit=1)).json()
    rest = (await _get(system, f"/api/v1/evaluation/units/{unit}/departments", system.auth("department"), year=2025,
                       limit=1, cursor=first["next_cursor"])).json()
    assert [i["department"] for i in first["items"] + rest["items"]] == ["化工学院", "机械学院"] and rest["next_cursor"] is None


async def test_a_researcher_counts_the_results_of_the_achievements_they_completed(
    evaluation: InProcessSystem, published: sc.Scenario
) -> None:
    """EVA-1 / M 十三: p-a1 completed a1 and a3; the researcher reads their own figures by token `sub`."""
    system = evaluation
    person = published.id("p-a1")
    own = system.auth("researcher", published.unit_a, sub=person)
    body = (await _get(system, f"/api/v1/evaluation/researchers/{person}", own, year=2026)).json()
    assert _groups(body) == sc.indicators(
        quantity__achievements_registered=1, benefit__income_received="100000.00", benefit__state_equity_formed="30000.00",
    )
    colleague = system.auth("researcher", published.unit_a)
    response = await system.clients["evaluation"].get(f"/api/v1/evaluation/researchers/{person}", headers=colleague)
    assert response.status_code == 403
    stranger = system.auth("researcher", published.unit_b)
    response = await system.clients["evaluation"].get(f"/api/v1/evaluation/researchers/{person}", headers=stranger)
    assert response.status_code == 404
    unit_admin = system.auth("unit_admin", published.unit_a)
    assert (await system.clients["evaluation"].get(f"/api/v1/evaluation/researchers/{person}", headers=unit_admin)).status_code == 200
    foreign_admin = system.auth("unit_admin", published.unit_b)
    assert (await system.clients["evaluation"].get(f"/api/v1/evaluation/researchers/{person}", headers=foreign_admin)).status_code == 404


async def test_a_technology_manager_counts_the_deals_naming_them(evaluation: InProcessSystem, published: sc.Scenario) -> None:
    """ORG-2 / PRC-12: m1 brokered t1; the deal, its amount and its days count for m1, no pool."""
    system = evaluation
    manager = published.id("m1")
    own = system.auth("researcher", published.unit_a, sub=published.id("p-m1"))
    body = (await _get(system, f"/api/v1/evaluation/technology-managers/{manager}", own, year=2025)).json()
    assert _groups(body) == sc.indicators(
        quantity__transactions_opened=1, quantity__deals__license=1, quantity__deals_by_basis__listing_expired=1,
        quantity__pay_later_licences=1, quality__median_days_grant_to_deal=1491, benefit__deal_amount="100000.00",
    )


async def test_the_province_table_has_each_unit_and_totals_equal_to_the_sum_of_its_rows(
    evaluation: InProcessSystem, published: sc.Scenario
) -> None:
    """EVA-1: one row per unit (every page walked), totals over all units; only department/platform_admin read it."""
    system = evaluation
    headers = system.auth("department")
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"year": 2026, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        body = (await _get(system, "/api/v1/evaluation/province", headers, **params)).json()
        rows.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    by_unit = {row["unit_id"]: row for row in rows}
    assert by_unit[published.unit_a]["unit_name"] == "大连理工大学"
    assert _groups(by_unit[published.unit_a]) == sc.UNIT_A_2026
    assert _groups(by_unit[published.unit_b]) == sc.UNIT_B_2026
    totals = body["totals"]
    assert totals["quantity"]["deals"] == {
        kind: sum(row["quantity"]["deals"][kind] for row in rows) for kind in ("transfer", "license", "investment")
    }
    assert totals["benefit"]["deal_amount"] == f"{sum(float(r['benefit']['deal_amount']) for r in rows):.2f}"
    unit_admin = system.auth("unit_admin", published.unit_a)
    assert (await system.clients["evaluation"].get("/api/v1/evaluation/province", headers=unit_admin)).status_code == 403


async def test_a_unit_admin_reads_only_its_own_unit(evaluation: InProcessSystem, published: sc.Scenario) -> None:
    """EVA-2: a unit_admin its own unit; another unit is 404 (existence not disclosed); enterprises 403."""
    system = evaluation
    client = system.clients["evaluation"]
    path = f"/api/v1/evaluation/units/{published.unit_b}"
    assert (await client.get(path, headers=system.auth("unit_admin", published.unit_b))).status_code == 200
    assert (await client.get(path, headers=system.auth("unit_admin", published.unit_a))).status_code == 404
    assert (await client.get(path, headers=system.auth("enterprise"))).status_code == 403
    assert (await client.get(path)).status_code == 401


async def test_csv_and_xlsx_parse_back_to_the_same_numbers(evaluation: InProcessSystem, published: sc.Scenario) -> None:
    """EVA-2: one row per entity, one column per indicator (`deals.transfer`), Chinese headers with the key."""
    system = evaluation
    path = f"/api/v1/evaluation/units/{published.unit_a}"
    headers = system.auth("platform_admin")
    json_body = (await _get(system, path, headers, year=2025)).json()
    csv_response = await _get(system, path, {**headers, "Accept": "text/csv"}, year=2025)
    assert csv_response.headers["content-type"].startswith("text/csv")
    reader = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    header, row = reader[0], reader[1]
    assert "成交金额（元） (deal_amount)" in header and "转让成交数 (deals.transfer)" in header
    values = dict(zip([h.rsplit(" (", 1)[1].rstrip(")") for h in header], row, strict=True))
    assert values["deals.license"] == "1" and values["deal_amount"] == json_body["benefit"]["deal_amount"]
    assert values["median_days_grant_to_deal"] == "1491" and values["pool_size"] == "1"

    odd = await system.clients["evaluation"].get("/api/v1/evaluation/researchers/李四\u0094`", params={"format": "csv"}, headers=headers)
    assert odd.status_code == 200 and odd.headers["content-disposition"].startswith('attachment; filename="researcher-____-')

    xlsx = await _get(system, path, headers, year=2025, format="xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = list(sheet.iter_rows(values_only=True))
    xlsx_values = dict(zip([h.rsplit(" (", 1)[1].rstrip(")") for h in cells[0]], cells[1], strict=True))
    assert xlsx_values["deals.license"] == 1 and xlsx_values["deal_amount"] == "100000.00"
    assert {k: str(v) for k, v in xlsx_values.items() if v is not None} == {k: v for k, v in values.items() if v != ""}


async def test_the_charts_are_svg_naming_the_unit(evaluation: InProcessSystem, published: sc.Scenario) -> None:
    """EVA-2: an SVG of a unit's indicators over the years, and the province's ranking."""
    system = evaluation
    headers = system.auth("department")
    chart = await _get(system, f"/api/v1/evaluation/units/{published.unit_a}/chart", headers, since=2025, indicator=["deals.license", "deal_amount"])
    assert chart.headers["content-type"].startswith("image/svg+xml")
    text = chart.text
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "大连理工大学" in text
    ranking = await _get(system, "/api/v1/evaluation/province/chart", headers, year=2026, indicator="deal_amount")
    assert "<svg" in ranking.text and "中国医科大学" in ranking.text
    bad = await system.clients["evaluation"].get("/api/v1/evaluation/province/chart", params={"indicator": "nope"}, headers=headers)
    assert bad.status_code == 422
    anonymous = await system.clients["evaluation"].get(f"/api/v1/evaluation/units/{published.unit_a}/chart", params={"indicator": "nope"})
    assert anonymous.status_code == 401  # who asks is judged before what is asked
