"""Horizontal-project surplus funds invested in a transformation (FIN-2)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import HorizontalInvestmentRecorded
from finance import repository
from finance.domain.investments import HUNDRED, check_horizontal_investment
from finance.models import HorizontalInvestment
from finance.schemas import (
    Consent,
    HorizontalInvestmentCreate,
    HorizontalInvestmentRead,
    Party,
)
from finance.service.common import UNIT_READERS, emit_event
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.errors import NotFound
from servicekit.outbox import new_id


def horizontal_read(investment: HorizontalInvestment) -> HorizontalInvestmentRead:
    """The API shape of a horizontal-fund investment."""
    stake = investment.technology_valuation + investment.cash_amount
    return HorizontalInvestmentRead(
        id=investment.id,
        unit_id=investment.unit_id,
        achievement_id=investment.achievement_id,
        project_reference=investment.project_reference,
        surplus_amount=investment.surplus_amount,
        cash_amount=investment.cash_amount,
        technology_valuation=investment.technology_valuation,
        stake_value=stake,
        unit_share_pct=HUNDRED - investment.researcher_share_pct,
        state_equity_value=investment.state_equity_value,
        enterprise=Party.model_validate(investment.enterprise),
        researcher_share_pct=investment.researcher_share_pct,
        exception_reason=investment.exception_reason,
        unit_consent=Consent(by=investment.consent_by, on=investment.consent_on),
        recorded_at=investment.recorded_at,
        version=investment.version,
    )


async def record_horizontal_investment(
    session: AsyncSession, *, actor: Principal, data: HorizontalInvestmentCreate, now: datetime
) -> HorizontalInvestmentRead:
    """FIN-2: surplus horizontal funds invested in an achievement with the unit's consent; the unit's
    part of the stake is state equity for the separate ledger, and the achievement counts as transformed."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    known = await repository.get_known_achievement(session, data.achievement_id)
    if known is not None and known.unit_id != data.unit_id:
        raise NotFound("no such achievement of this unit")
    stake = check_horizontal_investment(
        surplus_amount=data.surplus_amount,
        cash_amount=data.cash_amount,
        technology_valuation=data.technology_valuation,
        researcher_share_pct=data.researcher_share_pct,
        exception_reason=data.exception_reason,
        has_unit_consent=data.unit_consent is not None,
    )
    consent = data.unit_consent
    assert consent is not None  # checked by FIN-2 above
    investment = HorizontalInvestment(
        id=new_id(),
        unit_id=data.unit_id,
        achievement_id=data.achievement_id,
        project_reference=data.project_reference,
        surplus_amount=data.surplus_amount,
        cash_amount=data.cash_amount,
        technology_valuation=data.technology_valuation,
        state_equity_value=stake.state_equity_value,
        enterprise=data.enterprise.model_dump(),
        researcher_share_pct=data.researcher_share_pct,
        exception_reason=(data.exception_reason or "").strip() or None,
        consent_by=consent.by,
        consent_on=consent.on,
        recorded_at=now,
        version=1,
    )
    session.add(investment)
    await session.flush()
    await emit_event(
        session,
        "finance.horizontal_investment.recorded",
        investment.id,
        HorizontalInvestmentRecorded(
            investment_id=investment.id,
            unit_id=investment.unit_id,
            enterprise=investment.enterprise,
            technology_valuation=investment.technology_valuation,
            cash_amount=investment.cash_amount,
            researcher_share_pct=investment.researcher_share_pct,
            state_equity_value=stake.state_equity_value,
            project_reference=investment.project_reference,
            achievement_id=investment.achievement_id,
        ),
        now,
    )
    return horizontal_read(investment)


async def get_horizontal_investment(session: AsyncSession, *, actor: Principal, investment_id: str) -> HorizontalInvestmentRead:
    """One horizontal-fund investment (its unit's unit_admin, department, platform_admin)."""
    investment = await repository.get_horizontal_investment(session, investment_id)
    if investment is None:
        raise NotFound()
    ensure_unit_access(actor, investment.unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return horizontal_read(investment)
