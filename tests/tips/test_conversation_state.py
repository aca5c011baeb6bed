"""Conversation state read as an attacker would: the bot's memory without Redis, and Redis's
key names, expiry times and values with it. Every state expires alike, in memory as in Redis;
key names and expiry times say neither who is in a conversation nor which one."""

import logging
from datetime import datetime, timezone

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.app import build_app
from handlers.residents.joining import Joining  # noqa: F401  (the join conversation's states)
from handlers.tips.status import StatusAction
from handlers.tips.submit import AreaChoice, KindChoice, WhenChoice
from testkit.delivery_fakes import FakeClock
from testkit.fakes import ChatDriver
from testkit.services import redis_url
from tests.tips.test_tips import (  # noqa: F401  (fixtures)
    PLACE,
    SECRET,
    TEXT,
    TIPSTER,
    bot_with_redis,
    file_tip,
    officers_key,
    redis_values,
    tip_settings,
    tree,
)

JOINER, READER, LINGUIST = TIPSTER + 1, TIPSTER + 2, TIPSTER + 3
# base/state_expiry.py: every conversation is forgotten this long after its last step.
STATE_SECONDS = 3600


@pytest.fixture
def settings(database_url, officers_key):  # noqa: F811
    return tip_settings(database_url, officers_key)


async def half_a_tip(chat, tree) -> None:  # noqa: F811
    """A tip written up to its text, then abandoned."""
    await chat.send("/tip", user_id=TIPSTER)
    await chat.press(KindChoice(kind="gambling").pack(), TIPSTER)
    await chat.press(AreaChoice(action="open", area=tree["C1"].id).pack(), TIPSTER)
    await chat.press(AreaChoice(action="pick", area=tree["H11"].id).pack(), TIPSTER)
    await chat.send(PLACE, user_id=TIPSTER)
    await chat.press(WhenChoice(choice="today").pack(), TIPSTER)
    await chat.send(TEXT, user_id=TIPSTER)


def memory_of(app) -> str:
    """Everything the memory storage holds, as text."""
    return repr(vars(app.dispatcher.storage.inner))


async def test_without_redis_an_abandoned_draft_and_a_viewed_tip_leave_memory_within_the_hour(app, chat, tree):  # noqa: F811
    clock = FakeClock(datetime.now(timezone.utc))
    app.dispatcher["clock"] = clock
    code, _ = await file_tip(chat, tree, user_id=READER)
    [status] = await chat.send(f"/tipstatus {code}", user_id=READER)  # the chat now knows the tip
    assert StatusAction(action="add").pack() in chat.buttons(READER)
    await half_a_tip(chat, tree)
    assert TEXT in memory_of(app) and "tip_id" in memory_of(app)
    clock.advance(STATE_SECONDS - 60)
    assert TEXT in memory_of(app)  # kept while it may still be sent
    clock.advance(61)
    await chat.send("/help", user_id=JOINER)  # anyone's update, or the sweep, drops what expired
    held = memory_of(app)
    for gone in (TEXT, PLACE, "tip_id", "TipForm", "TipStatusForm", str(TIPSTER), str(READER)):
        assert gone not in held, gone
    # And the tipster coming back finds nothing to go on with.
    [reply] = await chat.send("Thêm một dòng", user_id=TIPSTER)
    assert "Bước" not in reply and TEXT not in reply


async def test_the_sweep_drops_expired_state_when_nothing_is_read(app, chat, tree, monkeypatch):  # noqa: F811
    """No update needed: the storage's own timer removes what expired (as Redis's active expiry)."""
    import asyncio

    from bot.exactly_once import expiring_storage

    monkeypatch.setattr(expiring_storage, "SWEEP_SECONDS", 0.05)
    clock = FakeClock(datetime.now(timezone.utc))
    app.dispatcher["clock"] = clock
    await half_a_tip(chat, tree)
    clock.advance(STATE_SECONDS + 1)
    for _ in range(200):  # a bound, not a timing: the sweep runs within SWEEP_SECONDS
        if TEXT not in memory_of(app):
            break
        await asyncio.sleep(0.05)
    assert TEXT not in memory_of(app)


