"""Anonymous tips on Zalo, through the real transport against the fake Zalo Bot API: /tip by numbers
and typed text, the receipt code, /tipstatus and an addition; the officers' copy in the group routed
for channel zalo, triage by number there; and no trace of the tipster's Zalo id anywhere."""

import asyncio
import io
import logging
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from bot.channels.zalo import aiogram_id, zalo_channel
from bot.cli.main import main
from db.models import Tip, TipEntry, TipPhoto
from db.services.members import grant_role
from db.services.tip_sealing import key_text, unseal
from db.services.tips import set_route
from handlers.tips import inbox as tip_inbox
from handlers.tips.inbox import copies_sent
from testkit.arrange import tree
from testkit.delivery_fakes import TZ
from testkit.fakes import count, fetch
from testkit.zalo_chat import LAN, WEBHOOK_URL, zalo, zalo_polling, zalo_settings  # noqa: F401  (fixtures)
from tests.tips.test_tips import SECRET as TIP_SECRET
from tests.tips.test_tips import dump, jpeg_with_metadata, officers_key  # noqa: F401  (officers_key: a fixture)

OFFICER = "0b7d1e9a4c2f68e5d310"  # the commune police officer's Zalo id
GROUP = "5f1c0e2ab3d94e7f8a21"  # the officers' Zalo group of commune C1
TELEGRAM_GROUP = "-100111"  # C1's Telegram group: Zalo tips never go there
PLACE = "Quán cà phê gần cầu Bình Long & chợ"
TEXT = ("Có nhóm người lạ bán ma túy ở quán, tối nào cũng tụ tập sau 22 giờ. "
        "Họ hẹn nhau qua trang https://vi-du.vn/nhom?id=7&region=12 <nhóm kín>.")


@pytest.fixture
def settings(database_url, zalo_api, officers_key):
    """Zalo on the fake server, and tips sealed to the test key pair."""
    return zalo_settings(database_url, zalo_api, tip_public_key=key_text(officers_key[0].public_key),
                         tip_secret=TIP_SECRET, tip_private_key_file=officers_key[1])


@pytest.fixture
async def places(session):
    """The area tree, an officer of C1 on Zalo, and C1's groups on Zalo and on Telegram."""
    places = await tree(session)
    await grant_role(session, "zalo", OFFICER, "officer", "C1")
    await set_route(session, "C1", "zalo", GROUP)
    await set_route(session, "C1", "telegram", TELEGRAM_GROUP)
    await session.commit()
    return places


async def file_tip(zalo, commune="Xã Tân Hòa", hamlet="Ấp Bình Long", user=LAN,
                   before_send=lambda: None) -> tuple[str, list[str]]:
    """/tip to the end by numbers and typed text; the receipt code (digits) and the texts seen.
    `before_send` runs just before "Gửi" is chosen."""
    seen = await zalo.send("/tip", user=user)
    seen += await zalo.choose("Ma túy", user=user)
    seen += await zalo.choose(commune, user=user)
    seen += await zalo.choose(hamlet, user=user)
    seen += await zalo.send(PLACE, user=user)
    seen += await zalo.choose("Hôm nay", user=user)
    seen += await zalo.send(TEXT, user=user)
    seen += await zalo.choose("Tiếp tục", user=user)
    before_send()
    seen += await zalo.choose("Gửi", user=user)
    match = re.search(r"\b(\d{4} \d{4} \d{4} \d{4})\b", seen[-1])
    return (match.group(1).replace(" ", "") if match else ""), seen


