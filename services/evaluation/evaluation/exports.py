"""EVA-2 exports: CSV and XLSX (one row per entity, one column per indicator, Chinese headers) and SVG charts."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SVG_TYPE = "image/svg+xml"

LABELS: dict[str, str] = {
    "unit_id": "单位编号",
    "unit_name": "单位名称",
    "year": "年度",
    "department": "院系/内设机构",
    "person_id": "人员编号",
    "technology_manager_id": "技术经理人编号",
    "achievements_registered": "登记成果数",
    "empowerments.ownership": "所有权赋权数",
    "empowerments.usage_right": "长期使用权赋权数",
    "transactions_opened": "发起交易数",
    "deals.transfer": "转让成交数",
    "deals.license": "许可成交数",
    "deals.investment": "作价投资成交数",
    "deals_by_basis.notice_clear": "公示无异议成交数",
    "deals_by_basis.listing_expired": "挂牌期满成交数",
    "deals_by_basis.delisted": "摘牌成交数",
    "deals_by_basis.auction": "拍卖成交数",
    "pay_later_licences": "先用后付许可数",
    "pool_size": "先用后付成果池规模",
    "pool_transformed": "成果池内成果转化数",
    "median_days_grant_to_deal": "授权至成交天数中位数",
    "notices_published": "发布公示数",
    "notices_objected": "有异议公示数",
    "listings_delisted": "挂牌被摘牌数",
    "exemption_conclusions.meets": "尽职免责认定：符合",
    "exemption_conclusions.basically_meets": "尽职免责认定：基本符合",
    "exemption_conclusions.does_not_meet": "尽职免责认定：不符合",
    "deal_amount": "成交金额（元）",
    "income_received": "到账收入（元）",
    "rewards_paid.cash": "现金奖励（元）",
    "rewards_paid.shares": "股权奖励人次",
    "rewards_paid.contribution": "出资比例奖励人次",
    "state_equity_formed": "形成国有股权（元）",
    "receivables_outstanding": "应收未收款（元）",
}
"""Chinese column headers; the export shows each as `中文 (key)`."""

GROUPS = ("quantity", "quality", "benefit")


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """One entity's read as flat columns: identity fields first, then `deals.transfer`-style indicator keys."""
    flat: dict[str, Any] = {key: value for key, value in row.items() if key not in GROUPS}
    for group in GROUPS:
        for key, value in (row.get(group) or {}).items():
            if isinstance(value, Mapping):
                for inner, inner_value in value.items():
                    flat[f"{key}.{inner}"] = inner_value
            else:
                flat[key] = value
    return flat


def header(key: str) -> str:
    """`成交金额（元） (deal_amount)`."""
    return f"{LABELS.get(key, key)} ({key})"


def to_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV with a UTF-8 BOM, so spreadsheet programs read the Chinese headers right."""
    flat = [flatten(row) for row in rows]
    keys = list(flat[0]) if flat else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header(key) for key in keys])
    for item in flat:
        writer.writerow(["" if item.get(key) is None else item.get(key) for key in keys])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], title: str) -> bytes:
    """XLSX through openpyxl; money stays text (exact), counts are numbers."""
    from openpyxl import Workbook  # imported on demand: start-up stays fast

    flat = [flatten(row) for row in rows]
    keys = list(flat[0]) if flat else []
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([header(key) for key in keys])
    for item in flat:
        sheet.append([item.get(key) for key in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def chart_over_years(unit_name: str, history: Mapping[int, Mapping[str, Any]], keys: Sequence[str]) -> bytes:
    """SVG line chart of a unit's indicators over the years (pygal)."""
    import pygal  # imported on demand: start-up stays fast

    chart = pygal.Line(title=f"{unit_name} 科技成果转化指标", x_title="年度", show_legend=True, disable_xml_declaration=False)
    years = sorted(history)
    chart.x_labels = [str(year) for year in years]
    for key in keys:
        chart.add(LABELS.get(key, key), [_number(flatten(history[year]).get(key)) for year in years])
    return chart.render()


def chart_ranking(year: int, rows: Sequence[Mapping[str, Any]], key: str) -> bytes:
    """SVG horizontal bar chart ranking the province's units by one indicator (pygal)."""
    import pygal

    ranked = sorted(rows, key=lambda row: _number(flatten(row).get(key)) or 0, reverse=True)
    chart = pygal.HorizontalBar(title=f"{year} 年全省单位排名：{LABELS.get(key, key)}", show_legend=False)
    chart.x_labels = [row.get("unit_name") or row.get("unit_id") for row in reversed(ranked)]
    chart.add(LABELS.get(key, key), [_number(flatten(row).get(key)) for row in reversed(ranked)])
    return chart.render()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


CHARTABLE = tuple(key for key in LABELS if key not in ("unit_id", "unit_name", "year", "department", "person_id",
                                                        "technology_manager_id"))
