"""/broadcast, /broadcasts and /campaign through the real dispatcher."""

import pytest
from aiogram.types import CallbackQuery, Update
from sqlalchemy import select

from db.models import Broadcast, Delivery, Reminder
from tests.delivery_fakes import FakeClock, local, world  # noqa: F401  (world: a fixture)
from tests.fakes import count

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


async def test_typed_times_are_checked(chat, world, clock):
    await chat.send("/broadcast", user_id=HEAD)
    await chat.send("Họp", user_id=HEAD)
    await chat.press("bc:aud:all", user_id=HEAD)
    await chat.press("bc:at:other", user_id=HEAD)
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
    [reply] = await chat.send("/foo", user_id=HEAD)
    assert "Hãy gõ nội dung" in reply


async def test_an_officer_adds_a_milestone_and_a_reminder_in_chat(chat, session, world, clock):
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "Phong trào năm 2026" in calendar and "Chưa có mốc nào" in calendar
    await chat.press("cp:add", user_id=OFFICER)
    await chat.press("cp:kind:festival_day", user_id=OFFICER)
    [added] = await chat.press("cp:festival", user_id=OFFICER)
    assert "Ngày hội toàn dân bảo vệ an ninh Tổ quốc ngày 19/08/2026" in added
    milestone_button = chat.buttons(OFFICER)[0]
    await chat.press(milestone_button, user_id=OFFICER)
    await chat.press("cp:off:7", user_id=OFFICER)
    await chat.press("cp:at:08:00", user_id=OFFICER)
    [saved] = await chat.press("cp:aud:unpledged", user_id=OFFICER)
    assert "lúc 08:00 12/08/2026" in saved and "Xã Tân Hòa" in saved
    await session.rollback()
    reminder = await session.scalar(select(Reminder))
    assert reminder.area.code == "C1" and reminder.audience == "unpledged"
    [calendar] = await chat.send("/campaign", user_id=OFFICER)
    assert "08:00 12/08 · Trước 7 ngày · Hộ chưa ký cam kết · Xã Tân Hòa — đã hẹn" in calendar
    [refused] = await chat.send("/campaign", user_id=HEAD)
    assert "chưa có quyền" in refused