async def test_a_tip_by_numbers_then_triage_reply_status_and_an_addition(
        zalo_polling, zalo_api, session, places):
    zalo = zalo_polling  # long polling here; the webhook in the other tests
    intro, kinds = await zalo.send("/tip")
    assert "113" in intro and "<b>" not in intro
    assert zalo.menu()["Ma túy"] == 1 and zalo.menu()["Hủy"] == 10
    [communes] = await zalo.choose("Ma túy")
    assert "Bước 2/6" in communes
    await zalo.choose("Xã Tân Hòa")
    [place] = await zalo.choose("Ấp Bình Long")
    assert "Bước 3/6" in place and "Bỏ qua" in zalo.menu()
    [when] = await zalo.send(PLACE)
    assert "Bước 4/6" in when
    await zalo.choose("Hôm nay")
    [photos] = await zalo.send(TEXT)
    assert "Bước 6/6" in photos
    [summary] = await zalo.choose("Tiếp tục")
    # Plain text on Zalo, exactly as typed: no markup, no entity decoded twice.
    assert f"Địa điểm cụ thể: {PLACE}" in summary and f"Nội dung: {TEXT}" in summary
    assert "Nơi xảy ra: Ấp Bình Long, Xã Tân Hòa, Tỉnh Thử" in summary
    assert await count(session, Tip) == 0  # nothing stored before "Gửi"
    [receipt] = await zalo.choose("Gửi")
    code = re.search(r"^(\d{4} \d{4} \d{4} \d{4})$", receipt, re.MULTILINE).group(1).replace(" ", "")
    assert "Mã biên nhận của bạn:" in receipt and "<code>" not in receipt
    assert "Xem trạng thái" in zalo.menu()

    # The copy went to C1's Zalo group, never to its Telegram group, and never with the code.
    [copy] = zalo_api.texts_to(GROUP)
    reference = re.search(r"T-\d{4}-\d{6}", copy).group(0)
    assert "Tin báo mới" in copy and TEXT in copy and PLACE in copy and code not in copy.replace(" ", "")
    assert {attempt.chat_id for attempt in zalo_api.attempts} == {LAN, GROUP}
    assert list(zalo.menu(GROUP)) == ["Đang xác minh", "Đã xử lý", "Đóng"]

    # An officer in the group answers the copy by its number, then replies to the tipster.
    zalo.names[OFFICER] = "Anh Bảy"
    [moved] = await zalo.choose("Đang xác minh", user=OFFICER, chat=GROUP, chat_type="GROUP")
    assert moved == f"{reference}: chuyển sang “Đang xác minh” (Anh Bảy)."
    [saved] = await zalo.send(f"/reply {reference} Cảm ơn bạn, công an xã đang xác minh.",
                              user=OFFICER, chat=GROUP, chat_type="GROUP")
    assert f"Đã lưu trả lời cho {reference}" in saved

    [status] = await zalo.send(f"/tipstatus {code[:4]} {code[4:8]} {code[8:]}")
    assert "Trạng thái: Đang xác minh" in status and "Cảm ơn bạn, công an xã đang xác minh." in status
    [ask] = await zalo.choose("Bổ sung thông tin")
    assert "Gõ thông tin bổ sung" in ask
    [thanks] = await zalo.send("Xe máy biển số 66B1-123.45 hay đậu trước quán.")
    assert "Đã thêm thông tin" in thanks
    assert f"Bổ sung cho {reference}" in zalo_api.texts_to(GROUP)[-1]
    assert "66B1-123.45" in zalo_api.texts_to(GROUP)[-1]
    [status] = await zalo.send(f"/tipstatus {code}")
    assert "Bạn bổ sung" in status and "66B1-123.45" in status

    tip = await fetch(session, select(Tip))
    assert tip.status == "checking" and tip.reference_in(TZ) == reference
    assert await count(session, TipEntry) == 3  # the status, the reply, the addition


async def test_the_tipsters_zalo_id_is_nowhere_in_the_database_nor_the_logs(zalo, session, places, caplog):
    caplog.set_level(logging.DEBUG)
    code, _ = await file_tip(zalo)
    await zalo.send(f"/tipstatus {code}")
    await zalo.choose("Bổ sung thông tin")
    await zalo.send("Bổ sung: người bán đi xe màu đỏ.")
    text = await dump(session)
    assert "Tỉnh Thử" in text and OFFICER in text  # the dump reads every table
    for secret in (LAN, str(aiogram_id(LAN)), code, TEXT, PLACE, "xe màu đỏ",
                   TEXT.encode().decode("latin-1")):
        assert secret not in text, secret
    assert caplog.records
    for secret in (LAN, str(aiogram_id(LAN)), code, TEXT, PLACE):
        assert secret not in caplog.text


