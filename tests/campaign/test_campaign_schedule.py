"""The campaign calendar and the scheduler: reminders fire at the right local time, once; planning
twice never duplicates a job; missed work is sent late or skipped when stale."""

import asyncio
from datetime import date, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from sqlalchemy import func, select, text

from db.models import Delivery, Reminder
from db.services.broadcasts import cancel_broadcast, create_broadcast
from db.services.milestones import ReminderSpec, add_milestone, add_reminder
from db.services.schedule_times import QuietHours
from db.session import make_sessionmaker
from db.text import Problem
from scheduler import jobs
from scheduler.jobs import JobContext
from scheduler.planner import Planner, job_store_url
from testkit.delivery_fakes import TZ, FakeClock, local, make_translator, world  # noqa: F401

QUIET = QuietHours.parse("21:00-06:00")


@pytest.fixture
def clock():
    return FakeClock(local(2026, 8, 1, 9, 0))


@pytest.fixture
def context(engine, clock):
    return JobContext(make_sessionmaker(engine), TZ, QUIET, timedelta(hours=12), make_translator(),
                      clock)


@pytest.fixture
async def planner(context, database_url):
    planner = Planner(context, database_url)
    yield planner
    planner.shutdown()


async def festival_with_reminder(session, world, clock, spec="7d@08:00:unpledged", area="H11"):
    festival, _ = await add_milestone(session, world.campaign, world.areas["P"], "festival_day",
                                      None, None, TZ, QUIET)
    reminder = await add_reminder(session, festival, world.areas[area], ReminderSpec.parse(spec),
                                  None, world.members["301"] if area != "P" else None,
                                  clock.now(), TZ, QUIET)
    await session.commit()
    return festival, reminder


async def stored_jobs(planner) -> int:
    with planner.store_engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM apscheduler_jobs"))


async def test_a_reminder_is_due_days_before_the_milestone_at_local_time(session, world, clock):
    festival, reminder = await festival_with_reminder(session, world, clock)
    assert festival.happens_on == date(2026, 8, 19)  # the movement's festival day
    assert reminder.due_at == local(2026, 8, 12, 8, 0)
    late = await add_reminder(session, festival, world.areas["H11"], ReminderSpec.parse("1d@22:30"),
                              None, None, clock.now(), TZ, QUIET)
    assert late.due_at == local(2026, 8, 19, 6, 0)  # quiet hours move it to their end
    with pytest.raises(Problem, match="đã qua"):
        await add_reminder(session, festival, world.areas["H11"], ReminderSpec.parse("30d"),
                           None, None, clock.now(), TZ, QUIET)
    with pytest.raises(Problem, match="ngoài phạm vi"):  # an officer of C1 for a hamlet of C2
        await add_reminder(session, festival, world.areas["H21"], ReminderSpec.parse("1d"),
                           None, world.members["301"], clock.now(), TZ, QUIET)


@pytest.mark.parametrize("spec", ["7", "7d@25:00", "7d@08:00:everyone", "400d"])
def test_reminder_specs_are_checked(spec):
    with pytest.raises(Problem, match="NGÀYd"):
        ReminderSpec.parse(spec)


async def test_planning_twice_or_moving_a_milestone_never_duplicates_jobs(
        engine, session, world, clock, planner, context, database_url):
    festival, reminder = await festival_with_reminder(session, world, clock)
    await planner.start(paused=True)
    job = planner.scheduler.get_job(f"reminder:{reminder.id}")
    assert job.next_run_time == local(2026, 8, 12, 8, 0)
    assert job.next_run_time.utcoffset() == timedelta(hours=7)
    assert await stored_jobs(planner) == 4  # the reminder, "plan", "prune-updates", "tallies-snapshot"
    assert await planner.plan() == 1
    restarted = Planner(context, database_url)  # a restart re-adds standing jobs under their ids
    await restarted.start(paused=True)
    restarted.shutdown()
    assert await stored_jobs(planner) == 4
    # Moving the festival re-plans its reminder under the same id.
    await add_milestone(session, world.campaign, world.areas["P"], "festival_day",
                        date(2026, 8, 20), None, TZ, QUIET)
    await session.commit()
    await planner.plan()
    assert planner.scheduler.get_job(f"reminder:{reminder.id}").next_run_time == local(2026, 8, 13, 8, 0)
    assert await stored_jobs(planner) == 4
    prune = planner.scheduler.get_job("prune-updates")
    assert (prune.next_run_time.hour, prune.next_run_time.minute) == (3, 30)  # daily, local time
    assert prune.next_run_time.utcoffset() == timedelta(hours=7)
    snapshot = planner.scheduler.get_job("tallies-snapshot")
    assert (snapshot.next_run_time.hour, snapshot.next_run_time.minute) == (23, 45)


async def test_a_scheduled_broadcast_is_planned_and_a_cancelled_one_unplanned(
        engine, session, world, clock, planner, context):
    item = await create_broadcast(session, world.members["201"], world.areas["H11"], "all", "Họp",
                                  local(2026, 8, 1, 19, 0), False, clock.now(), TZ, QUIET,
                                  context.translator)
    await session.commit()
    await planner.start(paused=True)
    assert planner.scheduler.get_job(f"broadcast:{item.id}").next_run_time == local(2026, 8, 1, 19, 0)
    await cancel_broadcast(session, world.members["201"], item.id)
    await session.commit()
    await planner.plan()
    assert planner.scheduler.get_job(f"broadcast:{item.id}") is None
    assert await stored_jobs(planner) == 3


