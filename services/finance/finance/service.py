"""Finance use cases: load → domain decides → save → outbox, in the caller's transaction."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import (
    ChallengeLanded,
    DealConcluded,
    EquityConverted,
    EquityTransferCompleted,
    ExitRecorded,
    HorizontalInvestmentRecorded,
    IncomeRecorded,
    LicenceGranted,
    RewardGranted,
    SubsidyGranted,
    TrancheDisbursed,
)
from finance import repository
from finance.domain import funds as fund_rules
from finance.domain.incentives import check_recipient
from finance.domain.investments import check_horizontal_investment
from finance.domain.subsidies import check_subsidy, settle_receivable, trigger_receivable
from finance.models import (
    INFRA,
    Fund,
    FundLedgerEntry,
    HorizontalInvestment,
    Income,
    InvestFirstProject,
    LandedChallenge,
    Receivable,
    Reward,
    RewardRecipient,
    Subsidy,
)
from finance.schemas import (
    Consent,
    ContributionCreate,
    ConversionCreate,
    ExitCreate,
    FundCreate,
    FundRead,
    HorizontalInvestmentCreate,
    HorizontalInvestmentRead,
    IncomeRead,
    LedgerEntryRead,
    Party,
    ProjectCreate,
    ProjectRead,
    ReceivableRead,
    RecipientRead,
    RewardCreate,
    RewardRead,
    SubsidyCreate,
    SubsidyRead,
    TrancheCreate,
    TriggerCreate,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.errors import NotFound, check_version
from servicekit.outbox import EventEmitter, new_id
from servicekit.pagination import Page, decode_cursor, page_of

if TYPE_CHECKING:
    from servicekit.app import Runtime

SOURCE = "finance"
UNIT_READERS = ("department", "platform_admin")
FUND_READERS = ("platform_admin", "platform_company", "department")


_emit = EventEmitter(SOURCE, INFRA)


def _after(cursor: str | None) -> str | None:
    key = decode_cursor(cursor)
    return None if key is None else str(key[0])


def _scoped_unit(actor: Principal, unit_id: str | None) -> str | None:
    """A unit_admin reads its own unit (by default, or when named); global readers may read all."""
    if unit_id is None and not actor.has(*UNIT_READERS, "service"):
        require_role(actor, "unit_admin")
        return actor.unit_id
    if unit_id is not None:
        ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return unit_id


# ---------------------------------------------------------------- income (FIN-1)


def income_read(income: Income) -> IncomeRead:
    return IncomeRead.model_validate(income, from_attributes=True)


async def record_income(
    session: AsyncSession,
    *,
    source: str,
    source_id: str,
    unit_id: str,
    achievement_id: str,
    amount: Decimal,
    kind: str | None,
    now: datetime,
) -> Income | None:
    """FIN-1: book the proceeds 100% to the unit, once per deal or licence however often we hear of it."""
    if await repository.get_income_by_source(session, source, source_id) is not None:
        return None
    income = Income(
        id=new_id(),
        unit_id=unit_id,
        source=source,
        source_id=source_id,
        transaction_id=source_id if source == "deal" else None,
        licence_id=source_id if source == "licence" else None,
        achievement_id=achievement_id,
        kind=kind,
        amount=amount,
        retained_by_unit=True,  # FIN-1: not remitted to the treasury
        recorded_at=now,
        version=1,
    )
    try:
        # The unique (source, source_id) is the last guard against a concurrent replica or a
        # replay under a new event id; a savepoint keeps the rest of the transaction usable.
        async with session.begin_nested():
            session.add(income)
            await session.flush()
    except IntegrityError:
        return None
    await _emit(
        session,
        "finance.income.recorded",
        income.id,
        IncomeRecorded(
            income_id=income.id,
            unit_id=unit_id,
            source=source,
            amount=amount,
            achievement_id=achievement_id,
            transaction_id=income.transaction_id,
            licence_id=income.licence_id,
            retained_by_unit=True,
        ),
        now,
    )
    return income


def _event_time(event: CloudEvent) -> datetime:
    """When the producer says it happened; an offset-less time is read as UTC rather than refused forever."""
    return event.time if event.time.tzinfo is not None else event.time.replace(tzinfo=UTC)


async def on_deal_concluded(session: AsyncSession, deal: DealConcluded, event: CloudEvent) -> None:
    """FIN-1: a concluded transfer, licence or investment deal is income of the unit (amount = price)."""
    await record_income(
        session,
        source="deal",
        source_id=deal.transaction_id,
        unit_id=deal.unit_id,
        achievement_id=deal.achievement_id,
        amount=deal.price,
        kind=deal.kind,
        now=_event_time(event),
    )


async def on_licence_granted(session: AsyncSession, licence: LicenceGranted, event: CloudEvent) -> None:
    """FIN-1: a pay-later licence's fee is income of the unit (amount = fee)."""
    await record_income(
        session,
        source="licence",
        source_id=licence.licence_id,
        unit_id=licence.unit_id,
        achievement_id=licence.achievement_id,
        amount=licence.fee,
        kind="license",
        now=_event_time(event),
    )


