"""The rights record read (OWN-16), as pricing checks it when a transaction opens and concludes (PRC-11)."""
from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from ownership.domain.empowerment import EmpowermentType
from ownership.schemas import DisposalRead, LicenceRead, RightsRead, UsageRightRead
from ownership.service.common import aggregate_of, load_row
from servicekit.auth import Principal
from servicekit.clock import shanghai_day
from servicekit.errors import KezhuanError
from servicekit.i18n import N_


async def get_rights(session: AsyncSession, *, actor: Principal, achievement_id: str, now: datetime) -> RightsRead:
    """Who holds what of the achievement today: status, shares, usage rights, licences in force, transfers,
    investments and open transactions (OWN-16). Readers: those who read the achievement, and pricing."""
    row = await load_row(session, actor, achievement_id, write=False)
    achievement = await aggregate_of(session, row, with_records=False)
    today = shanghai_day(now)
    unit_share, team_share = achievement.shares()
    rights = achievement.rights
    return RightsRead(
        achievement_id=achievement.id,
        unit_id=achievement.unit_id,
        status=achievement.status(today),
        unit_share=unit_share,
        team_share=team_share,
        usage_rights=[
            UsageRightRead(empowerment_id=h.empowerment_id, start_on=h.start_on, end_on=h.end_on)
            for h in achievement.holdings
            if h.type == EmpowermentType.USAGE_RIGHT and h.in_force(today)
        ],
        licences=[
            LicenceRead(
                transaction_id=licence.transaction_id, licensee=licence.licensee, scope=licence.scope,
                start_on=licence.start_on, end_on=licence.end_on, pay_later=licence.pay_later, price=licence.price,
            )
            for licence in rights.licences
            if not licence.ended(today)
        ],
        transfers=[DisposalRead(**vars(d)) for d in rights.transfers],
        investments=[DisposalRead(**vars(d)) for d in rights.investments],
        open_transaction_ids=[t.transaction_id for t in rights.open_transactions],
        version=achievement.version,
    )


class PayLaterEndpointGone(KezhuanError):
    """OWN-9 revised: pay-later licences are priced in pricing; the old endpoint is gone (410)."""

    status = 410
    title = N_("Gone")


def refuse_pay_later_licence() -> NoReturn:
    """OWN-9: a pay-later licence is a licence transaction at an agreement price, opened in pricing."""
    raise PayLaterEndpointGone(
        N_(
            "pay-later licences are priced like every agreement: open a licence transaction with "
            "POST /api/v1/transactions and payment.mode pay_later (appraisal decision, public notice of the fee, "
            "objections, listing); the licence is recorded here when the deal concludes"
        ),
        rule="OWN-9",
    )
