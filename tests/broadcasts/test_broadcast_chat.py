"""/broadcast, /broadcasts and /campaign through the real dispatcher."""

import pytest
from aiogram.types import CallbackQuery, Update
from sqlalchemy import select

from db.models import Broadcast, Delivery, Reminder
from testkit.delivery_fakes import TZ, FakeClock, local, world  # noqa: F401  (world: a fixture)
from testkit.fakes import count

HEAD, OFFICER, RESIDENT = 201, 301, 101


@pytest.fixture
def clock(app):
    clock = FakeClock(local(2026, 8, 10, 9, 0))
    app.dispatcher["clock"] = clock
    return clock


async def forge(chat, data: str, user_id: int) -> list[str]:
    """Press a button that was never offered (forged or stale callback data)."""
    before = len(chat.session.sent)
    menu = chat.session.menus.get(user_id)
    message = menu.message if menu else chat.session._message(chat.bot, user_id, "…", None)
    chat.session._callback_chats["forged"] = user_id
    await chat.feed(Update(update_id=99_000 + len(chat.session.sent), callback_query=CallbackQuery(
        id="forged", from_user=chat.user(user_id), chat_instance="t", message=message, data=data)))
    return [sent.text for sent in chat.session.sent[before:]]


async def test_a_head_broadcasts_to_their_hamlet_now(chat, session, world, clock):
    [ask] = await chat.send("/broadcast", user_id=HEAD)
    assert "Ấp Bình Long" in ask
    [audiences] = await chat.send("Tối nay họp tổ nhân dân tự quản lúc 19:00.", user_id=HEAD)
    assert chat.buttons(HEAD) == ["bc:aud:all", "bc:aud:unpledged", "bc:aud:unreached", "bc:cancel"]
    [preview] = await chat.press("bc:aud:all", user_id=HEAD)
    assert "📢 <b>Thông báo — Ấp Bình Long</b>" not in preview  # shown as text, not markup
    assert "Thông báo — Ấp Bình Long" in preview and "Gửi tới 3 người" in preview
    assert "bc:urgent" not in chat.buttons(HEAD)  # heads may not mark urgent
    assert "bc:at:evening" in chat.buttons(HEAD)
    [done] = await chat.press("bc:now", user_id=HEAD)
    assert "Đang gửi thông báo #1 tới 3 người" in done
    assert await count(session, Delivery, Delivery.source == "broadcast:1") == 3


async def test_a_head_cannot_broadcast_outside_their_hamlet(chat, world, clock):
    [reply] = await chat.send("/broadcast H12", user_id=HEAD)
    assert "ngoài phạm vi" in reply
    [reply] = await chat.send("/broadcast", user_id=RESIDENT)
    assert "chưa có quyền" in reply


async def test_an_officer_stays_within_the_commune_even_with_forged_buttons(chat, world, clock):
    [reply] = await chat.send("/broadcast H21", user_id=OFFICER)
    assert "ngoài phạm vi" in reply
    [menu] = await chat.send("/broadcast", user_id=OFFICER)
    assert "Gửi thông báo tới đâu?" in menu
    h21 = world.areas["H21"].id
    assert f"bc:area:{h21}" not in chat.buttons(OFFICER)
    await forge(chat, f"bc:area:{h21}", OFFICER)
    assert chat.session.sent[-1].text.startswith("Địa bàn này nằm ngoài phạm vi")
    await forge(chat, "bc:aud:everyone", OFFICER)  # a step that is not the current one
    assert "không còn dùng được" in chat.session.sent[-1].text


async def test_an_officer_schedules_then_cancels_a_broadcast(chat, session, world, clock):
    await chat.send("/broadcast", user_id=OFFICER)
    await chat.press(f"bc:area:{world.areas['C1'].id}", user_id=OFFICER)
    await chat.send("Họp trưởng ấp sáng mai.", user_id=OFFICER)
    assert "bc:aud:heads" in chat.buttons(OFFICER)
    [preview] = await chat.press("bc:aud:heads", user_id=OFFICER)
    assert "Gửi tới 1 người" in preview
    [preview] = await chat.press("bc:urgent", user_id=OFFICER)
    assert "THÔNG BÁO KHẨN" in preview
    [scheduled] = await chat.press("bc:at:morning", user_id=OFFICER)
    assert "Đã hẹn gửi thông báo #1 lúc 07:00 11/08/2026" in scheduled
    [listing] = await chat.send("/broadcasts", user_id=OFFICER)
    assert "#1 · 07:00 11/08 · Xã Tân Hòa · trưởng ấp, khóm, thôn" in listing and "đã hẹn giờ" in listing
    assert chat.buttons(OFFICER) == ["bc:drop:1"]
    # The head sees nothing of the commune's broadcasts and cannot cancel it.
    await chat.send("/broadcasts", user_id=HEAD)
    await forge(chat, "bc:dropok:1", HEAD)
    assert "không có thông báo #1 mà bạn được phép hủy" in chat.session.sent[-1].text.lower()
    await chat.press("bc:drop:1", user_id=OFFICER)
    [cancelled] = await chat.press("bc:dropok:1", user_id=OFFICER)
    assert "Đã hủy thông báo #1" in cancelled
    await session.rollback()
    assert await session.scalar(select(Broadcast.status)) == "cancelled"


async def test_quiet_hours_move_a_send_to_the_morning(chat, session, world, clock):
    clock.set(local(2026, 8, 10, 22, 15))
    await chat.send("/broadcast", user_id=HEAD)
    await chat.send("Nhắc bà con khóa cửa.", user_id=HEAD)
    [preview] = await chat.press("bc:aud:all", user_id=HEAD)
    assert "bc:at:evening" not in chat.buttons(HEAD)  # 19:00 has passed
    [reply] = await chat.press("bc:now", user_id=HEAD)
    assert "lúc 06:00 11/08/2026" in reply and "Giờ nghỉ 21:00–06:00" in reply
    assert await count(session, Delivery) == 0


async def ask_for_a_time(chat, text: str) -> str:
    """The hamlet head writes a broadcast of `text` to everyone and chooses another time: the
    question the bot asks."""
    await chat.send("/broadcast", user_id=HEAD)
    await chat.send(text, user_id=HEAD)
    await chat.press("bc:aud:all", user_id=HEAD)
    [ask] = await chat.press("bc:at:other", user_id=HEAD)
    return ask


async def test_typed_times_are_checked(chat, world, clock):
    await ask_for_a_time(chat, "Họp")
    [reply] = await chat.send("25:99", user_id=HEAD)
    assert "Không hiểu thời gian" in reply
    [reply] = await chat.send("08:00", user_id=HEAD)
    assert "đã qua" in reply
    [reply] = await chat.send("20/08 19:30", user_id=HEAD)
    assert "lúc 19:30 20/08/2026" in reply


async def test_an_empty_or_huge_text_is_refused_politely(chat, world, clock):
    await chat.send("/broadcast", user_id=HEAD)
    [reply] = await chat.send("x" * 3001, user_id=HEAD)
    assert "tối đa 3000 ký tự" in reply
    [reply] = await chat.send("/foo", user_id=HEAD)  # a command is not the text…
    assert "chưa có lệnh này" in reply
    [reply] = await chat.send("Họp tổ", user_id=HEAD)  # …and the draft waits for it
    assert "Gửi cho ai trong Ấp Bình Long?" in reply


async def test_an_officer_adds_a_milestone_and_a_reminder_in_chat(chat, session, world, clock):
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "Phong trào năm 2026" in calendar and "Chưa có mốc nào" in calendar
    await chat.press("cp:add", user_id=OFFICER)
    await chat.press("cp:kind:festival_day", user_id=OFFICER)
    [added] = await chat.press("cp:festival", user_id=OFFICER)
    assert "Ngày hội toàn dân bảo vệ an ninh Tổ quốc ngày 19/08/2026" in added
    milestone_button = chat.buttons(OFFICER)[0]
    await chat.press(milestone_button, user_id=OFFICER)
    [ask] = await chat.send("7", user_id=OFFICER)
    assert "Trước 7 ngày" in ask
    await chat.press("cp:at:0800", user_id=OFFICER)
    [saved] = await chat.press("cp:aud:unpledged", user_id=OFFICER)
    assert "lúc 08:00 12/08/2026" in saved and "Xã Tân Hòa" in saved
    await session.rollback()
    reminder = await session.scalar(select(Reminder))
    assert reminder.area.code == "C1" and reminder.audience == "unpledged"
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "08:00 12/08 · Trước 7 ngày · Hộ chưa ký cam kết · Xã Tân Hòa — đã hẹn" in calendar
    [refused] = await chat.send("/campaign", user_id=HEAD)
    assert "chưa có quyền" in refused


