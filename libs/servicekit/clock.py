"""The injectable clock. In dev/test it can be set to any instant and then runs on in real time."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def real_now() -> datetime:
    """Wall-clock time in UTC (token expiry and outbox leases always use this)."""
    return datetime.now(UTC)


class Clock:
    """`now()` is real time, or `anchor + (real now − set_at)` while a test clock is set."""

    def __init__(self) -> None:
        self._fake: datetime | None = None
        self._set_at: datetime | None = None

    def now(self) -> datetime:
        """The current instant for business rules."""
        if self._fake is None or self._set_at is None:
            return real_now()
        return self._fake + (real_now() - self._set_at)

    def today(self) -> date:
        """Today's calendar day in Asia/Shanghai (API.md §2)."""
        return self.now().astimezone(SHANGHAI).date()

    def set(self, instant: datetime, set_at: datetime | None = None) -> None:
        """Make `instant` the current time as of the real moment `set_at` (default: now)."""
        if instant.tzinfo is None:
            raise ValueError("the test clock needs an instant with an offset")
        self._fake = instant.astimezone(UTC)
        self._set_at = (set_at or real_now()).astimezone(UTC)

    def reset(self) -> None:
        """Return to real time."""
        self._fake = None
        self._set_at = None

    @property
    def state(self) -> tuple[datetime, datetime] | None:
        """(instant, set_at) while a test clock is set."""
        if self._fake is None or self._set_at is None:
            return None
        return self._fake, self._set_at


def shanghai_day(instant: datetime) -> date:
    """The calendar day of an instant in Asia/Shanghai."""
    return instant.astimezone(SHANGHAI).date()


def add_years(day: date, years: int) -> date:
    """Same calendar day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