async def test_copies_follow_the_routes_of_channel_zalo_set_with_the_cli(
        zalo, zalo_api, session, places, database_url, monkeypatch, capsys):
    province_group = "9a8b7c6d5e4f3a2b1c0d"
    await set_route(session, "P", "telegram", "-100999")
    await session.commit()
    # C2 has no group of its own and the province only one on Telegram: stored, copied nowhere.
    code, _ = await file_tip(zalo, commune="Xã Bình Thạnh", hamlet="Ấp Hòa Bình")
    assert code and await count(session, Tip) == 1
    assert {attempt.chat_id for attempt in zalo_api.attempts} == {LAN}

    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    cli = ["tips", "route", "--area", "P", "--channel", "zalo", "--chat", province_group]
    assert await asyncio.to_thread(main, cli) == 0
    assert await asyncio.to_thread(main, ["tips", "routes"]) == 0
    routes = capsys.readouterr().out
    assert f"P\tzalo\t{province_group}" in routes and f"C1\tzalo\t{GROUP}" in routes

    # Now the province's Zalo group catches C2's tips; C1's still go to C1's own group.
    await file_tip(zalo, commune="Xã Bình Thạnh", hamlet="Ấp Hòa Bình")
    await file_tip(zalo, commune="Xã Tân Hòa", hamlet="Ấp Bình Long", user="77aa88bb99cc00dd11ee")
    [to_province] = zalo_api.texts_to(province_group)
    [to_commune] = zalo_api.texts_to(GROUP)
    assert "Ấp Hòa Bình, Xã Bình Thạnh" in to_province and "Ấp Bình Long, Xã Tân Hòa" in to_commune
    assert "-100999" not in {attempt.chat_id for attempt in zalo_api.attempts}


async def test_the_copy_reaches_a_zalo_id_made_of_digits_and_its_numbers_work(
        zalo, zalo_api, session, places):
    officer = "5765453612345678901"  # Zalo ids may be all digits; a bot may not join groups
    await grant_role(session, "zalo", officer, "officer", "C1")
    await set_route(session, "C1", "zalo", officer)  # the officer's own chat receives the copies
    await session.commit()
    await file_tip(zalo)
    [copy] = zalo_api.texts_to(officer)
    reference = re.search(r"T-\d{4}-\d{6}", copy).group(0)
    [moved] = await zalo.choose("Đã xử lý", user=officer)
    assert moved.startswith(f"{reference}: chuyển sang “Đã xử lý”")
    tip = await fetch(session, select(Tip))
    assert tip.status == "handled"


async def test_another_communes_officer_and_a_resident_cannot_triage_in_the_group(
        zalo, zalo_api, session, places):
    stranger = "c0ffee00c0ffee00c0ff"
    await grant_role(session, "zalo", stranger, "officer", "C2")
    await session.commit()
    await file_tip(zalo)
    [refusal] = await zalo.choose("Đóng", user=stranger, chat=GROUP, chat_type="GROUP")
    assert "ngoài phạm vi" in refusal
    [refusal] = await zalo.send("1", user=LAN, chat=GROUP, chat_type="GROUP")
    assert "chưa có quyền" in refusal
    tip = await fetch(session, select(Tip))
    assert tip.status == "received" and await count(session, TipEntry) == 0


async def test_a_photo_sent_on_zalo_is_stored_cleaned_and_sealed_and_reaches_the_group(
        zalo, zalo_api, session, places, officers_key):
    original = jpeg_with_metadata()
    await zalo.send("/tip")
    await zalo.choose("Ma túy")
    await zalo.choose("Xã Tân Hòa")
    await zalo.choose("Ấp Bình Long")
    await zalo.choose("Bỏ qua")
    await zalo.choose("Hôm nay")
    [photos] = await zalo.send(TEXT)
    assert "Bước 6/6" in photos
    [received] = await zalo.send_image(original, caption="chụp tối qua")
    assert "Đã nhận ảnh 1/5" in received and "Tiếp tục" in zalo.menu()
    [summary] = await zalo.choose("Tiếp tục")
    assert "Ảnh: 1" in summary
    [receipt] = await zalo.choose("Gửi")
    assert "Mã biên nhận của bạn:" in receipt and "không đọc được" not in receipt

    await session.rollback()
    [stored] = (await session.scalars(select(TipPhoto))).all()
    assert b"SecretCam" not in stored.sealed
    photo = unseal(officers_key[0], stored.sealed)
    for marker in (b"Exif", b"SecretCam", b"secret comment", b"secret-xmp", b"xmpmeta"):
        assert marker not in photo
    with Image.open(io.BytesIO(photo)) as picture:
        assert picture.size == (64, 48) and not dict(picture.getexif())
    # The officers' group got the cleaned photo by URL: Zalo fetched it from the bot's server.
    [(url, fetched)] = zalo_api.photos.items()
    assert url.startswith(f"{WEBHOOK_URL}/photos/") and fetched == photo
    assert b"SecretCam" not in fetched