async def test_a_head_broadcasts_an_outreach_article_each_recipient_reads_it_in_their_language(
        chat, session, world, clock, app):
    catalog = app.dispatcher["catalog"]
    vi, en = catalog.article("lua-dao-cong-nghe-cao", "vi"), catalog.article("lua-dao-cong-nghe-cao", "en")
    await chat.send("/broadcast", user_id=HEAD)
    assert "bc:art" in chat.buttons(HEAD)
    await chat.press("bc:art", user_id=HEAD)
    assert f"bc:art:{vi.id}" in chat.buttons(HEAD)
    [audiences] = await chat.press(f"bc:art:{vi.id}", user_id=HEAD)
    assert vi.title in audiences and "Ấp Bình Long" in audiences
    [preview] = await chat.press("bc:aud:all", user_id=HEAD)
    assert vi.title in preview and vi.summary in preview and "Gửi tới 3 người" in preview
    [done] = await chat.press("bc:now", user_id=HEAD)
    assert "Đang gửi thông báo #1 tới 3 người" in done
    await session.rollback()
    assert await session.scalar(select(Broadcast.article_id)) == vi.id
    texts = {row.chat_id: row.text for row in await session.scalars(select(Delivery))}
    assert set(texts) == {"101", "102", "103"}  # 102 reads English, the others Vietnamese
    for chat_id in ("101", "103"):
        assert vi.title in texts[chat_id] and en.title not in texts[chat_id]
        assert f"gõ /learn {vi.id}" in texts[chat_id]
    assert en.title in texts["102"] and en.summary in texts["102"]
    assert texts["102"].startswith("📢 <b>Announcement — Ấp Bình Long</b>")
    assert f"type /learn {vi.id}" in texts["102"]
    assert all(len(text) <= 4096 for text in texts.values())
    [listing] = await chat.send("/broadcasts", user_id=HEAD)
    assert f"📖 {vi.title}"[:40] in listing
    # The command the message names opens the article.
    replies = await chat.send(f"/learn {vi.id}", user_id=RESIDENT)
    assert vi.title in replies[0]


async def test_an_article_with_the_longest_text_stays_within_telegrams_limit(world, app):
    from db.services.broadcasts import MAX_TEXT, render
    from testkit.delivery_fakes import make_translator

    catalog = app.dispatcher["catalog"]
    longest = max((a for a in catalog.articles.values()), key=lambda a: len(a.title) + len(a.summary))
    long_one = longest.__class__(**{**longest.__dict__, "summary": "x" * 5000, "title": "y" * 500})
    text = render(make_translator(), "en", world.areas["H11"], "z" * MAX_TEXT, True, long_one)
    assert len(text) <= 4096


async def test_nobody_left_to_reach_when_sending_is_said_not_scheduled(chat, session, world, clock):
    from sqlalchemy import update

    from db.models import Member

    await chat.send("/broadcast", user_id=HEAD)
    await chat.send("Họp tổ", user_id=HEAD)
    [preview] = await chat.press("bc:aud:all", user_id=HEAD)
    assert "Gửi tới 3 người" in preview
    # Since the preview every recipient blocked the bot.
    await session.execute(update(Member).where(Member.user_id.in_(["101", "102", "103"]))
                          .values(unreachable_at=clock.now()))
    await session.commit()
    [reply] = await chat.press("bc:now", user_id=HEAD)
    assert "Thông báo #1 không gửi tới ai" in reply and "hẹn" not in reply
    await session.rollback()
    assert await session.scalar(select(Broadcast.status)) == "done"


async def test_commands_keep_their_meaning_at_every_typed_step_of_a_broadcast(chat, session, world, clock):
    # The area, typed by an officer.
    await chat.send("/broadcast", user_id=OFFICER)
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    # The text: /id answers and the draft waits; /cancel ends it.
    await chat.send("/broadcast", user_id=OFFICER)
    await chat.press(f"bc:area:{world.areas['C1'].id}", user_id=OFFICER)
    [reply] = await chat.send("/id", user_id=OFFICER)
    assert "Mã của bạn" in reply
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    [reply] = await chat.send("Họp", user_id=OFFICER)  # nothing waits for a text any more
    assert "chưa hiểu" in reply
    # Another time.
    assert "DD/MM/YYYY" in await ask_for_a_time(chat, "Họp tổ")
    [reply] = await chat.send("/cancel", user_id=HEAD)
    assert "Đã dừng" in reply
    assert await count(session, Broadcast) == 0


async def test_commands_keep_their_meaning_at_every_typed_step_of_the_calendar(chat, session, world, clock):
    from db.models import Milestone

    async def at_step(*presses: str) -> None:
        await chat.send("/campaign", user_id=OFFICER)
        for data in presses:
            await chat.press(data if data != "milestone" else chat.buttons(OFFICER)[0], user_id=OFFICER)

    await at_step("cp:add", "cp:kind:custom")  # the title
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    await at_step("cp:add", "cp:kind:six_month_review")  # the day
    [reply] = await chat.send("/id", user_id=OFFICER)
    assert "Mã của bạn" in reply
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    assert await count(session, Milestone) == 0
    await at_step("cp:add", "cp:kind:festival_day", "cp:festival")
    await at_step("cp:remind", "milestone")  # the days before
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    await at_step("cp:remind", "milestone")
    await chat.send("1", user_id=OFFICER)  # the time
    [reply] = await chat.send("/cancel", user_id=OFFICER)
    assert "Đã dừng" in reply
    assert await count(session, Reminder) == 0


def _forms():
    """Every conversation of the bot: the StatesGroups of the handlers' modules."""
    import importlib
    import pkgutil

    from aiogram.fsm.state import StatesGroup

    import handlers

    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StatesGroup) and value is not StatesGroup \
                    and value.__module__ == module.__name__:
                yield value


async def test_cancel_ends_every_step_of_every_conversation(chat, app, world, clock):
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.storage.base import StorageKey

    states = [state for form in _forms() for state in form.__all_states__]
    assert len(states) > 20  # broadcast, campaign, tips, tip status, joining, pledge withdrawal
    key = StorageKey(bot_id=chat.bot.id, chat_id=OFFICER, user_id=OFFICER)
    context = FSMContext(app.dispatcher.storage, key)
    for state in states:
        await context.set_state(state)
        await context.set_data({"area_id": world.areas["C1"].id})
        replies = await chat.send("/cancel", user_id=OFFICER)
        assert await context.get_state() is None, f"{state.state}: {replies}"
        assert len(replies) == 1 and ("Đã dừng" in replies[0] or "hủy" in replies[0].lower()), (
            f"{state.state}: {replies}")


