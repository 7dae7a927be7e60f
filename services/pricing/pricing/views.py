"""Read models of pricing's aggregates, as of `now` (a due time-driven transition shows before it is saved)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pricing.domain import challenges as challenge_rules
from pricing.domain.closing import Closing
from pricing.models import Auction, Challenge, Listing, Notice, Transaction
from pricing.schemas import AuctionRead, ChallengeRead, DealRead, ListingRead, NoticeRead, TransactionRead

AT_CONCLUSION = {"mode": "at_conclusion", "due_on": None, "conditions": None}


def transaction_read(
    tx: Transaction,
    notice: Notice | None,
    listing: Listing | None,
    auction: Auction | None,
    *,
    preview: Closing | None = None,
    preview_deal: dict | None = None,
) -> TransactionRead:
    """The transaction; with `preview`, as the due closing leaves it (a read never saves it)."""
    deal = preview_deal or tx.deal
    state = preview.state.value if preview else tx.state
    return TransactionRead(
        id=tx.id,
        unit_id=tx.unit_id,
        achievement_id=tx.achievement_id,
        achievement_title=tx.achievement_title,
        kind=tx.kind,
        method=tx.method,
        state=state,
        counterparty=tx.counterparty,
        price=(deal and Decimal(deal["price"])) or (listing.price if listing else tx.proposed_price),
        appraisal=tx.appraisal,
        licence=tx.licence,
        payment=tx.payment or AT_CONCLUSION,
        technology_manager_ids=tx.technology_manager_ids or [],
        notice_id=notice.id if notice else None,
        listing_id=listing.id if listing else None,
        auction_id=auction.id if auction else None,
        deal=DealRead.model_validate(deal) if deal else None,
        created_at=tx.created_at,
        version=tx.version,
    )


def notice_read(notice: Notice, now: datetime) -> NoticeRead:
    """A public notice; one past its end reads as clear or objected before the sweeper saves it (PRC-4/5)."""
    read = NoticeRead.model_validate(notice, from_attributes=True)
    if notice.state == "active" and now >= notice.ends_at:
        read.state = "objected" if notice.objection_count else "clear"
    return read


def listing_read(listing: Listing, now: datetime) -> ListingRead:
    """A public listing; one past its close without a delisting reads as expired (PRC-6)."""
    read = ListingRead.model_validate(listing, from_attributes=True)
    if listing.state == "open" and now >= listing.closes_at:
        read.state = "expired"
    return read


def auction_read(auction: Auction) -> AuctionRead:
    """A public auction (without its bids)."""
    return AuctionRead.model_validate(auction, from_attributes=True)


def challenge_read(challenge: Challenge, today: date) -> ChallengeRead:
    """A public challenge; an open one whose closing day has passed reads as closed (PRC-10)."""
    read = ChallengeRead.model_validate(challenge, from_attributes=True)
    read.state = challenge_rules.effective_state(challenge.state, challenge.closes_on, today).value
    return read