async def test_a_photo_outside_the_photo_step_is_not_understood(zalo, zalo_api, places):
    [reply] = await zalo.send_image(jpeg_with_metadata())
    assert "chưa hiểu ý bạn" in reply
    await zalo.send("/tip")
    [reply] = await zalo.send_image(jpeg_with_metadata())  # the tip's first step wants a kind
    assert "Đã nhận ảnh" not in reply
    assert zalo_api.photos == {}


async def test_a_receipt_refused_once_with_502_is_sent_again(zalo, zalo_api, session, places):
    code, seen = await file_tip(zalo, before_send=lambda: zalo_api.fail(LAN, 502, "Bad Gateway", times=1))
    assert code and "Mã biên nhận của bạn:" in seen[-1]
    assert [attempt.status for attempt in zalo_api.attempts if attempt.chat_id == LAN][-2:] == [502, 200]
    [status] = await zalo.send(f"/tipstatus {code}")
    assert "Trạng thái: Đã tiếp nhận" in status


async def test_a_receipt_still_refused_while_polling_is_sent_by_the_sweep_after_a_restart(
        zalo_polling, zalo_api, app, session, places):
    zalo = zalo_polling  # getUpdates never gives the update again
    code, seen = await file_tip(zalo, before_send=lambda: zalo_api.fail(LAN, 502, "Bad Gateway", times=3))
    assert code == "" and not any("Mã biên nhận" in text for text in seen)
    assert await count(session, Tip) == 1
    restarted = zalo_channel(app)  # a new process: it has never seen the tipster's chat
    try:
        await app.dispatcher["ledger"].sweep(restarted.bot, "zalo", left_for=timedelta(0))
    finally:
        await restarted.close()
    receipt = zalo_api.texts_to(LAN)[-1]
    assert "Mã biên nhận của bạn:" in receipt
    code = re.search(r"^(\d{4} \d{4} \d{4} \d{4})$", receipt, re.MULTILINE).group(1).replace(" ", "")
    [status] = await zalo.send(f"/tipstatus {code}")
    assert "Trạng thái: Đã tiếp nhận" in status


async def test_a_copy_the_group_refused_with_429_is_sent_again_from_memory(zalo, zalo_api, session, places):
    zalo_api.fail(GROUP, 429, "Too Many Requests", times=1, retry_after=1)
    code, _ = await file_tip(zalo)
    assert code and zalo_api.texts_to(GROUP) == []  # the receipt did not wait for the group
    await copies_sent()
    [copy] = zalo_api.texts_to(GROUP)
    assert "Tin báo mới" in copy and TEXT in copy
    assert [attempt.status for attempt in zalo_api.attempts if attempt.chat_id == GROUP] == [429, 200]
    [moved] = await zalo.choose("Đang xác minh", user=OFFICER, chat=GROUP, chat_type="GROUP")
    assert "chuyển sang “Đang xác minh”" in moved


async def test_a_copy_the_group_keeps_refusing_is_given_up_and_logged_without_its_text(
        zalo, zalo_api, session, places, caplog, monkeypatch):
    monkeypatch.setattr(tip_inbox, "COPY_RETRY_PAUSES", (0, 0))
    zalo_api.fail(GROUP, 502, "Bad Gateway")
    caplog.set_level(logging.INFO)
    code, _ = await file_tip(zalo)
    await copies_sent()
    assert zalo_api.texts_to(GROUP) == []
    assert [attempt.status for attempt in zalo_api.attempts if attempt.chat_id == GROUP] == [502] * 3
    assert re.search(r"gave up the copy of T-\d{4}-\d{6}", caplog.text)
    for secret in (TEXT, PLACE, code, LAN):
        assert secret not in caplog.text
    assert await count(session, Tip) == 1
