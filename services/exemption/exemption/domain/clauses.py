"""The guideline's clause catalogue: positive list (G art. 5, 6) and negative list (G art. 7), by role (SCO-2)."""
from __future__ import annotations

from servicekit.errors import PolicyViolation

ROLES = ("leader", "manager", "researcher")  # SCO-2
LEADER_RANKS = ("principal", "deputy")  # SCO-2

# EXE-1, G art. 5: leaders and managers acting diligently are not held liable in these situations.
LEADER_MANAGER_CLAUSES: dict[str, str] = {
    "G5.1": "IP waived after notice, information and publicity procedures and consultation with the researchers",
    "G5.2": "related-party transaction maliciously concealed by researchers although the procedures were followed",
    "G5.3": "price fixed by listing, auction or similar, or by agreement with a notice of the price without objection, "
    "and the achievement's value changed considerably later",
    "G5.4": "empowered achievement transferred per procedure to a wholly state-owned enterprise or the researchers, "
    "whose poor management or failed venture caused the loss",
    "G5.5": "investment stake not reduced or exited at the right time, or loss from the enterprise's poor management",
    "G5.6": "ownership or reward dispute although the notice procedures were followed",
    "G5.7": "pilot exploration of transformation paths and models under the reform",
    "G5.8": "other activities per rules, internal controls and processes, or loss from policy or market change, "
    "the unforeseeable or force majeure",
    "G5.9": "other situations that should be exempt",
}
# EXE-2, G art. 6: the researchers' clause and its three conditions.
RESEARCHER_CLAUSE = "G6"
RESEARCHER_CONDITIONS = (
    "acted diligently under the law and the unit's rules",
    "no related-party transaction",
    "no improper benefit sought for themselves or others",
)
# EXE-3, G art. 7: the negative list. The text numbers only (一), (四), (五); its two unnumbered
# paragraphs are (二) for leaders and managers and (三) for researchers.
NEGATIVE_CLAUSES: dict[str, str] = {
    "G7.1": "breach of scientific, ethical or professional norms or of secrecy rules, or seizing others' achievements",
    "G7.2": "leader or manager obstructing transformation, disclosing or transferring key technology without "
    "authority, or breaching recusal rules",
    "G7.3": "researcher empowering, transforming or founding a company with the achievement without the unit's permission",
    "G7.4": "dereliction, abuse for private gain, gifts or paid services, favours to relatives, abuse in a medical "
    "institution's procurement of the product",
    "G7.5": "other violations of law",
}
NEGATIVE_CLAUSE_ROLES: dict[str, tuple[str, ...]] = {"G7.2": ("leader", "manager"), "G7.3": ("researcher",)}


def check_subject(role: str, leader_rank: str | None) -> None:
    """SCO-2: a subject is a leader (with rank principal|deputy), a manager or a researcher."""
    if role not in ROLES:
        raise PolicyViolation("SCO-2", f"the subject's role is one of {', '.join(ROLES)}, not {role!r}")
    if role == "leader" and leader_rank not in LEADER_RANKS:
        raise PolicyViolation("SCO-2", "a leader's leader_rank is principal or deputy")
    if role != "leader" and leader_rank is not None:
        raise PolicyViolation("SCO-2", "only a leader has a leader_rank")


def clause_role(kind: str, role: str | None) -> str:
    """EXE-12: whose clauses a subject follows — a person its own role's, a team the researchers' (成果完成人),
    the unit itself the leaders' and managers' (its conduct is their decisions)."""
    if kind == "team":
        return "researcher"
    if kind == "unit":
        return "unit"
    return role or "researcher"


def _roles(roles: str | list[str]) -> list[str]:
    return [roles] if isinstance(roles, str) else list(roles)


def positive_rule(roles: str | list[str]) -> str:
    """The rule that lists the positive clauses open to the subjects: EXE-2 when all are researchers, else EXE-1."""
    return "EXE-2" if all(role == "researcher" for role in _roles(roles)) else "EXE-1"


def allowed_positive_clauses(roles: str | list[str]) -> list[str]:
    """EXE-1 / EXE-2: G5.1–G5.9 for leaders, managers and the unit; G6 for researchers (and teams)."""
    allowed: list[str] = []
    for role in _roles(roles):
        allowed += [RESEARCHER_CLAUSE] if role == "researcher" else list(LEADER_MANAGER_CLAUSES)
    return list(dict.fromkeys(allowed))


def check_positive_clauses(roles: str | list[str], clauses: list[str], *, at_least_one: bool) -> list[str]:
    """EXE-1 / EXE-2: every clause must be open to at least one of the subjects; anything else is refused."""
    rule = positive_rule(roles)
    allowed = allowed_positive_clauses(roles)
    if at_least_one and not clauses:
        raise PolicyViolation(rule, f"name at least one clause of {', '.join(allowed)}")
    for clause in clauses:
        if clause not in allowed:
            who = " or ".join(dict.fromkeys(_roles(roles)))
            raise PolicyViolation(rule, f"clause {clause!r} does not apply to a {who}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(clauses))


def check_negative_clause(roles: str | list[str], clause: str) -> None:
    """EXE-3: a negative finding names G7.1–G7.5; G7.2 concerns leaders and managers, G7.3 researchers."""
    if clause not in NEGATIVE_CLAUSES:
        raise PolicyViolation("EXE-3", f"a negative finding names one of {', '.join(NEGATIVE_CLAUSES)}, not {clause!r}")
    concerned = NEGATIVE_CLAUSE_ROLES.get(clause)
    given = _roles(roles)
    if concerned is not None and not set(given) & set(concerned):
        raise PolicyViolation("EXE-3", f"{clause} concerns {' and '.join(concerned)}s, not a {' or '.join(given)}")