async def test_next_years_calendar_in_december_with_a_typed_offset(chat, session, world, clock):
    from db.models import Campaign, Milestone

    clock.set(local(2026, 12, 15, 9, 0))
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "Phong trào năm 2026" in calendar and "cp:year:2027" in chat.buttons(OFFICER)
    [calendar] = await chat.press("cp:year:2027", user_id=OFFICER)
    assert "Chưa có chiến dịch năm 2027" in calendar and "cp:year:2026" in chat.buttons(OFFICER)
    await chat.press("cp:add", user_id=OFFICER)
    [ask] = await chat.press("cp:kind:registration_deadline", user_id=OFFICER)
    assert "2027" in ask
    [refused] = await chat.send("10/02/2026", user_id=OFFICER)  # not in next year's campaign
    assert "nằm ngoài thời gian của chiến dịch" in refused
    assert await count(session, Campaign) == 1  # a refused milestone creates no campaign
    [added] = await chat.send("10/02/2027", user_id=OFFICER)
    assert "Đã tạo chiến dịch năm 2027 cho Xã Tân Hòa" in added and "10/02/2027" in added
    await chat.press(chat.buttons(OFFICER)[0], user_id=OFFICER)  # a reminder for it
    [refused] = await chat.send("91", user_id=OFFICER)
    assert "từ 0 đến 90" in refused
    [ask] = await chat.send("5", user_id=OFFICER)
    assert "Trước 5 ngày" in ask
    await chat.send("08:00", user_id=OFFICER)
    [saved] = await chat.press("cp:aud:unpledged", user_id=OFFICER)
    assert "lúc 08:00 05/02/2027" in saved
    await session.rollback()
    campaign = await session.scalar(select(Campaign).where(Campaign.year == 2027))
    assert campaign.area.code == "C1"
    milestone = await session.scalar(select(Milestone))
    assert milestone.campaign_id == campaign.id and milestone.happens_on.isoformat() == "2027-02-10"
    reminder = await session.scalar(select(Reminder))
    assert reminder.days_before == 5 and reminder.due_at == local(2027, 2, 5, 8, 0)
    await chat.send("/campaign", user_id=OFFICER)
    [calendar] = await chat.press("cp:year:2027", user_id=OFFICER)
    assert "10/02/2027" in calendar and "Trước 5 ngày" in calendar


async def test_an_officer_removes_a_reminder_in_chat(chat, session, world, clock):
    from db.services.milestones import ReminderSpec, add_milestone, add_reminder
    from db.services.schedule_times import QuietHours

    festival, _ = await add_milestone(session, world.campaign, world.areas["C1"], "festival_day",
                                      None, None, TZ, None)
    reminder = await add_reminder(session, festival, world.areas["C1"], ReminderSpec.parse("1d"), None,
                                  None, clock.now(), TZ, QuietHours.parse("21:00-06:00"))
    await session.commit()
    await chat.send("/campaign", user_id=OFFICER)
    [ask] = await chat.press("cp:rm", user_id=OFFICER)
    assert "Xóa lời nhắc nào?" in ask
    assert chat.buttons(OFFICER) == [f"cp:rm:{reminder.id}", "cp:close"]
    [confirm] = await chat.press(f"cp:rm:{reminder.id}", user_id=OFFICER)
    assert "08:00 18/08" in confirm
    [removed] = await chat.press(f"cp:rmok:{reminder.id}", user_id=OFFICER)
    assert f"Đã xóa lời nhắc #{reminder.id}" in removed
    assert await count(session, Reminder) == 0
    again = await forge(chat, f"cp:rmok:{reminder.id}", OFFICER)
    assert any(f"Không có lời nhắc #{reminder.id}" in text for text in again)


async def test_counts_before_nouns_are_english_plurals(chat, session, world, clock):
    from sqlalchemy import update

    from db.models import Member
    from db.services.milestones import ReminderSpec, add_milestone, add_reminder

    await session.execute(update(Member).where(Member.user_id == str(OFFICER)).values(locale="en"))
    festival, _ = await add_milestone(session, world.campaign, world.areas["C1"], "festival_day",
                                      None, None, TZ, None)
    await add_reminder(session, festival, world.areas["C1"], ReminderSpec.parse("1d"), None, None,
                       clock.now(), TZ, None)
    await add_reminder(session, festival, world.areas["C1"], ReminderSpec.parse("3d"), None, None,
                       clock.now(), TZ, None)
    await session.commit()
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "1 day before" in calendar and "3 days before" in calendar and "1 days" not in calendar
    await chat.send("/broadcast", user_id=OFFICER)
    await chat.press(f"bc:area:{world.areas['C1'].id}", user_id=OFFICER)
    await chat.send("Meeting of the hamlet heads.", user_id=OFFICER)
    [preview] = await chat.press("bc:aud:heads", user_id=OFFICER)
    assert "Goes to 1 person (" in preview
    await chat.send("/broadcast", user_id=OFFICER)
    await chat.press(f"bc:area:{world.areas['C1'].id}", user_id=OFFICER)
    await chat.send("Meeting of all residents.", user_id=OFFICER)
    [preview] = await chat.press("bc:aud:all", user_id=OFFICER)
    assert "Goes to 5 people (" in preview  # the four households of C1 and the head of H11