async def test_redis_keys_and_expiry_say_neither_who_nor_which_conversation(database_url, officers_key, tree):  # noqa: F811
    async with bot_with_redis(database_url, officers_key) as (app, client):
        chat = ChatDriver(app)
        code, _ = await file_tip(chat, tree, user_id=READER)
        await chat.send(f"/tipstatus {code}", user_id=READER)  # "viewing tip N"
        await half_a_tip(chat, tree)  # "writing a tip"
        await chat.send("/join", user_id=JOINER)  # any other conversation: joining a hamlet
        for area in ("C1", "H11"):
            await chat.press(f"area:{tree[area].id}", user_id=JOINER)
        assert chat.buttons(JOINER) == ["consent:yes", "consent:no"]
        await chat.send("/language", user_id=LINGUIST)
        await chat.press("lang:en", user_id=LINGUIST)
        keys = [key.decode() for key in await client.keys("binhyen:fsm:*")]
        assert keys
        for user in (TIPSTER, READER, JOINER, LINGUIST, chat.bot.id):
            assert not [key for key in keys if str(user) in key], user
        ttls = {key: await client.ttl(key) for key in keys}
        conversations = {key: ttl for key, ttl in ttls.items() if ttl <= STATE_SECONDS}
        # Writing a tip, viewing one, anything else: one policy, the hour after the last step.
        assert len([key for key in conversations if key.endswith(":state")]) == 3, ttls
        assert all(STATE_SECONDS - 30 < ttl <= STATE_SECONDS for ttl in conversations.values()), ttls
        assert len(ttls) - len(conversations) == 1  # the language a non-member chose: 30 days
        # The sealed states are of one length whatever their name.
        states = {len(await client.get(key)) for key in keys if key.endswith(":state")}
        assert len(states) == 1, states
        assert TEXT not in await redis_values(client)


async def test_the_day_key_beside_the_counters_does_not_make_a_senders_tag(database_url, officers_key, tree):  # noqa: F811
    """Whoever reads Redis finds the day's random value beside the counters keyed by senders'
    tags; without the tip secret it does not give a known user's tag."""
    import hashlib
    import hmac

    async with bot_with_redis(database_url, officers_key) as (app, client):
        chat = ChatDriver(app)
        await file_tip(chat, tree)
        [day_key_name] = [key for key in await client.keys("binhyen:tips:daykey:*")]
        day_value = await client.get(day_key_name)
        counters = " ".join(key.decode() for key in await client.keys("binhyen:tips:*"))
        naive = hmac.new(day_value, f"telegram:{TIPSTER}".encode(), hashlib.sha256).hexdigest()[:32]
        assert naive not in counters
        assert ":sent:" in counters  # the sender is counted, under a tag only the secret makes


@pytest.mark.parametrize(("config", "warned"), [
    ({"save": "3600 1 300 100 60 10000", "appendonly": "no"}, "writes its data to disk"),
    ({"save": "", "appendonly": "yes"}, "writes its data to disk"),
    (ResponseError("unknown command 'CONFIG'"), "did not say whether"),
    ({"save": "", "appendonly": "no"}, None),
])
async def test_a_redis_that_persists_is_warned_about_at_start(database_url, officers_key, monkeypatch, caplog,
                                                              config, warned):
    """Conversation state and tip counters must not outlive their expiry on disk: a Redis with
    RDB snapshots or AOF (or one that will not say) gets a warning when the bot starts."""
    async def config_get(self, pattern="*", *args, **kwargs):
        if isinstance(config, Exception):
            raise config
        return {pattern: config[pattern]}

    monkeypatch.setattr(Redis, "config_get", config_get)
    caplog.set_level(logging.WARNING, logger="bot.app")
    app = await build_app(tip_settings(database_url, officers_key, redis_url=redis_url()))
    await app.close()
    messages = [record.getMessage() for record in caplog.records if record.name == "bot.app"]
    if warned is None:
        assert not messages
    else:
        assert any(warned in message for message in messages), messages
