"""The desk's sessions in Redis (BINHYEN_REDIS_URL set), against the real Redis of
BINHYEN_TEST_REDIS_URL (skipped with the reason without it, failing in CI): a login makes one
session key holding no raw token, with a 12-hour TTL that slides on use; 12 idle hours end it;
logout deletes it; a member whose role is taken away is logged out on the next request."""

import pytest
from sqlalchemy import func, select, update

from base.settings import load_settings
from db.models import DeskSession, Member
from db.services.desk_access import IDLE_HOURS, TOUCH_SECONDS, RedisSessions, token_hash
from db.services.members import grant_role
from desk.app import COOKIE
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.desk import start_desk
from testkit.services import redis_url

OFFICER = "850001"
PREFIX = RedisSessions.PREFIX
TTL = IDLE_HOURS * 3600


@pytest.fixture
def backend() -> str:
    """The sessions do not touch the database: one backend is enough."""
    return "sqlite"


@pytest.fixture
def settings(database_url, redis):
    return load_settings(database_url=database_url, telegram_token=None, webhook_url=None, redis_url=redis_url(),
                         default_locale="vi", timezone="Asia/Ho_Chi_Minh")


@pytest.fixture
async def desk(app, session):
    assert app.redis is not None
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    await tree(session, year=2026)
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await session.commit()
    desk = await start_desk(app)
    yield desk
    await desk.close()
    await desk.server.close()


async def session_keys(redis) -> list[str]:
    return sorted([key.decode() async for key in redis.scan_iter(match=PREFIX + "*")])


def cookie_of(desk) -> str:
    [token] = [cookie.value for cookie in desk.http.cookie_jar if cookie.key == COOKIE]
    return token


async def signed_in(desk) -> bool:
    answer = await desk.get("/area/C1")
    return answer.status == 200


async def test_a_login_makes_one_redis_session_holding_no_raw_token(desk, redis, session):
    assert await session_keys(redis) == []
    await desk.login("telegram", OFFICER)
    token = cookie_of(desk)
    [key] = await session_keys(redis)
    assert key == PREFIX + token_hash(token) and token not in key
    stored = await redis.get(key)
    assert token.encode() not in stored
    assert TTL - 60 <= await redis.ttl(key) <= TTL
    assert await signed_in(desk)
    # Nothing of the session in the database.
    assert await session.scalar(select(func.count()).select_from(DeskSession)) == 0


async def test_the_ttl_slides_on_use_and_twelve_idle_hours_end_the_session(desk, redis, app):
    clock = app.dispatcher["clock"]
    await desk.login("telegram", OFFICER)
    [key] = await session_keys(redis)
    await redis.expire(key, 600)  # as if most of the 12 hours had gone by in Redis
    clock.advance(TOUCH_SECONDS + 1)
    assert await signed_in(desk)
    assert TTL - 60 <= await redis.ttl(key) <= TTL  # renewed by the request
    clock.advance(IDLE_HOURS * 3600 - 1)
    assert await signed_in(desk)  # just under 12 hours idle
    clock.advance(IDLE_HOURS * 3600)
    answer = await desk.get("/area/C1")
    assert answer.status == 303 and answer.headers["Location"] == desk.path("/")
    assert await session_keys(redis) == []


async def test_logout_deletes_the_redis_session(desk, redis):
    await desk.login("telegram", OFFICER)
    assert len(await session_keys(redis)) == 1
    answer = await desk.post("/logout")
    assert answer.status == 303
    assert await session_keys(redis) == []
    assert not await signed_in(desk)


async def test_a_member_whose_role_is_taken_away_is_logged_out_on_the_next_request(desk, redis, session):
    await desk.login("telegram", OFFICER)
    assert await signed_in(desk)
    await session.execute(update(Member).where(Member.user_id == OFFICER).values(role="resident"))
    await session.commit()
    answer = await desk.get("/area/C1")
    assert answer.status == 303 and answer.headers["Location"] == desk.path("/")
    assert await session_keys(redis) == []
    # Given the role back, the old cookie does not come back to life.
    await session.execute(update(Member).where(Member.user_id == OFFICER).values(role="officer"))
    await session.commit()
    assert not await signed_in(desk)
