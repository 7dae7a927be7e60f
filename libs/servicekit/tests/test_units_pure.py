"""Pure building blocks: money strings, the clock, tokens, cursors."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import jwt
import pytest
from pydantic import BaseModel, ValidationError

from contracts.common import Money
from servicekit.auth import Principal, decode_token, ensure_unit_access, mint_token
from servicekit.clock import Clock, add_years, shanghai_day
from servicekit.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from servicekit.pagination import decode_cursor, encode_cursor

SECRET = "a-test-secret-that-is-long-enough-0123456789"


class Priced(BaseModel):
    price: Money


def test_money_is_a_two_place_string_both_ways() -> None:
    assert Priced(price="150000").model_dump(mode="json") == {"price": "150000.00"}
    assert Priced(price="0.1").price == Decimal("0.10")


@pytest.mark.parametrize("bad", [150000, 150000.0, "1.005", "abc", "1e5", True, None])
def test_money_refuses_numbers_and_more_than_two_places(bad: object) -> None:
    with pytest.raises(ValidationError):
        Priced(price=bad)


def test_test_clock_runs_on_from_the_instant_set() -> None:
    clock = Clock()
    set_at = datetime.now(UTC) - timedelta(seconds=10)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC), set_at)
    elapsed = clock.now() - datetime(2030, 1, 1, tzinfo=UTC)
    assert timedelta(seconds=9) < elapsed < timedelta(seconds=12)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_calendar_days_are_shanghai_days() -> None:
    assert shanghai_day(datetime(2030, 1, 1, 16, 0, tzinfo=UTC)) == date(2030, 1, 2)
    assert shanghai_day(datetime(2030, 1, 1, 15, 59, 59, tzinfo=UTC)) == date(2030, 1, 1)


def test_add_years_keeps_the_day_and_maps_leap_day_to_28_february() -> None:
    assert add_years(date(2026, 3, 1), 10) == date(2036, 3, 1)
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)


def test_token_round_trip_and_refusals() -> None:
    token = mint_token(SECRET, sub="p1", roles=["unit_admin"], unit_id="u1", name="张三")
    assert decode_token(token, SECRET) == Principal(sub="p1", name="张三", roles=frozenset({"unit_admin"}), unit_id="u1")
    refused = [
        mint_token(SECRET, sub="p1", roles=["unit_admin"], ttl=timedelta(seconds=-1)),
        mint_token("another-secret-that-is-long-enough-98765", sub="p1", roles=["unit_admin"]),
        jwt.encode({"sub": "p1", "roles": [], "exp": 4102444800}, None, algorithm="none"),
        jwt.encode({"sub": "p1", "roles": []}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "p1", "roles": "unit_admin", "exp": 4102444800}, SECRET, algorithm="HS256"),
        "not-a-token",
    ]
    for token in refused:
        with pytest.raises(Unauthorized):
            decode_token(token, SECRET)


def test_unit_scoping_hides_other_units_and_forbids_other_roles() -> None:
    admin = Principal(sub="a", roles=frozenset({"unit_admin"}), unit_id="u1")
    ensure_unit_access(admin, "u1", unit_roles=("unit_admin",))
    with pytest.raises(NotFound):
        ensure_unit_access(admin, "u2", unit_roles=("unit_admin",))
    with pytest.raises(Forbidden):
        ensure_unit_access(Principal(sub="e", roles=frozenset({"enterprise"})), "u1", unit_roles=("unit_admin",))
    ensure_unit_access(Principal(sub="d", roles=frozenset({"department"})), "u1", unit_roles=("unit_admin",), global_roles=("department",))


def test_cursor_round_trip_and_garbage_is_invalid_input() -> None:
    assert decode_cursor(encode_cursor(["2030-01-01", "abc"])) == ["2030-01-01", "abc"]
    assert decode_cursor(None) is None
    with pytest.raises(InvalidInput):
        decode_cursor("%%%not-a-cursor")


def test_a_verified_token_is_remembered_until_its_exp_and_never_past_it(monkeypatch) -> None:
    from servicekit import auth

    verifications = []
    real_decode = auth.decode_token

    def counting_decode(token: str, secret: str) -> Principal:
        verifications.append(token)
        return real_decode(token, secret)

    monkeypatch.setattr(auth, "decode_token", counting_decode)
    tokens = auth.VerifiedTokens(SECRET, max_age=60)
    token = mint_token(SECRET, sub="p1", roles=["unit_admin"], unit_id="u1", ttl=timedelta(seconds=30))
    assert tokens.principal(token) == tokens.principal(token) == real_decode(token, SECRET)
    assert len(verifications) == 1, "the second request is served from memory"
    now = auth.time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now + 31)  # past the token's exp, within max_age
    tokens.principal(token)
    assert len(verifications) == 2, "past its exp the token is verified again (and refused if expired by then)"
    with pytest.raises(Unauthorized):
        tokens.principal(token + "x")  # a forged signature is never remembered as valid