async def get_income(session: AsyncSession, *, actor: Principal, income_id: str) -> IncomeRead:
    """One income entry (its unit's unit_admin, department, platform_admin)."""
    income = await repository.get_income(session, income_id)
    if income is None:
        raise NotFound()
    ensure_unit_access(actor, income.unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return income_read(income)


async def list_incomes(
    session: AsyncSession, *, actor: Principal, unit_id: str | None, limit: int, cursor: str | None
) -> Page[IncomeRead]:
    """FIN-1: the unit's retained income, one entry per deal or licence."""
    unit_id = _scoped_unit(actor, unit_id)
    rows = await repository.list_incomes(session, unit_id=unit_id, after=_after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=income_read)


# ---------------------------------------------------------------- rewards (FIN-6, FIN-7)


def reward_read(reward: Reward, recipients: list[RewardRecipient]) -> RewardRead:
    return RewardRead(
        id=reward.id,
        unit_id=reward.unit_id,
        income_id=reward.income_id,
        recipients=[RecipientRead.model_validate(r, from_attributes=True) for r in recipients],
        granted_at=reward.granted_at,
        version=reward.version,
    )


async def grant_reward(session: AsyncSession, *, actor: Principal, data: RewardCreate, now: datetime) -> RewardRead:
    """FIN-6/7: the unit rewards its contributors; no equity for a principal leader, cash flagged for pay rules."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    if data.income_id is not None:
        income = await repository.get_income(session, data.income_id)
        if income is None or income.unit_id != data.unit_id:
            raise NotFound("no such income of this unit")
    reward = Reward(id=new_id(), unit_id=data.unit_id, income_id=data.income_id, granted_by=actor.sub, granted_at=now, version=1)
    session.add(reward)
    recipients = []
    for position, person in enumerate(data.recipients, start=1):
        flags = check_recipient(
            role=person.role,
            leader_rank=person.leader_rank,
            form=person.form,
            amount=person.amount,
            share_pct=person.share_pct,
        )
        recipient = RewardRecipient(
            reward_id=reward.id,
            position=position,
            person_id=person.person_id,
            name=person.name,
            role=person.role,
            leader_rank=person.leader_rank,
            form=person.form,
            amount=person.amount,
            share_pct=person.share_pct,
            # FIN-7: every cash reward record carries the three flags; share rewards carry none.
            counts_in_performance_pay_total=flags.counts_in_performance_pay_total if flags else None,
            in_next_year_base=flags.in_next_year_base if flags else None,
            in_social_insurance_base=flags.in_social_insurance_base if flags else None,
        )
        recipients.append(recipient)
    session.add_all(recipients)
    await session.flush()
    await _emit(
        session,
        "finance.reward.granted",
        reward.id,
        RewardGranted(reward_id=reward.id, unit_id=reward.unit_id, income_id=reward.income_id, recipient_count=len(recipients)),
        now,
    )
    return reward_read(reward, recipients)


async def get_reward(session: AsyncSession, *, actor: Principal, reward_id: str) -> RewardRead:
    """One reward with its recipients (its unit's unit_admin, department, platform_admin)."""
    reward = await repository.get_reward(session, reward_id)
    if reward is None:
        raise NotFound()
    ensure_unit_access(actor, reward.unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return reward_read(reward, await repository.list_recipients(session, reward_id))


# ---------------------------------------------------------------- funds (FIN-3, FIN-4, FIN-5)


def fund_read(fund: Fund) -> FundRead:
    return FundRead.model_validate(fund, from_attributes=True)


def _book(fund: Fund) -> fund_rules.FundBook:
    return fund_rules.FundBook(
        contributed=fund.contributed, disbursed=fund.disbursed, exit_proceeds=fund.exit_proceeds, balance=fund.balance
    )


async def _post(
    session: AsyncSession,
    fund: Fund,
    book: fund_rules.FundBook,
    *,
    kind: str,
    amount: Decimal,
    project_id: str | None,
    reference: str,
    now: datetime,
) -> None:
    """Append the movement to the fund's ledger and store the totals it leads to (fund row locked)."""
    session.add(
        FundLedgerEntry(
            fund_id=fund.id,
            seq=await repository.next_ledger_seq(session, fund.id),
            kind=kind,
            amount=amount,
            project_id=project_id,
            reference=reference,
            at=now,
        )
    )
    fund.contributed, fund.disbursed = book.contributed, book.disbursed
    fund.exit_proceeds, fund.balance = book.exit_proceeds, book.balance


async def create_fund(session: AsyncSession, *, actor: Principal, data: FundCreate, now: datetime) -> FundRead:
    """FIN-3: the platform admin sets up a fiscal S&T fund with its first contribution."""
    require_role(actor, "platform_admin")
    book = fund_rules.FundBook().contribute(data.contribution)
    fund = Fund(
        id=new_id(),
        name=data.name,
        contributed=fund_rules.ZERO,
        disbursed=fund_rules.ZERO,
        exit_proceeds=fund_rules.ZERO,
        balance=fund_rules.ZERO,
        created_at=now,
        version=1,
    )
    session.add(fund)
    await session.flush()
    await _post(session, fund, book, kind="contribution", amount=data.contribution, project_id=None, reference="initial", now=now)
    await session.flush()
    return fund_read(fund)


async def contribute(
    session: AsyncSession, *, actor: Principal, fund_id: str, data: ContributionCreate, expected_version: int | None, now: datetime
) -> FundRead:
    """FIN-5: more fiscal money paid into the fund."""
    require_role(actor, "platform_admin")
    fund = await repository.get_fund(session, fund_id, for_update=True)
    if fund is None:
        raise NotFound()
    check_version(fund.version, expected_version)
    book = _book(fund).contribute(data.amount)
    await _post(session, fund, book, kind="contribution", amount=data.amount, project_id=None, reference=data.source, now=now)
    await session.flush()
    return fund_read(fund)


async def get_fund(session: AsyncSession, *, actor: Principal, fund_id: str) -> FundRead:
    """A fund's balance, contributions, disbursements and exit proceeds."""
    require_role(actor, *FUND_READERS)
    fund = await repository.get_fund(session, fund_id)
    if fund is None:
        raise NotFound()
    return fund_read(fund)


async def get_fund_ledger(session: AsyncSession, *, actor: Principal, fund_id: str) -> Page[LedgerEntryRead]:
    """FIN-5: every movement of the fund, in order; the totals can be recomputed from it."""
    require_role(actor, *FUND_READERS)
    if await repository.get_fund(session, fund_id) is None:
        raise NotFound()
    entries = await repository.list_ledger(session, fund_id)
    return Page[LedgerEntryRead](items=[LedgerEntryRead.model_validate(e, from_attributes=True) for e in entries])


def project_read(project: InvestFirstProject) -> ProjectRead:
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
    book = _book(fund).disburse(data.amount)
    await _post(session, fund, book, kind="disbursement", amount=data.amount, project_id=project.id, reference=data.stage, now=now)
    project.disbursed += data.amount
    project.tranches = [*project.tranches, {"stage": data.stage, "amount": str(data.amount), "disbursed_at": now.isoformat()}]
    await session.flush()
    await _emit(
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
    await _emit(
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
    book = _book(fund).receive_exit(data.proceeds)
    await _post(session, fund, book, kind="exit", amount=data.proceeds, project_id=project.id, reference=f"{data.equity_pct}%", now=now)
    project.equity_pct = remaining
    project.exit_proceeds += data.proceeds
    project.state = "exited" if remaining == fund_rules.ZERO else "converted"
    project.exits = [
        *project.exits,
        {"equity_pct": str(data.equity_pct), "proceeds": str(data.proceeds), "exited_at": now.isoformat()},
    ]
    await session.flush()
    await _emit(
        session,
        "finance.exit.recorded",
        project.id,
        ExitRecorded(project_id=project.id, fund_id=fund.id, equity_pct=data.equity_pct, proceeds=data.proceeds),
        now,
    )
    return project_read(project)


# ---------------------------------------------------------------- horizontal investments (FIN-2)


def horizontal_read(investment: HorizontalInvestment) -> HorizontalInvestmentRead:
    return HorizontalInvestmentRead(
        id=investment.id,
        unit_id=investment.unit_id,
        project_reference=investment.project_reference,
        surplus_amount=investment.surplus_amount,
        cash_amount=investment.cash_amount,
        technology_valuation=investment.technology_valuation,
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
    """FIN-2: surplus horizontal funds invested with the unit's consent; the state equity is separately managed."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    state_equity_value = check_horizontal_investment(
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
        project_reference=data.project_reference,
        surplus_amount=data.surplus_amount,
        cash_amount=data.cash_amount,
        technology_valuation=data.technology_valuation,
        state_equity_value=state_equity_value,
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
    await _emit(
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
            state_equity_value=state_equity_value,
            project_reference=investment.project_reference,
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


# ---------------------------------------------------------------- subsidies (FIN-8)


async def on_challenge_landed(session: AsyncSession, landed: ChallengeLanded, event: CloudEvent) -> None:
    """FIN-8: remember a landed challenge, so it may receive a challenge award."""
    if await repository.get_landed_challenge(session, landed.challenge_id) is None:
        session.add(
            LandedChallenge(
                challenge_id=landed.challenge_id,
                landed_on=landed.landed_on,
                details=landed.model_dump(mode="json", exclude_unset=True),
            )
        )
        await session.flush()


async def _challenge_landed(runtime: "Runtime", challenge_id: str) -> bool:
    """FIN-8: landed per our copy of pricing's events, else per a fresh look at the challenge.

    Both before the write transaction begins: the copy is read in a read-only session.
    """
    async with runtime.read_sessions() as reads:
        if await repository.get_landed_challenge(reads, challenge_id) is not None:
            return True
    challenge = await runtime.lookup("pricing", f"/api/v1/challenges/{challenge_id}")
    return challenge is not None and challenge.get("state") == "landed"


def subsidy_read(subsidy: Subsidy) -> SubsidyRead:
    return SubsidyRead.model_validate(subsidy, from_attributes=True)


async def grant_subsidy(
    session: AsyncSession, *, actor: Principal, runtime: "Runtime", data: SubsidyCreate, now: datetime
) -> SubsidyRead:
    """FIN-8: a reward-type post-subsidy for a landed challenge, an excellent science park or incubator."""
    require_role(actor, "platform_admin")
    landed = None
    if data.kind == "challenge_award":
        landed = await _challenge_landed(runtime, data.basis_reference)
    check_subsidy(kind=data.kind, amount=data.amount, challenge_landed=landed)
    subsidy = Subsidy(
        id=new_id(),
        kind=data.kind,
        recipient=data.recipient.model_dump(),
        amount=data.amount,
        basis_reference=data.basis_reference,
        granted_by=actor.sub,
        granted_at=now,
        version=1,
    )
    session.add(subsidy)
    await session.flush()
    await _emit(
        session,
        "finance.subsidy.granted",
        subsidy.id,
        SubsidyGranted(subsidy_id=subsidy.id, kind=subsidy.kind, amount=subsidy.amount, basis_reference=subsidy.basis_reference),
        now,
    )
    return subsidy_read(subsidy)


async def list_subsidies(
    session: AsyncSession, *, actor: Principal, kind: str | None, limit: int, cursor: str | None
) -> Page[SubsidyRead]:
    """FIN-8: every post-subsidy granted (platform_admin, department)."""
    require_role(actor, *UNIT_READERS)
    rows = await repository.list_subsidies(session, kind=kind, after=_after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=subsidy_read)


async def get_subsidy(session: AsyncSession, *, actor: Principal, subsidy_id: str) -> SubsidyRead:
    """One post-subsidy (platform_admin, department)."""
    require_role(actor, *UNIT_READERS)
    subsidy = await repository.get_subsidy(session, subsidy_id)
    if subsidy is None:
        raise NotFound()
    return subsidy_read(subsidy)


# ---------------------------------------------------------------- receivables (FIN-9)


def receivable_read(receivable: Receivable) -> ReceivableRead:
    return ReceivableRead.model_validate(receivable, from_attributes=True)


async def on_equity_transfer_completed(
    session: AsyncSession, transfer: EquityTransferCompleted, event: CloudEvent
) -> None:
    """FIN-9: an agreed_return equity transfer opens a contingent receivable (once per transfer)."""
    if transfer.mode != "agreed_return":
        return
    if await repository.get_receivable_by_transfer(session, transfer.equity_transfer_id) is not None:
        return
    receivable = Receivable(
        id=new_id(),
        unit_id=transfer.unit_id,
        achievement_id=transfer.achievement_id,
        equity_transfer_id=transfer.equity_transfer_id,
        enterprise=transfer.enterprise,
        state="contingent",
        opened_at=_event_time(event),
        version=1,
    )
    try:
        async with session.begin_nested():
            session.add(receivable)
            await session.flush()
    except IntegrityError:
        return


async def list_receivables(
    session: AsyncSession, *, actor: Principal, unit_id: str | None, limit: int, cursor: str | None
) -> Page[ReceivableRead]:
    """FIN-9: the unit's agreed-return receivables."""
    unit_id = _scoped_unit(actor, unit_id)
    rows = await repository.list_receivables(session, unit_id=unit_id, after=_after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=receivable_read)


async def _own_receivable(session: AsyncSession, actor: Principal, receivable_id: str, expected_version: int | None) -> Receivable:
    require_role(actor, "unit_admin")
    receivable = await repository.get_receivable(session, receivable_id, for_update=True)
    if receivable is None:
        raise NotFound()
    ensure_unit_access(actor, receivable.unit_id, unit_roles=("unit_admin",))
    check_version(receivable.version, expected_version)
    return receivable


async def trigger_receivable_due(
    session: AsyncSession, *, actor: Principal, receivable_id: str, data: TriggerCreate, expected_version: int | None, now: datetime
) -> ReceivableRead:
    """FIN-9: the enterprise listed or the equity was transferred: the agreed return falls due."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    receivable.state = trigger_receivable(state=receivable.state, event=data.event, amount=data.amount)
    receivable.trigger_event = data.event
    receivable.amount = data.amount
    receivable.due_at = now
    await session.flush()
    return receivable_read(receivable)


async def settle(
    session: AsyncSession, *, actor: Principal, receivable_id: str, expected_version: int | None, now: datetime
) -> ReceivableRead:
    """FIN-9: the agreed return was received by the unit."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    receivable.state = settle_receivable(state=receivable.state)
    receivable.settled_at = now
    await session.flush()
    return receivable_read(receivable)
