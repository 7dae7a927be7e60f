"""Finance's local copies of other services' facts, kept from their events (no remote call in a request).

FIN-6 needs an achievement's completers, FIN-8 a landed challenge's enterprise and an institution's
annual rating: each is stored here as announced, so a decision never depends on another service
answering (nor on a URL built from user input).
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import (
    AchievementCorrected,
    AchievementRegistered,
    ChallengeLanded,
    InstitutionEvaluated,
)
from finance import repository
from finance.models import InstitutionEvaluation, KnownAchievement, LandedChallenge
from finance.service.common import event_time


async def _insert_once(session: AsyncSession, row: object) -> None:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        pass  # another replica or a replay stored it first


async def on_achievement_registered(session: AsyncSession, achievement: AchievementRegistered, event: CloudEvent) -> None:
    """FIN-6: remember a new achievement's completers (version 1)."""
    if "completers" not in event.data:
        return  # a producer that does not say who completed it tells FIN-6 nothing
    if await repository.get_known_achievement(session, achievement.achievement_id) is not None:
        return
    await _insert_once(
        session,
        KnownAchievement(
            achievement_id=achievement.achievement_id, unit_id=achievement.unit_id,
            completers=achievement.completers, version=1, updated_at=event_time(event),
        ),
    )


async def on_achievement_corrected(session: AsyncSession, correction: AchievementCorrected, event: CloudEvent) -> None:
    """FIN-6, OWN-17: a correction of the completers replaces them, unless a newer version is already here."""
    if correction.completers is None:
        return
    version = correction.version or 0
    known = await repository.get_known_achievement(session, correction.achievement_id, for_update=True)
    if known is None:
        await _insert_once(
            session,
            KnownAchievement(
                achievement_id=correction.achievement_id, unit_id=correction.unit_id,
                completers=correction.completers, version=version, updated_at=event_time(event),
            ),
        )
    elif version == 0 or version > known.version:
        known.completers, known.version, known.updated_at = correction.completers, max(version, known.version), event_time(event)
        await session.flush()


async def on_challenge_landed(session: AsyncSession, landed: ChallengeLanded, event: CloudEvent) -> None:
    """FIN-8: remember a landed challenge and its enterprise, so it may receive its one award."""
    if await repository.get_landed_challenge(session, landed.challenge_id) is None:
        await _insert_once(session, LandedChallenge(challenge_id=landed.challenge_id, landed_on=landed.landed_on, details=event.data))


async def on_institution_evaluated(session: AsyncSession, evaluation: InstitutionEvaluated, event: CloudEvent) -> None:
    """FIN-8, ORG-1: remember an institution's rating for the year (one per institution and year)."""
    if await repository.get_evaluation(session, evaluation.institution_id, evaluation.year) is not None:
        return
    await _insert_once(
        session,
        InstitutionEvaluation(
            evaluation_id=evaluation.evaluation_id, institution_id=evaluation.institution_id, kind=evaluation.kind,
            level=evaluation.level, year=evaluation.year, rating=evaluation.rating, received_at=event_time(event),
        ),
    )
