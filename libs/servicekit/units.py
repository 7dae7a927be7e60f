"""Each consuming service keeps a replica of every unit's policy, fed by ownership's unit events."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.envelope import CloudEvent
from contracts.events import UnitPolicyChanged, UnitRegistered
from servicekit.consumers import ConsumerSpec, Handles

if TYPE_CHECKING:
    from servicekit.runtime import Runtime


def install_unit_policy_table(metadata: MetaData, *, extra_fields: tuple[str, ...] = ()) -> Table:
    """`unit_policies`: the unit's policy as last announced by ownership (plus `extra_fields` of UnitPolicy)."""
    defaults = UnitPolicy()
    return Table(
        "unit_policies",
        metadata,
        Column("unit_id", String(64), primary_key=True),
        Column("name", String(300), nullable=False, server_default=""),
        Column("notice_days", Integer, nullable=False),
        Column("review_request_days", Integer, nullable=False),
        Column("patent_change_days", Integer, nullable=False),
        *(Column(name, Integer, nullable=False, server_default=str(getattr(defaults, name))) for name in extra_fields),
        Column("version", Integer, nullable=False),
    )


def _policy_fields(table: Table) -> list[str]:
    return [name for name in UnitPolicy.model_fields if name in table.c]


async def apply_unit_event(
    session: AsyncSession, table: Table, unit: UnitRegistered | UnitPolicyChanged
) -> None:
    """Upsert a unit's policy; an older version arriving late never overwrites a newer one."""
    values: dict[str, Any] = {name: getattr(unit.policy, name) for name in _policy_fields(table)}
    values["version"] = unit.version
    if isinstance(unit, UnitRegistered):
        values["name"] = unit.name
    current = (
        await session.execute(select(table.c.version).where(table.c.unit_id == unit.unit_id).with_for_update())
    ).scalar_one_or_none()
    if current is None:
        await session.execute(table.insert().values(unit_id=unit.unit_id, **{"name": "", **values}))
    elif unit.version > current:
        await session.execute(update(table).where(table.c.unit_id == unit.unit_id).values(**values))


def unit_policy_consumer(table: Table) -> ConsumerSpec:
    """The durable consumer that keeps `unit_policies` current."""

    async def handle(session: AsyncSession, unit: UnitRegistered | UnitPolicyChanged, event: CloudEvent) -> None:
        await apply_unit_event(session, table, unit)

    return ConsumerSpec(
        name="unit-policies",
        handles={
            "ownership.unit.registered": Handles(UnitRegistered, handle),
            "ownership.unit.policy_changed": Handles(UnitPolicyChanged, handle),
        },
    )


async def get_unit_policy(runtime: "Runtime", table: Table, unit_id: str) -> UnitPolicy | None:
    """The unit's policy from the local replica, or fresh from ownership when the event has not arrived yet.

    It reads in its own read-only session: call it before the request's write transaction begins.
    """
    async with runtime.read_sessions() as reads:
        row = (await reads.execute(select(table).where(table.c.unit_id == unit_id))).first()
    if row is not None:
        return UnitPolicy(**{name: getattr(row, name) for name in _policy_fields(table)})
    unit = await runtime.lookup("ownership", f"/api/v1/units/{unit_id}")
    if unit is None:
        return None
    return UnitPolicy.model_validate(unit["policy"])
