"""Rewards to the people behind a transformation (FIN-6, FIN-7)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import RewardGranted
from finance import repository
from finance.domain.incentives import check_recipient, completer_ids_of, recipient_basis
from finance.models import Reward, RewardRecipient
from finance.schemas import RecipientRead, RewardCreate, RewardRead
from finance.service.common import UNIT_READERS, emit_event
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.errors import InvalidInput, NotFound
from servicekit.outbox import new_id


def reward_read(reward: Reward, recipients: list[RewardRecipient]) -> RewardRead:
    """The API shape of a reward with its recipients."""
    return RewardRead(
        id=reward.id,
        unit_id=reward.unit_id,
        income_id=reward.income_id,
        achievement_id=reward.achievement_id,
        recipients=[RecipientRead.model_validate(r, from_attributes=True) for r in recipients],
        granted_at=reward.granted_at,
        version=reward.version,
    )


async def _achievement_of(session: AsyncSession, data: RewardCreate) -> str | None:
    """The achievement the reward is for: the income's, or the one named (they must agree)."""
    achievement_id = data.achievement_id
    if data.income_id is not None:
        income = await repository.get_income(session, data.income_id)
        if income is None or income.unit_id != data.unit_id:
            raise NotFound("no such income of this unit")
        if achievement_id is not None and achievement_id != income.achievement_id:
            raise InvalidInput("achievement_id is not the achievement of the income")
        achievement_id = income.achievement_id
    return achievement_id


async def grant_reward(session: AsyncSession, *, actor: Principal, data: RewardCreate, now: datetime) -> RewardRead:
    """FIN-6/7: reward the achievement's completers or recorded contributors; no equity for a principal leader."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    achievement_id = await _achievement_of(session, data)
    completer_ids = None
    if achievement_id is not None:
        known = await repository.get_known_achievement(session, achievement_id)
        if known is not None and known.unit_id != data.unit_id:
            raise NotFound("no such achievement of this unit")
        completer_ids = completer_ids_of(known.completers) if known is not None else None
    reward = Reward(
        id=new_id(), unit_id=data.unit_id, income_id=data.income_id, achievement_id=achievement_id,
        granted_by=actor.sub, granted_at=now, version=1,
    )
    recipients = []
    for position, person in enumerate(data.recipients, start=1):
        flags = check_recipient(
            role=person.role, leader_rank=person.leader_rank, form=person.form, amount=person.amount, share_pct=person.share_pct
        )
        basis = recipient_basis(person_id=person.person_id, completer_ids=completer_ids, contribution_note=person.contribution_note)
        recipients.append(
            RewardRecipient(
                reward_id=reward.id,
                position=position,
                person_id=person.person_id,
                name=person.name,
                role=person.role,
                leader_rank=person.leader_rank,
                form=person.form,
                amount=person.amount,
                share_pct=person.share_pct,
                basis=basis,
                contribution_note=(person.contribution_note or "").strip() or None,
                # FIN-7: every cash reward record carries the three flags; share rewards carry none.
                counts_in_performance_pay_total=flags.counts_in_performance_pay_total if flags else None,
                in_next_year_base=flags.in_next_year_base if flags else None,
                in_social_insurance_base=flags.in_social_insurance_base if flags else None,
            )
        )
    session.add(reward)
    session.add_all(recipients)
    await session.flush()
    await emit_event(
        session,
        "finance.reward.granted",
        reward.id,
        RewardGranted(
            reward_id=reward.id,
            unit_id=reward.unit_id,
            income_id=reward.income_id,
            recipient_count=len(recipients),
            achievement_id=achievement_id,
            recipients=[
                {"person_id": r.person_id, "role": r.role, "form": r.form, "basis": r.basis,
                 "amount": str(r.amount) if r.amount is not None else None,
                 "share_pct": str(r.share_pct) if r.share_pct is not None else None}
                for r in recipients
            ],
        ),
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
