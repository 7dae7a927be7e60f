"""Financial support for transformation (FIN-11): products, uptakes, risk-compensation pools and claims."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import RiskCompensationPaid
from finance import repository
from finance.domain.support import ZERO, PoolBook, check_ratio, check_uptake
from finance.models import (
    Claim,
    FinancialProduct,
    PoolLedgerEntry,
    RiskCompensationPool,
    Uptake,
)
from finance.schemas import (
    ClaimCreate,
    ClaimRead,
    PoolContributionCreate,
    PoolCreate,
    PoolRead,
    ProductCreate,
    ProductRead,
    UptakeCreate,
    UptakeRead,
)
from finance.service.common import after, emit_event
from servicekit.auth import Principal, require_role
from servicekit.errors import InvalidState, NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, page_of

INSTITUTION = "financial_institution"
POOL_READERS = ("platform_admin", "department", INSTITUTION)


def product_read(product: FinancialProduct) -> ProductRead:
    """The API shape of a financial product."""
    return ProductRead.model_validate(product, from_attributes=True)


def pool_read(pool: RiskCompensationPool) -> PoolRead:
    """The API shape of a risk-compensation pool."""
    return PoolRead.model_validate(pool, from_attributes=True)


async def register_product(session: AsyncSession, *, actor: Principal, data: ProductCreate, now: datetime) -> ProductRead:
    """FIN-11: a financial institution registers a support product for transformation (M 九)."""
    require_role(actor, INSTITUTION)
    product = FinancialProduct(
        id=new_id(), kind=data.kind, name=data.name, provider=data.provider.model_dump(), terms=data.terms,
        registered_by=actor.sub, created_at=now, version=1,
    )
    session.add(product)
    await session.flush()
    return product_read(product)


async def list_products(session: AsyncSession, *, kind: str | None, limit: int, cursor: str | None) -> Page[ProductRead]:
    """FIN-11: the support products on offer (public)."""
    rows = await repository.list_products(session, kind=kind, after=after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=product_read)


async def get_product(session: AsyncSession, *, product_id: str) -> ProductRead:
    """One support product (public)."""
    product = await repository.get_product(session, product_id)
    if product is None:
        raise NotFound()
    return product_read(product)


async def record_uptake(
    session: AsyncSession, *, actor: Principal, product_id: str, data: UptakeCreate, now: datetime
) -> UptakeRead:
    """FIN-11: an enterprise takes up a product for a concluded deal (finance's copy of the deal)."""
    require_role(actor, INSTITUTION)
    product = await repository.get_product(session, product_id)
    if product is None:
        raise NotFound()
    deal = await repository.get_concluded_deal(session, data.transaction_id)
    check_uptake(amount=data.amount, deal_concluded=deal is not None)
    uptake = Uptake(
        id=new_id(), product_id=product.id, product_kind=product.kind, enterprise=data.enterprise.model_dump(),
        transaction_id=data.transaction_id, amount=data.amount, start_on=data.start_on, recorded_by=actor.sub,
        created_at=now, version=1,
    )
    session.add(uptake)
    await session.flush()
    return UptakeRead.model_validate(uptake, from_attributes=True)


async def get_uptake(session: AsyncSession, *, actor: Principal, product_id: str, uptake_id: str) -> UptakeRead:
    """One uptake of a product (financial institutions, platform_admin, department)."""
    require_role(actor, *POOL_READERS)
    uptake = await repository.get_uptake(session, uptake_id)
    if uptake is None or uptake.product_id != product_id:
        raise NotFound()
    return UptakeRead.model_validate(uptake, from_attributes=True)


def _book(pool: RiskCompensationPool) -> PoolBook:
    return PoolBook(ratio_pct=pool.ratio_pct, contributed=pool.contributed, compensated=pool.compensated, balance=pool.balance)


async def _post(
    session: AsyncSession, pool: RiskCompensationPool, book: PoolBook, *, kind: str, amount: object, reference: str, now: datetime
) -> None:
    """Append the movement to the pool's ledger and store the totals it leads to (pool row locked)."""
    session.add(
        PoolLedgerEntry(
            pool_id=pool.id, seq=await repository.next_pool_ledger_seq(session, pool.id), kind=kind,
            amount=amount, reference=reference, at=now,
        )
    )
    pool.contributed, pool.compensated, pool.balance = book.contributed, book.compensated, book.balance


async def create_pool(session: AsyncSession, *, actor: Principal, data: PoolCreate, now: datetime) -> PoolRead:
    """FIN-11: the platform admin sets up a risk-compensation pool with its ratio and first contribution."""
    require_role(actor, "platform_admin")
    check_ratio(data.ratio_pct)
    book = PoolBook(ratio_pct=data.ratio_pct).contribute(data.contribution)
    pool = RiskCompensationPool(
        id=new_id(), name=data.name, ratio_pct=data.ratio_pct, contributed=ZERO, compensated=ZERO, balance=ZERO,
        created_at=now, version=1,
    )
    session.add(pool)
    await session.flush()
    await _post(session, pool, book, kind="contribution", amount=data.contribution, reference="initial", now=now)
    await session.flush()
    return pool_read(pool)


async def contribute_to_pool(
    session: AsyncSession, *, actor: Principal, pool_id: str, data: PoolContributionCreate, expected_version: int | None,
    now: datetime,
) -> PoolRead:
    """FIN-11: more money paid into the pool."""
    require_role(actor, "platform_admin")
    pool = await repository.get_pool(session, pool_id, for_update=True)
    if pool is None:
        raise NotFound()
    check_version(pool.version, expected_version)
    await _post(session, pool, _book(pool).contribute(data.amount), kind="contribution", amount=data.amount, reference=data.source, now=now)
    await session.flush()
    return pool_read(pool)


async def get_pool(session: AsyncSession, *, actor: Principal, pool_id: str) -> PoolRead:
    """A pool's balance, contributions and compensation paid (contributed = compensated + balance)."""
    require_role(actor, *POOL_READERS)
    pool = await repository.get_pool(session, pool_id)
    if pool is None:
        raise NotFound()
    return pool_read(pool)


async def claim_compensation(
    session: AsyncSession, *, actor: Principal, pool_id: str, data: ClaimCreate, now: datetime
) -> ClaimRead:
    """FIN-11: compensate a recorded loss on a loan or insurance uptake: min(loss × ratio, balance), once per uptake."""
    require_role(actor, INSTITUTION)
    pool = await repository.get_pool(session, pool_id, for_update=True)  # claims on one pool queue here
    if pool is None:
        raise NotFound()
    uptake = await repository.get_uptake(session, data.uptake_id)
    if uptake is None:
        raise NotFound("no such uptake")
    already = await repository.get_claim_for_uptake(session, uptake.id) is not None
    book, compensation = _book(pool).compensate(product_kind=uptake.product_kind, loss_amount=data.loss_amount, already_claimed=already)
    claim = Claim(
        id=new_id(), pool_id=pool.id, uptake_id=uptake.id, loss_amount=data.loss_amount, compensation=compensation,
        reference=data.reference, claimed_by=actor.sub, created_at=now, version=1,
    )
    try:
        # The unique uptake decides between concurrent claims on one uptake through different pools.
        async with session.begin_nested():
            session.add(claim)
            await session.flush()
    except IntegrityError as exc:
        raise InvalidState("this uptake's loss has already been claimed", rule="FIN-11") from exc
    await _post(session, pool, book, kind="compensation", amount=compensation, reference=data.reference, now=now)
    await session.flush()
    await emit_event(
        session,
        "finance.risk_compensation.paid",
        claim.id,
        RiskCompensationPaid(
            claim_id=claim.id, pool_id=pool.id, uptake_id=uptake.id, compensation=compensation, loss_amount=data.loss_amount
        ),
        now,
    )
    return ClaimRead.model_validate(claim, from_attributes=True)
