"""Invest first, equity later (先投后股): projects, tranches, conversion and exits (FIN-3, FIN-4, FIN-5)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import EquityConverted, ExitRecorded, TrancheDisbursed
from finance import repository
from finance.domain import funds as fund_rules
from finance.models import Fund, InvestFirstProject
from finance.schemas import (
    ConversionCreate,
    ExitCreate,
    ProjectCreate,
    ProjectRead,
    TrancheCreate,
)
from finance.service.common import FUND_READERS, emit_event
from finance.service.funds import book_of, post
from servicekit.auth import Principal, require_role
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id


def project_read(project: InvestFirstProject) -> ProjectRead:
    """The API shape of an invest-first project."""
    return ProjectRead.model_validate(project, from_attributes=True)


async def create_project(session: AsyncSession, *, actor: Principal, data: ProjectCreate, now: datetime) -> ProjectRead:
    """FIN-3: the state platform company opens an invest-first project financed by a fund."""
    require_role(actor, "platform_company")
    if await repository.get_fund(session, data.fund_id) is None:
        raise NotFound("no such fund")
    project = InvestFirstProject(
        id=new_id(),
        fund_id=data.fund_id,
        enterprise=data.enterprise.model_dump(),
        achievement_id=data.achievement_id,
        state="investing",
        disbursed=fund_rules.ZERO,
        exit_proceeds=fund_rules.ZERO,
        tranches=[],
        conversion=None,
        equity_pct=None,
        exits=[],
        created_at=now,
        version=1,
    )
    session.add(project)
    await session.flush()
    return project_read(project)


async def get_project(session: AsyncSession, *, actor: Principal, project_id: str) -> ProjectRead:
    """An invest-first project with its tranches, conversion and exits."""
    require_role(actor, *FUND_READERS)
    project = await repository.get_project(session, project_id)
    if project is None:
        raise NotFound()
    return project_read(project)


async def _locked_project_and_fund(
    session: AsyncSession, project_id: str, expected_version: int | None
) -> tuple[InvestFirstProject, Fund]:
    """Lock the project, then its fund (always in this order, so two requests never deadlock)."""
    project = await repository.get_project(session, project_id, for_update=True)
    if project is None:
        raise NotFound()
    check_version(project.version, expected_version)
    fund = await repository.get_fund(session, project.fund_id, for_update=True)
    if fund is None:  # pragma: no cover - the foreign key keeps the fund
        raise NotFound("no such fund")
    return project, fund


async def disburse_tranche(
    session: AsyncSession, *, actor: Principal, project_id: str, data: TrancheCreate, expected_version: int | None, now: datetime
) -> ProjectRead:
    """FIN-3: pay a stage's project funding out of the fund, never beyond its balance (fund row locked)."""
    require_role(actor, "platform_company")
    project, fund = await _locked_project_and_fund(session, project_id, expected_version)
    fund_rules.check_tranche_allowed(project.state)
    fund_rules.check_stage(data.stage)
    book = book_of(fund).disburse(data.amount)
    await post(session, fund, book, kind="disbursement", amount=data.amount, project_id=project.id, reference=data.stage, now=now)
    project.disbursed += data.amount
    project.tranches = [*project.tranches, {"stage": data.stage, "amount": str(data.amount), "disbursed_at": now.isoformat()}]
    await session.flush()
    await emit_event(
        session,
        "finance.tranche.disbursed",
        project.id,
        TrancheDisbursed(project_id=project.id, fund_id=fund.id, stage=data.stage, amount=data.amount),
        now,
    )
    return project_read(project)


async def convert_to_equity(
    session: AsyncSession, *, actor: Principal, project_id: str, data: ConversionCreate, expected_version: int | None, now: datetime
) -> ProjectRead:
    """FIN-4: after market financing or a stable stage, the invested amount becomes a stake at the round's valuation."""
    require_role(actor, "platform_company")
    project = await repository.get_project(session, project_id, for_update=True)
    if project is None:
        raise NotFound()
    check_version(project.version, expected_version)
    project.equity_pct = fund_rules.convert(
        state=project.state,
        disbursed=project.disbursed,
        trigger=data.trigger,
        post_money_valuation=data.post_money_valuation,
    )
    project.state = "converted"
    project.conversion = {
        "trigger": data.trigger,
        "round_reference": data.round_reference,
        "post_money_valuation": str(data.post_money_valuation),
        "converted_at": now.isoformat(),
    }
    await session.flush()
    await emit_event(
        session,
        "finance.equity.converted",
        project.id,
        EquityConverted(project_id=project.id, fund_id=project.fund_id, equity_pct=project.equity_pct),
        now,
    )
    return project_read(project)


async def record_exit(
    session: AsyncSession, *, actor: Principal, project_id: str, data: ExitCreate, expected_version: int | None, now: datetime
) -> ProjectRead:
    """FIN-5: exit part of the stake; the proceeds flow back into the fund's balance."""
    require_role(actor, "platform_company")
    project, fund = await _locked_project_and_fund(session, project_id, expected_version)
    remaining = fund_rules.exit_equity(
        state=project.state, held_pct=project.equity_pct or fund_rules.ZERO, exit_pct=data.equity_pct, proceeds=data.proceeds
    )
    book = book_of(fund).receive_exit(data.proceeds)
    await post(session, fund, book, kind="exit", amount=data.proceeds, project_id=project.id, reference=f"{data.equity_pct}%", now=now)
    project.equity_pct = remaining
    project.exit_proceeds += data.proceeds
    project.state = "exited" if remaining == fund_rules.ZERO else "converted"
    project.exits = [
        *project.exits,
        {"equity_pct": str(data.equity_pct), "proceeds": str(data.proceeds), "exited_at": now.isoformat()},
    ]
    await session.flush()
    await emit_event(
        session,
        "finance.exit.recorded",
        project.id,
        ExitRecorded(project_id=project.id, fund_id=fund.id, equity_pct=data.equity_pct, proceeds=data.proceeds),
        now,
    )
    return project_read(project)
