"""Two-way challenge lists (双向揭榜挂帅, PRC-10): publish, search, respond until the closing day, award once,
land once; the awarded and landed events name the enterprise entitled to the subsidy. Load → decide → save → outbox."""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import ChallengeAwarded, ChallengeLanded
from pricing import clients, deals, repository
from pricing.domain import challenges as rules
from pricing.models import Challenge, ChallengeResponse
from pricing.schemas import (
    AwardCreate,
    ChallengeCreate,
    ChallengeRead,
    ChallengeResponseCreate,
    ChallengeResponseRead,
    LandingCreate,
)
from pricing.views import challenge_read
from servicekit.auth import Principal, require_role
from servicekit.clock import shanghai_day
from servicekit.errors import InvalidInput, NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of

if TYPE_CHECKING:
    from servicekit.app import Runtime

MAX_TERMS = 8
_SEPARATORS = re.compile(r"[\s%_\\]+")  # whitespace, and LIKE's wildcards, which a search term never needs


def search_terms(q: str | None) -> list[str]:
    """PRC-10 `q`: the words to find, each in the title or description (all of them)."""
    terms = [term for term in _SEPARATORS.split(q or "") if term]
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"q may hold at most {MAX_TERMS} words")
    return terms


async def publish_challenge(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, data: ChallengeCreate, now: datetime
) -> ChallengeRead:
    """PRC-10: an enterprise seeks technology, or a unit offers an achievement seeking a market."""
    require_role(actor, rules.publisher_role(data.direction))
    rules.check_market_wanted_achievement(data.direction, data.achievement_id)
    rules.check_listing_terms(data.field, data.region, data.closes_on, shanghai_day(now))
    unit_id = None
    if data.direction == "market_wanted":
        holding = await clients.holding(runtime, str(data.achievement_id))  # before the write transaction
        if holding.unit_id != actor.unit_id:
            raise NotFound("no such achievement")
        unit_id = actor.unit_id
    elif data.achievement_id is not None:
        raise InvalidInput("achievement_id belongs to market_wanted challenges")
    challenge = Challenge(
        id=new_id(), direction=data.direction, title=data.title, description=data.description,
        publisher=data.publisher.model_dump(mode="json"), publisher_sub=actor.sub, unit_id=unit_id,
        achievement_id=data.achievement_id, budget=data.budget, field=data.field, region=data.region,
        closes_on=data.closes_on, state=rules.ChallengeState.OPEN.value, awarded_response_id=None, landed_on=None,
        landing_evidence=None, created_at=now, version=1,
    )
    session.add(challenge)
    await session.flush()
    return challenge_read(challenge, shanghai_day(now))


async def get_challenge(session: AsyncSession, *, challenge_id: str, now: datetime) -> ChallengeRead:
    """A public challenge with its state."""
    challenge = await repository.get_challenge(session, challenge_id)
    if challenge is None:
        raise NotFound()
    return challenge_read(challenge, shanghai_day(now))


async def list_challenges(
    session: AsyncSession, *, direction: str | None, field: str | None, region: str | None, state: str | None,
    q: str | None, limit: int, cursor: str | None, now: datetime,
) -> Page[ChallengeRead]:
    """The public two-way challenge lists (PRC-10), filtered and searched (`q`, Chinese included)."""
    after = decode_cursor(cursor)
    today = shanghai_day(now)
    rows = await repository.list_challenges(session, direction=direction, state=state, field=field, region=region,
                                            terms=search_terms(q), today=today,
                                            after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=lambda row: challenge_read(row, today))


async def respond_to_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: ChallengeResponseCreate, now: datetime
) -> ChallengeResponseRead:
    """PRC-10: an enterprise, unit or researcher takes up a challenge (揭榜) through the end of its closing day."""
    require_role(actor, *rules.RESPONDER_ROLES)
    challenge = await repository.get_challenge(session, challenge_id, for_update=True)
    if challenge is None:
        raise NotFound()
    rules.check_open_for_responses(challenge.state, challenge.closes_on, shanghai_day(now))
    response = ChallengeResponse(id=new_id(), challenge_id=challenge.id, responder=data.responder.model_dump(mode="json"),
                                 proposal=data.proposal, responded_by=actor.sub, created_at=now)
    session.add(response)
    await session.flush()
    return ChallengeResponseRead.model_validate(response, from_attributes=True)


async def list_challenge_responses(session: AsyncSession, *, actor: Principal, challenge_id: str) -> Page[ChallengeResponseRead]:
    """The responses to a challenge, for its publisher (or platform_admin) to choose from."""
    challenge = await repository.get_challenge(session, challenge_id)
    if challenge is None:
        raise NotFound()
    rules.check_may_decide(caller_sub=actor.sub, publisher_sub=challenge.publisher_sub,
                           is_platform_admin=actor.has("platform_admin"))
    rows = await repository.list_challenge_responses(session, challenge_id)
    return Page[ChallengeResponseRead](items=[ChallengeResponseRead.model_validate(r, from_attributes=True) for r in rows])


async def _decidable(session: AsyncSession, actor: Principal, challenge_id: str) -> Challenge:
    challenge = await repository.get_challenge(session, challenge_id, for_update=True)
    if challenge is None:
        raise NotFound()
    rules.check_may_decide(caller_sub=actor.sub, publisher_sub=challenge.publisher_sub,
                           is_platform_admin=actor.has("platform_admin"))
    return challenge


async def award_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: AwardCreate, expected_version: int | None, now: datetime
) -> ChallengeRead:
    """PRC-10: the publisher awards the challenge, once, to one response."""
    challenge = await _decidable(session, actor, challenge_id)
    check_version(challenge.version, expected_version)
    response = await repository.get_challenge_response(session, data.response_id)
    if response is None or response.challenge_id != challenge.id:
        raise NotFound("no such response to this challenge")
    challenge.state = rules.award(challenge.state).value
    challenge.awarded_response_id = response.id
    await session.flush()
    await deals.emit_event(session, "pricing.challenge.awarded", challenge.id, ChallengeAwarded(
        challenge_id=challenge.id, response_id=response.id, publisher=challenge.publisher, responder=response.responder,
        direction=challenge.direction,
        enterprise=rules.entitled_enterprise(challenge.direction, challenge.publisher, response.responder)), now)
    return challenge_read(challenge, shanghai_day(now))


async def land_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: LandingCreate, expected_version: int | None, now: datetime
) -> ChallengeRead:
    """PRC-10: the awarded challenge has landed — the basis of its enterprise's one post-subsidy (FIN-8)."""
    challenge = await _decidable(session, actor, challenge_id)
    check_version(challenge.version, expected_version)
    challenge.state = rules.land(challenge.state).value
    challenge.landed_on = data.landed_on
    challenge.landing_evidence = data.evidence
    response = await repository.get_challenge_response(session, str(challenge.awarded_response_id))
    await session.flush()
    responder = response.responder if response else None
    await deals.emit_event(session, "pricing.challenge.landed", challenge.id, ChallengeLanded(
        challenge_id=challenge.id, landed_on=data.landed_on.isoformat(), publisher=_organisation(challenge.publisher),
        awarded_response_id=challenge.awarded_response_id, responder=_organisation(responder) if responder else None,
        direction=challenge.direction, enterprise=rules.entitled_enterprise(challenge.direction, challenge.publisher, responder),
    ), now)
    return challenge_read(challenge, shanghai_day(now))


def _organisation(party: dict) -> dict:
    return {"name": party.get("name"), "credit_code": party.get("credit_code")}
