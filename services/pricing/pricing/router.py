"""Pricing HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from fastapi import Query, Request
from starlette.responses import Response

from pricing import auctions, challenges, documents, listings, notices, transactions
from pricing.schemas import (
    ActionBody,
    AuctionCreate,
    AuctionRead,
    AwardCreate,
    BidCreate,
    BidRead,
    ChallengeCreate,
    ChallengeRead,
    ChallengeResponseCreate,
    ChallengeResponseRead,
    ConclusionCreate,
    DelistingCreate,
    DelistingRead,
    DocumentRead,
    LandingCreate,
    ListingCreate,
    ListingRead,
    NoticeRead,
    ObjectionCreate,
    ObjectionRead,
    RecordRead,
    TransactionCreate,
    TransactionRead,
)
from servicekit.documents import DOWNLOAD_RESPONSES, document_response, receive_upload, upload_openapi
from servicekit.pagination import Cursor, Limit, Page
from servicekit.web import Ctx, PublicCtx, service_router

router = service_router(prefix="/api/v1", tags=["pricing"])

@router.post("/transactions", status_code=201, response_model=TransactionRead,
             summary="Open a transfer, licence or investment (unit_admin; PRC-1…4, OWN-13/14/15)")
async def open_transaction(body: TransactionCreate, ctx: Ctx) -> TransactionRead:
    """Open a transfer, licence or investment (unit_admin; PRC-1…4, OWN-13/14/15)."""
    return await transactions.open_transaction(ctx.session, ctx.runtime, actor=ctx.user, data=body, now=ctx.now)


@router.get("/transactions/{transaction_id}", response_model=TransactionRead,
            summary="A transaction, with its deal once concluded (the unit's unit_admin, department, platform_admin)")
async def get_transaction(transaction_id: str, ctx: Ctx) -> TransactionRead:
    """A transaction, with its deal once concluded (the unit's unit_admin, department, platform_admin)."""
    return await transactions.get_transaction(ctx.session, actor=ctx.user, transaction_id=transaction_id, now=ctx.now)


@router.get("/transactions/{transaction_id}/record", response_model=RecordRead,
            summary="The immutable procedural record (PRC-9)")
async def get_record(transaction_id: str, ctx: Ctx) -> RecordRead:
    """The immutable procedural record (PRC-9)."""
    return await transactions.get_record(ctx.session, actor=ctx.user, transaction_id=transaction_id, now=ctx.now)


@router.post("/transactions/{transaction_id}/documents", status_code=201, response_model=DocumentRead,
             openapi_extra=upload_openapi({"kind": "appraisal_report | contract | decision | other"}, required=("kind",)),
             summary="Attach a document: multipart `file` (≤ 20 MiB) and `kind` (unit_admin; DOC-1)")
async def attach_document(transaction_id: str, request: Request, ctx: Ctx) -> DocumentRead:
    """Attach a document to the transaction; its SHA-256 goes into the record and the event (DOC-1)."""
    return await documents.attach_document(ctx.session, actor=ctx.user, transaction_id=transaction_id,
                                           receive=lambda: receive_upload(request, fields=("kind",)), now=ctx.now)


@router.get("/transactions/{transaction_id}/documents/{document_id}", response_class=Response,
            responses=DOWNLOAD_RESPONSES, summary="A document's bytes, ETag = its SHA-256 (who reads the transaction; DOC-1)")
async def get_document(transaction_id: str, document_id: str, request: Request, ctx: Ctx) -> Response:
    """A document's bytes with `ETag: "<sha256>"` (DOC-1)."""
    document, content = await documents.get_document(ctx.session, actor=ctx.user, transaction_id=transaction_id,
                                                     document_id=document_id)
    return document_response(document, content, request)


@router.post("/transactions/{transaction_id}/notice", status_code=201, response_model=NoticeRead,
             summary="Publish the public notice of the agreement price (PRC-4)")
async def publish_notice(transaction_id: str, ctx: Ctx, body: ActionBody | None = None) -> NoticeRead:
    """Publish the public notice of the agreement price (PRC-4)."""
    return await notices.publish_notice(
        ctx.session, ctx.runtime, actor=ctx.user, transaction_id=transaction_id, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.get("/notices", response_model=Page[NoticeRead], summary="Public notices (no token needed)")
async def list_notices(
    ctx: PublicCtx, active: bool | None = None, unit_id: str | None = Query(default=None, max_length=64),
    limit: Limit = 50, cursor: Cursor = None,
) -> Page[NoticeRead]:
    """Public notices (no token needed)."""
    return await notices.list_notices(
        ctx.session, active=active, unit_id=unit_id, limit=limit, cursor=cursor, now=ctx.now
    )


@router.get("/notices/{notice_id}", response_model=NoticeRead, summary="A public notice")
async def get_notice(notice_id: str, ctx: PublicCtx) -> NoticeRead:
    """A public notice."""
    return await notices.get_notice(ctx.session, notice_id=notice_id, now=ctx.now)


@router.post("/notices/{notice_id}/objections", status_code=201, response_model=ObjectionRead,
             summary="Object during the notice (anyone: with a token, or anonymously with contact; PRC-5)",
             # PRC-5: the token is optional; FastAPI adds this "or no token" to its bearer requirement.
             openapi_extra={"security": [{}]})
async def object_to_notice(notice_id: str, body: ObjectionCreate, ctx: Ctx, request: Request) -> ObjectionRead:
    """Object during the notice: with a token, or anonymously with a name and a phone or e-mail (PRC-5)."""
    return await notices.object_to_notice(ctx.session, actor=ctx.principal, client_address=client_address(request),
                                          notice_id=notice_id, data=body, now=ctx.now)


def client_address(request: Request) -> str:
    """The caller's address: the last X-Forwarded-For entry (the gateway appends the peer it saw), else the peer."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:100] or "unknown"
    return request.client.host if request.client else "unknown"


@router.post("/transactions/{transaction_id}/listing", status_code=201, response_model=ListingRead,
             summary="List on a technology market for 15 days (PRC-6, PRC-3)")
async def publish_listing(transaction_id: str, body: ListingCreate, ctx: Ctx) -> ListingRead:
    """List on a technology market for 15 days (PRC-6, PRC-3)."""
    return await listings.publish_listing(
        ctx.session, actor=ctx.user, transaction_id=transaction_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.get("/listings", response_model=Page[ListingRead], summary="Public listings (no token needed)")
async def list_listings(
    ctx: PublicCtx, active: bool | None = None, unit_id: str | None = Query(default=None, max_length=64),
    limit: Limit = 50, cursor: Cursor = None,
) -> Page[ListingRead]:
    """Public listings (no token needed)."""
    return await listings.list_listings(
        ctx.session, active=active, unit_id=unit_id, limit=limit, cursor=cursor, now=ctx.now
    )


@router.get("/listings/{listing_id}", response_model=ListingRead, summary="A public listing")
async def get_listing(listing_id: str, ctx: PublicCtx) -> ListingRead:
    """A public listing."""
    return await listings.get_listing(ctx.session, listing_id=listing_id, now=ctx.now)


@router.post("/listings/{listing_id}/delistings", status_code=201, response_model=DelistingRead,
             summary="Delist: the first party takes the deal at the listing price (PRC-7)")
async def delist(listing_id: str, body: DelistingCreate, ctx: Ctx) -> DelistingRead:
    """Delist: the first party takes the deal at the listing price (PRC-7)."""
    return await listings.delist(ctx.session, ctx.runtime, actor=ctx.user, listing_id=listing_id, data=body, now=ctx.now)


@router.post("/transactions/{transaction_id}/auction", status_code=201, response_model=AuctionRead,
             summary="Open an auction (PRC-8)")
async def open_auction(transaction_id: str, body: AuctionCreate, ctx: Ctx) -> AuctionRead:
    """Open an auction (PRC-8)."""
    return await auctions.open_auction(
        ctx.session, actor=ctx.user, transaction_id=transaction_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.get("/auctions/{auction_id}", response_model=AuctionRead, summary="An auction (no token needed)")
async def get_auction(auction_id: str, ctx: PublicCtx) -> AuctionRead:
    """An auction (no token needed)."""
    return await auctions.get_auction(ctx.session, auction_id=auction_id)


@router.post("/auctions/{auction_id}/bids", status_code=201, response_model=BidRead,
             summary="Bid until the auction closes (any authenticated party; PRC-8)")
async def place_bid(auction_id: str, body: BidCreate, ctx: Ctx) -> BidRead:
    """Bid until the auction closes (any authenticated party; PRC-8)."""
    return await auctions.place_bid(
        ctx.session, ctx.runtime, actor=ctx.user, auction_id=auction_id, data=body, now=ctx.now
    )


@router.post("/transactions/{transaction_id}/conclusion", response_model=TransactionRead,
             summary="Conclude at the agreement price after a clear notice or an expired listing (unit_admin; PRC-4/5/6)")
async def conclude(transaction_id: str, body: ConclusionCreate, ctx: Ctx) -> TransactionRead:
    """Conclude at the agreement price after a clear notice or an expired listing (unit_admin; PRC-4/5/6)."""
    return await transactions.conclude(
        ctx.session, ctx.runtime, actor=ctx.user, transaction_id=transaction_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/transactions/{transaction_id}/withdrawal", response_model=TransactionRead,
             summary="Withdraw the transaction")
async def withdraw(transaction_id: str, ctx: Ctx, body: ActionBody | None = None) -> TransactionRead:
    """Withdraw the transaction."""
    return await transactions.withdraw(
        ctx.session, actor=ctx.user, transaction_id=transaction_id, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/challenges", status_code=201, response_model=ChallengeRead,
             summary="Publish a two-way challenge (enterprise: technology_wanted; unit_admin: market_wanted; PRC-10)")
async def publish_challenge(body: ChallengeCreate, ctx: Ctx) -> ChallengeRead:
    """Publish a two-way challenge (enterprise: technology_wanted; unit_admin: market_wanted; PRC-10)."""
    return await challenges.publish_challenge(ctx.session, ctx.runtime, actor=ctx.user, data=body, now=ctx.now)


@router.get("/challenges", response_model=Page[ChallengeRead], summary="The public challenge lists (no token needed)")
async def list_challenges(
    ctx: PublicCtx,
    direction: str | None = Query(default=None, max_length=40),
    field: str | None = Query(default=None, max_length=100),
    region: str | None = Query(default=None, max_length=100),
    state: str | None = Query(default=None, max_length=20),
    q: str | None = Query(default=None, max_length=200, description="words in the title or description, Chinese included"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ChallengeRead]:
    """The public challenge lists (no token needed), filtered and searched (PRC-10)."""
    return await challenges.list_challenges(ctx.session, direction=direction, field=field, region=region, state=state, q=q,
                                            limit=limit, cursor=cursor, now=ctx.now)


@router.get("/challenges/{challenge_id}", response_model=ChallengeRead, summary="A challenge and its state (no token needed)")
async def get_challenge(challenge_id: str, ctx: PublicCtx) -> ChallengeRead:
    """A challenge and its state (no token needed)."""
    return await challenges.get_challenge(ctx.session, challenge_id=challenge_id, now=ctx.now)


@router.post("/challenges/{challenge_id}/responses", status_code=201, response_model=ChallengeResponseRead,
             summary="Take up a challenge (enterprise, unit_admin or researcher; PRC-10)")
async def respond_to_challenge(challenge_id: str, body: ChallengeResponseCreate, ctx: Ctx) -> ChallengeResponseRead:
    """Take up a challenge (enterprise, unit_admin or researcher; PRC-10)."""
    return await challenges.respond_to_challenge(
        ctx.session, actor=ctx.user, challenge_id=challenge_id, data=body, now=ctx.now
    )


@router.get("/challenges/{challenge_id}/responses", response_model=Page[ChallengeResponseRead],
            summary="Responses to a challenge (its publisher or platform_admin)")
async def list_challenge_responses(challenge_id: str, ctx: Ctx) -> Page[ChallengeResponseRead]:
    """Responses to a challenge (its publisher or platform_admin)."""
    return await challenges.list_challenge_responses(ctx.session, actor=ctx.user, challenge_id=challenge_id)


@router.post("/challenges/{challenge_id}/award", response_model=ChallengeRead,
             summary="Award the challenge to a response (publisher or platform_admin; PRC-10)")
async def award_challenge(challenge_id: str, body: AwardCreate, ctx: Ctx) -> ChallengeRead:
    """Award the challenge to a response (publisher or platform_admin; PRC-10)."""
    return await challenges.award_challenge(
        ctx.session, actor=ctx.user, challenge_id=challenge_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/challenges/{challenge_id}/landing", response_model=ChallengeRead,
             summary="Confirm the awarded challenge has landed (publisher or platform_admin; PRC-10)")
async def land_challenge(challenge_id: str, body: LandingCreate, ctx: Ctx) -> ChallengeRead:
    """Confirm the awarded challenge has landed (publisher or platform_admin; PRC-10)."""
    return await challenges.land_challenge(
        ctx.session, actor=ctx.user, challenge_id=challenge_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )
