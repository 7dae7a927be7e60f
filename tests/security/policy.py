"""THE declared access policy of the public API (API.md §2–§6), one readable row per endpoint.

Every protected resource in the matrix belongs to unit A. A caller's token names unit A ("own")
or unit B ("other"); that only matters for the unit-scoped roles (unit_admin, researcher).

Columns:
- `any`     roles allowed whatever their unit (platform-wide roles, or any unit's party);
- `own`     unit-scoped roles allowed for their own unit; for another unit's resource → 404;
- `public`  no token needed (a sent token must still be valid);
- `scoped`  a unit-scoped resource: unit_admin/researcher of another unit get 404 whatever their
            role could do (existence is not disclosed, API.md §2);
- `role_first` the role is checked before anything is looked up, so a caller without it gets
            403 from any unit (nothing about the resource is disclosed);
- `hidden`  a refused caller gets 404, not 403 (exemption cases are confidential, API.md §5),
            except the roles in `sees`, who may see the resource and so learn nothing from a 403.
Every other role → 403 (404 if hidden); no token → 401 unless public.
"Allowed" means the caller gets past access control: 2xx, or 409/422 from the business rules
(the matrix sends schema-valid but arbitrary bodies), never 401/403/404 or 5xx.
"""
from __future__ import annotations

from dataclasses import dataclass

ROLES = (
    "platform_admin", "unit_admin", "researcher", "provincial_office",
    "department", "platform_company", "enterprise", "financial_institution",
)
ANONYMOUS = "anonymous"
UNIT_SCOPED = ("unit_admin", "researcher")
EVERYONE = ROLES
READERS = ("platform_admin", "department")  # read unit-scoped resources across units (API.md §2)


@dataclass(frozen=True)
class Access:
    any: tuple[str, ...] = ()
    own: tuple[str, ...] = ()
    public: bool = False
    scoped: bool = False
    role_first: bool = False
    hidden: bool = False
    sees: tuple[str, ...] = ()


ADMIN = Access(any=("platform_admin",))
UNIT_WRITE = Access(own=("unit_admin",), scoped=True)
UNIT_READ = Access(any=READERS, own=("unit_admin",), scoped=True)
ACHIEVEMENT_READ = Access(any=READERS, own=("unit_admin", "researcher"), scoped=True)
# §2: "where an endpoint names no role, platform_admin may" — §4 names no role for these actions.
TRANSACTION_ACTION = Access(any=("platform_admin",), own=("unit_admin",), scoped=True, role_first=True)
UNIT_WRITE_ROLE_FIRST = Access(own=("unit_admin",), scoped=True, role_first=True)
PUBLIC = Access(public=True)
ANY_TOKEN = Access(any=EVERYONE)
CASE = Access(own=("unit_admin",), scoped=True, hidden=True)  # the subject and panel members are other people
CASE_SUBJECT_ONLY = Access(scoped=True, hidden=True, sees=("unit_admin",))  # our callers are none of them
FUND_READ = Access(any=("platform_admin", "platform_company", "department"))
INVEST_FIRST = Access(any=("platform_company",))
INVEST_FIRST_READ = Access(any=("platform_company", "platform_admin", "department"))
FINANCIAL_INSTITUTION = Access(any=("financial_institution",))

POLICY: dict[tuple[str, str], Access] = {
    # §3 ownership
    ("POST", "/api/v1/units"): ADMIN,
    ("GET", "/api/v1/units/{unit_id}"): ANY_TOKEN,
    # The platform_admin registers units with their policy and may correct it.
    ("PATCH", "/api/v1/units/{unit_id}/policy"): Access(any=("platform_admin",), own=("unit_admin",), scoped=True),
    ("GET", "/api/v1/units/{unit_id}/separate-ledger"): UNIT_READ,
    ("POST", "/api/v1/achievements"): UNIT_WRITE,
    ("GET", "/api/v1/achievements"): ACHIEVEMENT_READ,
    ("GET", "/api/v1/achievements/{achievement_id}"): ACHIEVEMENT_READ,
    ("PATCH", "/api/v1/achievements/{achievement_id}"): UNIT_WRITE,
    ("GET", "/api/v1/achievements/{achievement_id}/rights"): ACHIEVEMENT_READ,
    ("POST", "/api/v1/achievements/{achievement_id}/compliance-records"): UNIT_WRITE,
    ("POST", "/api/v1/achievements/{achievement_id}/separate-management"): UNIT_WRITE,
    ("PUT", "/api/v1/achievements/{achievement_id}/pool-exclusion"): UNIT_WRITE,
    ("DELETE", "/api/v1/achievements/{achievement_id}/pool-exclusion"): UNIT_WRITE,
    ("POST", "/api/v1/achievements/{achievement_id}/empowerments"): UNIT_WRITE,
    ("GET", "/api/v1/achievements/{achievement_id}/empowerments"): ACHIEVEMENT_READ,
    ("GET", "/api/v1/empowerments/{empowerment_id}"): ACHIEVEMENT_READ,
    ("POST", "/api/v1/empowerments/{empowerment_id}/patent-change"): UNIT_WRITE,
    ("POST", "/api/v1/empowerments/{empowerment_id}/extension"): UNIT_WRITE,
    ("POST", "/api/v1/empowerments/{empowerment_id}/conversion"): UNIT_WRITE,
    ("POST", "/api/v1/achievements/{achievement_id}/equity-transfers"): UNIT_WRITE,
    ("POST", "/api/v1/achievements/{achievement_id}/pay-later-licences"): ANY_TOKEN,  # 410 Gone for every token (OWN-9)
    ("GET", "/api/v1/units/{unit_id}/pool"): PUBLIC,
    ("POST", "/api/v1/units/{unit_id}/pool/publications"): UNIT_WRITE,
    ("GET", "/api/v1/units/{unit_id}/pool/publications/{number}"): PUBLIC,
    # A unit_admin registers its own unit's transfer office (the matrix's body names no unit: its own).
    ("POST", "/api/v1/institutions"): Access(any=("platform_admin", "unit_admin")),
    ("GET", "/api/v1/institutions"): PUBLIC,
    ("GET", "/api/v1/institutions/{institution_id}"): PUBLIC,
    ("POST", "/api/v1/institutions/{institution_id}/evaluations"): ADMIN,
    # The matrix's body names neither unit nor institution: 422 ORG-2 for both registrars.
    ("POST", "/api/v1/technology-managers"): Access(any=("platform_admin", "unit_admin")),
    ("GET", "/api/v1/technology-managers/{technology_manager_id}"): UNIT_READ,  # and the person themself
    # §4 pricing
    ("POST", "/api/v1/transactions"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/transactions/{transaction_id}"): UNIT_READ,
    ("GET", "/api/v1/transactions/{transaction_id}/record"): UNIT_READ,
    ("GET", "/api/v1/transactions/{transaction_id}/exemption-readiness"): UNIT_WRITE_ROLE_FIRST,  # EXE-13: the unit's unit_admin
    ("POST", "/api/v1/transactions/{transaction_id}/notice"): TRANSACTION_ACTION,
    ("POST", "/api/v1/transactions/{transaction_id}/listing"): TRANSACTION_ACTION,
    ("POST", "/api/v1/transactions/{transaction_id}/auction"): TRANSACTION_ACTION,
    ("POST", "/api/v1/transactions/{transaction_id}/conclusion"): UNIT_WRITE_ROLE_FIRST,
    ("POST", "/api/v1/transactions/{transaction_id}/withdrawal"): TRANSACTION_ACTION,
    ("POST", "/api/v1/transactions/{transaction_id}/documents"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/transactions/{transaction_id}/documents/{document_id}"): UNIT_READ,
    ("GET", "/api/v1/notices"): PUBLIC,
    ("GET", "/api/v1/notices/{notice_id}"): PUBLIC,
    ("POST", "/api/v1/notices/{notice_id}/objections"): PUBLIC,  # anyone; anonymously with contact (PRC-5)
    ("GET", "/api/v1/listings"): PUBLIC,
    ("GET", "/api/v1/listings/{listing_id}"): PUBLIC,
    ("POST", "/api/v1/listings/{listing_id}/delistings"): ANY_TOKEN,
    ("GET", "/api/v1/auctions/{auction_id}"): PUBLIC,
    ("POST", "/api/v1/auctions/{auction_id}/bids"): ANY_TOKEN,
    ("POST", "/api/v1/challenges"): Access(any=("enterprise",)),  # the matrix posts technology_wanted
    ("GET", "/api/v1/challenges"): PUBLIC,
    ("GET", "/api/v1/challenges/{challenge_id}"): PUBLIC,
    ("POST", "/api/v1/challenges/{challenge_id}/responses"): Access(any=("enterprise", "unit_admin", "researcher")),
    ("GET", "/api/v1/challenges/{challenge_id}/responses"): ADMIN,  # and the publisher (not our callers)
    ("POST", "/api/v1/challenges/{challenge_id}/award"): ADMIN,  # and the publisher
    ("POST", "/api/v1/challenges/{challenge_id}/landing"): ADMIN,  # and the publisher
    # §5 exemption (confidential: refusals are 404)
    ("POST", "/api/v1/exemption-cases"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/exemption-cases/{case_id}"): CASE,
    ("GET", "/api/v1/exemption-cases/{case_id}/assessment"): CASE,
    ("PUT", "/api/v1/exemption-cases/{case_id}/panel"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/evidence"): CASE,
    ("GET", "/api/v1/exemption-cases/{case_id}/documents/{doc_id}"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/delivery"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/statements"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/negative-findings"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/decision"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/confirmation"): CASE_SUBJECT_ONLY,
    ("POST", "/api/v1/exemption-cases/{case_id}/review-requests"): CASE_SUBJECT_ONLY,
    ("POST", "/api/v1/exemption-cases/{case_id}/review-outcome"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/escalation"): CASE,
    ("POST", "/api/v1/exemption-cases/{case_id}/department-determination"): CASE_SUBJECT_ONLY,  # not escalated
    # §6 finance
    ("GET", "/api/v1/incomes"): UNIT_READ,
    ("GET", "/api/v1/incomes/{income_id}"): UNIT_READ,
    ("POST", "/api/v1/rewards"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/rewards/{reward_id}"): UNIT_READ,
    ("POST", "/api/v1/horizontal-investments"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/horizontal-investments/{investment_id}"): UNIT_READ,
    ("POST", "/api/v1/funds"): ADMIN,
    ("GET", "/api/v1/funds/{fund_id}"): FUND_READ,
    ("GET", "/api/v1/funds/{fund_id}/ledger"): FUND_READ,
    ("POST", "/api/v1/funds/{fund_id}/contributions"): ADMIN,
    ("POST", "/api/v1/invest-first-projects"): INVEST_FIRST,
    ("GET", "/api/v1/invest-first-projects/{project_id}"): INVEST_FIRST_READ,
    ("POST", "/api/v1/invest-first-projects/{project_id}/tranches"): INVEST_FIRST,
    ("POST", "/api/v1/invest-first-projects/{project_id}/conversion"): INVEST_FIRST,
    ("POST", "/api/v1/invest-first-projects/{project_id}/exits"): INVEST_FIRST,
    ("POST", "/api/v1/subsidies"): ADMIN,
    ("GET", "/api/v1/subsidies"): Access(any=READERS),
    ("GET", "/api/v1/subsidies/{subsidy_id}"): Access(any=READERS),
    ("GET", "/api/v1/receivables"): UNIT_READ,
    ("POST", "/api/v1/receivables/{receivable_id}/trigger"): UNIT_WRITE_ROLE_FIRST,
    ("POST", "/api/v1/receivables/{receivable_id}/settlement"): UNIT_WRITE_ROLE_FIRST,
    ("GET", "/api/v1/receivables/{receivable_id}"): UNIT_READ,
    ("POST", "/api/v1/receivables/{receivable_id}/payment"): UNIT_WRITE_ROLE_FIRST,
    ("POST", "/api/v1/receivables/{receivable_id}/waiver"): UNIT_WRITE_ROLE_FIRST,
    ("POST", "/api/v1/financial-products"): FINANCIAL_INSTITUTION,
    ("GET", "/api/v1/financial-products"): PUBLIC,
    ("GET", "/api/v1/financial-products/{product_id}"): PUBLIC,
    ("POST", "/api/v1/financial-products/{product_id}/uptakes"): FINANCIAL_INSTITUTION,
    ("GET", "/api/v1/financial-products/{product_id}/uptakes/{uptake_id}"): Access(any=("financial_institution", *READERS)),
    ("POST", "/api/v1/risk-compensation-pools"): ADMIN,
    ("POST", "/api/v1/risk-compensation-pools/{pool_id}/contributions"): ADMIN,
    ("GET", "/api/v1/risk-compensation-pools/{pool_id}"): Access(any=("financial_institution", *READERS)),
    ("POST", "/api/v1/risk-compensation-pools/{pool_id}/claims"): FINANCIAL_INSTITUTION,
    # §6b evaluation
    ("GET", "/api/v1/evaluation/units/{unit_id}"): UNIT_READ,
    ("GET", "/api/v1/evaluation/units/{unit_id}/departments"): UNIT_READ,
    ("GET", "/api/v1/evaluation/units/{unit_id}/chart"): UNIT_READ,
    ("GET", "/api/v1/evaluation/researchers/{person_id}"): UNIT_READ,  # p-1 completed unit A's achievements
    ("GET", "/api/v1/evaluation/technology-managers/{manager_id}"): UNIT_READ,  # registered with unit A
    ("GET", "/api/v1/evaluation/province"): Access(any=READERS),
    ("GET", "/api/v1/evaluation/province/chart"): Access(any=READERS),
    ("POST", "/api/v1/evaluation/rebuild"): ADMIN,
    ("GET", "/api/v1/evaluation/rebuilds/{rebuild_id}"): ADMIN,
    # audit and operations (every service's own; `service` picks one through the gateway)
    ("GET", "/api/v1/audit/verify"): ADMIN,
    ("GET", "/api/v1/dead-letters"): ADMIN,
    ("GET", "/api/v1/dead-letters/{dead_letter_id}"): ADMIN,
    ("POST", "/api/v1/dead-letters/{dead_letter_id}/redrive"): ADMIN,
    ("GET", "/api/v1/outbox"): ADMIN,
}


def expected(access: Access, role: str, own_unit: bool) -> str:
    """The status class the policy promises: "allowed", "401", "403" or "404"."""
    if role == ANONYMOUS:
        return "allowed" if access.public else "401"
    if access.public or role in access.any:
        return "allowed"
    if access.scoped and role in UNIT_SCOPED and not own_unit and not (access.role_first and role not in access.own):
        return "404"
    if role in access.own:
        return "allowed"
    if access.hidden and role not in access.sees:
        return "404"
    return "403"