async def test_the_reminder_fires_at_its_local_time_once(session, world, clock, context):
    _, reminder = await festival_with_reminder(session, world, clock)
    clock.set(local(2026, 8, 12, 7, 59))
    assert await jobs.fire_reminder(reminder.id, context=context) is None  # not yet
    clock.set(local(2026, 8, 12, 8, 0))
    assert await jobs.fire_reminder(reminder.id, context=context) == 3  # H11's unpledged households
    assert await jobs.fire_reminder(reminder.id, context=context) is None  # once
    await session.rollback()
    deliveries = {row.chat_id: row.text for row in await session.scalars(select(Delivery))}
    assert set(deliveries) == {"101", "102", "103"}
    assert "Còn 7 ngày nữa đến <b>Ngày hội toàn dân bảo vệ an ninh Tổ quốc</b> (19/08/2026)" in deliveries["101"]
    assert "7 days left until <b>Festival day" in deliveries["102"]


async def test_a_reminder_missed_for_too_long_is_skipped(session, world, clock, context, planner):
    _, reminder = await festival_with_reminder(session, world, clock)
    clock.set(local(2026, 8, 12, 20, 1))  # 12 h and 1 min late: stale
    await planner.plan()
    await session.rollback()
    assert await session.scalar(select(Reminder.status).where(Reminder.id == reminder.id)) == "missed"
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_a_stale_broadcast_is_missed_and_its_sender_told(session, world, clock, context):
    item = await create_broadcast(session, world.members["201"], world.areas["H11"], "all", "Họp",
                                  local(2026, 8, 1, 19, 0), False, clock.now(), TZ, QUIET,
                                  context.translator)
    await session.commit()
    clock.set(local(2026, 8, 2, 8, 0))
    assert await jobs.fire_broadcast(item.id, context=context) is False
    await session.rollback()
    [report] = list(await session.scalars(select(Delivery)))
    assert report.chat_id == "201" and "đã không được gửi" in report.text


def test_the_job_store_is_the_database_itself_except_beside_sqlite():
    assert job_store_url("postgresql+asyncpg://bot@db/binhyen") == "postgresql+asyncpg://bot@db/binhyen"
    assert job_store_url("sqlite+aiosqlite:///./data/binhyen.db") == "sqlite+aiosqlite:///data/binhyen-jobs.db"


async def test_the_running_scheduler_sends_a_job_missed_while_down_once(
        session, world, clock, context, planner, database_url):
    """A broadcast whose time passed while the scheduler was down goes out when it is back."""
    real_now = datetime.now(TZ)
    clock.set(real_now - timedelta(hours=2))
    item = await create_broadcast(session, world.members["301"], world.areas["H11"], "all", "Họp",
                                  real_now - timedelta(hours=1), True, clock.now(), TZ, QUIET,
                                  context.translator)
    await session.commit()
    await planner.start(paused=True)
    planner.shutdown()  # the scheduler goes down before the send time…
    clock.set(real_now)  # …and comes back an hour after it
    again = Planner(context, database_url)
    ran = asyncio.Event()
    again.scheduler.add_listener(
        lambda event: event.job_id == f"broadcast:{item.id}" and ran.set(),
        EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    try:
        await again.start()
        await asyncio.wait_for(ran.wait(), 10)
    finally:
        again.shutdown()
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 4  # H11 and its head
    assert again.scheduler.get_job(f"broadcast:{item.id}") is None


async def test_removing_a_reminder_takes_its_job_out_of_the_plan(session, world, clock, planner):
    from db.services.members import grant_role
    from db.services.milestones import remove_reminder

    _, reminder = await festival_with_reminder(session, world, clock, area="C1")
    _, kept = await festival_with_reminder(session, world, clock, spec="1d", area="C1")
    await planner.start(paused=True)
    assert planner.scheduler.get_job(f"reminder:{reminder.id}") is not None
    other = await grant_role(session, "telegram", "302", "officer", "C2")
    with pytest.raises(Problem, match="được phép xóa"):  # an officer of another commune
        await remove_reminder(session, other, reminder.id)
    await remove_reminder(session, world.members["301"], reminder.id)
    await session.commit()
    await planner.plan()
    assert planner.scheduler.get_job(f"reminder:{reminder.id}") is None
    assert planner.scheduler.get_job(f"reminder:{kept.id}") is not None
    assert await stored_jobs(planner) == 4  # the one kept and the three standing jobs
    assert await session.scalar(select(func.count()).select_from(Reminder)) == 1


async def test_a_sent_reminder_is_not_removed(session, world, clock, context):
    from db.services.milestones import remove_reminder

    _, reminder = await festival_with_reminder(session, world, clock)
    clock.set(local(2026, 8, 12, 8, 0))
    assert await jobs.fire_reminder(reminder.id, context=context) == 3
    with pytest.raises(Problem, match="đã gửi"):
        await remove_reminder(session, None, reminder.id)


def test_reminders_count_days_in_the_readers_plural(world):
    from types import SimpleNamespace

    from db.services.milestones import render_reminder

    translator = make_translator()
    festival = SimpleNamespace(title=None, kind="festival_day", happens_on=date(2026, 8, 19))
    for days, english, vietnamese in ((1, "1 day left", "Còn 1 ngày nữa"), (7, "7 days left", "Còn 7 ngày nữa")):
        reminder = SimpleNamespace(milestone=festival, days_before=days, text=None, audience="all")
        assert english in render_reminder(translator, "en", reminder)
        assert vietnamese in render_reminder(translator, "vi", reminder)
