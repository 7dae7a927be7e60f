"""Ownership use cases, one module per aggregate, each the same shape: load → the domain decides → save → emit.

The router calls them as `service.<use case>`; this package re-exports them under those names.
"""
from ownership.service.achievements import (
    add_compliance_record,
    correct_achievement,
    exclude_from_pool,
    get_achievement,
    list_achievements,
    register_achievement,
    restore_to_pool,
    separately_manage,
)
from ownership.service.deals import (
    apply_deal_concluded,
    apply_horizontal_investment,
    apply_record_appended,
    apply_transaction_opened,
)
from ownership.service.empowerments import (
    convert_usage_right,
    extend_usage_right,
    get_empowerment,
    grant_empowerment,
    list_empowerments,
    register_patent_change,
    sweep_overdue_patent_changes,
)
from ownership.service.institutions import (
    evaluate_institution,
    get_institution,
    list_institutions,
    register_institution,
)
from ownership.service.pool import get_pool, get_publication, get_separate_ledger, publish_pool
from ownership.service.rights import get_rights, refuse_pay_later_licence
from ownership.service.technology_managers import get_technology_manager, register_technology_manager
from ownership.service.transfers import transfer_equity
from ownership.service.units import change_policy, get_unit, register_unit

__all__ = [
    "add_compliance_record", "apply_deal_concluded", "apply_horizontal_investment", "apply_record_appended",
    "apply_transaction_opened", "change_policy", "convert_usage_right", "correct_achievement", "evaluate_institution",
    "exclude_from_pool", "extend_usage_right", "get_achievement", "get_empowerment", "get_institution", "get_pool",
    "get_publication", "get_rights", "get_separate_ledger", "get_technology_manager", "get_unit",
    "grant_empowerment", "list_achievements", "list_empowerments", "list_institutions", "publish_pool",
    "refuse_pay_later_licence", "register_achievement", "register_institution", "register_patent_change",
    "register_technology_manager", "register_unit", "restore_to_pool", "separately_manage",
    "sweep_overdue_patent_changes", "transfer_equity",
]
