"""Test doubles for scheduling and delivery: a controlled clock, a scripted Sender, a small world."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from db.models import Household, Member
from db.services.areas import add_area
from db.services.campaigns import create_campaign
from db.services.members import grant_role
from db.text import Translator
from delivery.sender import SENT, Outcome

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    """A local (Vietnam) time, timezone-aware."""
    return datetime(*args, tzinfo=TZ)


class FakeClock:
    """Time that moves only when someone sleeps or waits: tests never wait for real."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(timezone.utc)
        self._mono = 1000.0
        self.alarms: list[tuple[float, object]] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (forward only)."""
        self.advance((moment - self._now).total_seconds())

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
        for alarm in [a for a in self.alarms if a[0] <= self._mono]:
            self.alarms.remove(alarm)
            alarm[1]()

    def at(self, seconds_from_now: float, callback) -> None:
        """Call `callback` once this much (fake) time has passed."""
        self.alarms.append((self._mono + seconds_from_now, callback))

    async def sleep(self, seconds: float) -> None:
        # What is ready to run runs first, at the time it was started (a task just created to
        # send does not send "after" this sleep), then time moves.
        await asyncio.sleep(0)
        self.advance(seconds)
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        if not event.is_set():
            self.advance(timeout)
        await asyncio.sleep(0)


@dataclass
class Call:
    at: float
    chat_id: str
    text: str
    answered_at: float = 0.0


@dataclass
class FakeSender:
    """Records each send with the (fake) time; answers from a per-chat script, else Sent."""

    clock: FakeClock
    script: dict[str, list[Outcome]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    async def send(self, chat_id: str, text: str, pace=None) -> Outcome:
        call = Call(self.clock.monotonic(), chat_id, text)
        self.calls.append(call)
        queue = self.script.get(chat_id)
        outcome = queue.pop(0) if queue else SENT
        await asyncio.sleep(0)
        call.answered_at = self.clock.monotonic()
        return outcome

    def chats(self) -> list[str]:
        return [call.chat_id for call in self.calls]


def make_translator() -> Translator:
    """The real catalogs (compiled by the test session)."""
    from base.i18n import make_i18n, translator

    return translator(make_i18n("vi"))


@dataclass
class World:
    """Province P → communes C1 (hamlets H11, H12) and C2 (hamlet H21), a 2026 campaign,
    residents on Telegram (chat ids "101"…), a hamlet head of H11 and an officer of C1."""

    areas: dict
    campaign: object
    members: dict[str, Member]


@pytest.fixture
async def world(session) -> "World":
    """The small world below, committed."""
    return await build_world(session)


@pytest.fixture
def translator() -> Translator:
    return make_translator()


async def build_world(session, year: int = 2026) -> World:
    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    c1 = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    c2 = await add_area(session, "C2", "Xã Bình Thạnh", "commune", province)
    h11 = await add_area(session, "H11", "Ấp Bình Long", "hamlet", c1)
    h12 = await add_area(session, "H12", "Ấp Tân Phú", "hamlet", c1)
    h21 = await add_area(session, "H21", "Ấp Hòa Bình", "hamlet", c2)
    campaign = await create_campaign(session, province, year, f"Phong trào năm {year}",
                                     pledge_version="2026.1")
    members = {}
    for user_id, hamlet, locale in (("101", h11, None), ("102", h11, "en"), ("103", h11, "vi"),
                                    ("104", h12, None), ("105", h21, None)):
        household = Household(hamlet_id=hamlet.id, code=f"HH{user_id}", head_name="Lê Văn Tám",
                              head_name_key="le van tam", address="", size=3)
        session.add(household)
        await session.flush()
        member = Member(channel="telegram", user_id=user_id, household_id=household.id,
                        role="resident", locale=locale)
        session.add(member)
        members[user_id] = member
    members["201"] = await grant_role(session, "telegram", "201", "hamlet_head", "H11")
    members["301"] = await grant_role(session, "telegram", "301", "officer", "C1")
    await session.commit()
    areas = {area.code: area for area in (province, c1, c2, h11, h12, h21)}
    return World(areas, campaign, members)
