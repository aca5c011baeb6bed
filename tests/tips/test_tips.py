"""Anonymous tips through the real dispatcher: sending, anonymity, receipt, triage, abuse, CLI."""

import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from nacl.public import PrivateKey
from openpyxl import load_workbook
from PIL import ExifTags, Image
from redis.asyncio import Redis
from sqlalchemy import select, update

from base.settings import load_settings
from bot.channels.text_session import Option
from bot.cli.main import main
from db.models import Base, Tip, TipEntry, TipPhoto
from db.services.areas import add_area
from db.services.members import grant_role
from db.services.tip_limits import GRACE, WINDOW, TipLimits
from db.services.tip_sealing import grouped, key_text, unseal
from db.services.tips import set_route
from handlers.tips.inbox import Triage
from handlers.tips.status import StatusAction
from handlers.tips.submit import AreaChoice, KindChoice, TipStep, WhenChoice
from testkit.delivery_fakes import FakeClock
from testkit.fakes import count
from testkit.services import redis_url, unavailable

TIPSTER = 7770001
OFFICER_C1, OFFICER_C2, OFFICER_P, RESIDENT = 4001, 4002, 4003, 5005
GROUP_C1 = -100111
SECRET = "a-lookup-secret-of-the-test-deployment-0123456789"
TEXT = "Có nhóm người lạ bán ma túy ở quán cà phê đầu ấp, tối nào cũng tụ tập sau 22 giờ."
PLACE = "Quán cà phê gần cầu Bình Long"
# A tip that would be a live formula in a spreadsheet if the export let it.
FORMULA_TEXT = '=HYPERLINK("https://vi-du.vn/nhan-qua","Bấm vào đây") ' + TEXT


@pytest.fixture(scope="session")
def officers_key(tmp_path_factory) -> tuple[PrivateKey, str]:
    """The officers' key pair and the path of its private key file."""
    key = PrivateKey.generate()
    path = tmp_path_factory.mktemp("keys") / "tip_private.key"
    path.write_text(key_text(key) + "\n", encoding="ascii")
    return key, str(path)


def tip_settings(database_url: str, officers_key, **overrides):
    values = dict(
        database_url=database_url, telegram_token=None, webhook_url=None, redis_url=None,
        default_locale="vi", timezone="Asia/Ho_Chi_Minh",
        tip_public_key=key_text(officers_key[0].public_key), tip_secret=SECRET,
        tip_private_key_file=officers_key[1],
    )
    return load_settings(**{**values, **overrides})


@pytest.fixture
def settings(database_url, officers_key):
    """Tips configured with the test key pair."""
    return tip_settings(database_url, officers_key)


@pytest.fixture
async def tree(session) -> dict:
    """Province P → communes C1 (group routed), C2 → hamlets; an officer in each commune and
    one of the province."""
    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    c1 = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    c2 = await add_area(session, "C2", "Xã Bình Thạnh", "commune", province)
    h11 = await add_area(session, "H11", "Ấp Bình Long", "hamlet", c1)
    h21 = await add_area(session, "H21", "Ấp Hòa Bình", "hamlet", c2)
    await grant_role(session, "telegram", str(OFFICER_C1), "officer", "C1")
    await grant_role(session, "telegram", str(OFFICER_C2), "officer", "C2")
    await grant_role(session, "telegram", str(OFFICER_P), "officer", "P")
    await grant_role(session, "telegram", str(RESIDENT), "resident", None)
    await set_route(session, "C1", "telegram", str(GROUP_C1))
    await session.commit()
    return {"P": province, "C1": c1, "C2": c2, "H11": h11, "H21": h21}


async def file_tip(chat, tree, user_id=TIPSTER, text=TEXT, place=PLACE, commune="C1", hamlet="H11",
                   photo: bytes | None = None, location=None, media=()) -> tuple[str, list[str]]:
    """Go through /tip to the end; returns the receipt code (digits) and every text sent.
    `media` are further sends at the photo step (keyword arguments of ChatDriver.send_media)."""
    sent = await chat.send("/tip", user_id=user_id)
    sent += await chat.press(KindChoice(kind="drugs").pack(), user_id)
    sent += await chat.press(AreaChoice(action="open", area=tree[commune].id).pack(), user_id)
    sent += await chat.press(AreaChoice(action="pick", area=tree[hamlet].id).pack(), user_id)
    if location:
        sent += await chat.send_media(user_id, location=location)
    elif place:
        sent += await chat.send(place, user_id=user_id)
    else:
        sent += await chat.press(TipStep(action="skip_place").pack(), user_id)
    sent += await chat.press(WhenChoice(choice="today").pack(), user_id)
    sent += await chat.send(text, user_id=user_id)
    if photo is not None:
        sent += await chat.send_media(user_id, photo=photo)
    for item in media:
        sent += await chat.send_media(user_id, **item)
    sent += await chat.press(TipStep(action="photos_done").pack(), user_id)
    sent += await chat.press(TipStep(action="send").pack(), user_id)
    match = re.search(r"\b(\d{4} \d{4} \d{4} \d{4})\b", "\n".join(sent))
    return (match.group(1).replace(" ", "") if match else ""), sent


def group_texts(chat, chat_id=GROUP_C1) -> list[str]:
    return [sent.text for sent in chat.session.sent if sent.chat_id == chat_id]


def reference_of(chat) -> str:
    return re.search(r"T-\d{4}-\d{6}", "\n".join(group_texts(chat))).group(0)


def jpeg_with_metadata() -> bytes:
    """A JPEG carrying EXIF (camera, GPS), XMP and a comment, as a phone's original file might."""
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (10.0, 30.0, 15.0), 3: "E", 4: (105.0, 40.0, 0.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=b"secret comment",
                 xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret-xmp</x:xmpmeta>")
    return out.getvalue()


async def dump(session) -> str:
    """Every column of every row of every table, as text (bytes as hex and as raw characters)."""
    await session.rollback()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            for value in row:
                if isinstance(value, bytes):
                    parts += [value.hex(), value.decode("latin-1")]
                else:
                    parts.append(str(value))
    return "\n".join(parts)


async def test_tip_starts_with_113_and_cancelling_stores_nothing(chat, session, tree):
    intro, question = await chat.send("/tip", user_id=TIPSTER)
    assert "113" in intro and "không lưu tên" in intro and "vẫn biết tài khoản" in intro
    assert "Bước 1/6" in question and KindChoice(kind="child_abuse").pack() in chat.buttons(TIPSTER)
    await chat.press(KindChoice(kind="theft").pack(), TIPSTER)
    area_menu = chat.session.menus[TIPSTER]
    [reply] = await chat.send("/cancel", user_id=TIPSTER)
    assert "Không có gì được lưu" in reply
    assert await count(session, Tip) == 0
    # The old buttons (still on the Telegram screen) no longer do anything.
    chat.session.menus[TIPSTER] = area_menu
    [reply] = await chat.press(AreaChoice(action="open", area=tree["C1"].id).pack(), TIPSTER)
    assert "không còn dùng được" in reply


async def test_the_receipt_flow_end_to_end(chat, session, tree):
    code, sent = await file_tip(chat, tree, location=(10.5, 105.6))
    assert len(code) == 16
    receipt_menu = chat.session.menus[TIPSTER]  # the receipt's button (the group's came after)
    assert StatusAction(action="ask").pack() in chat.buttons(TIPSTER)
    receipt = next(text for text in sent if "Mã biên nhận" in text)
    assert "không thể cấp lại" in receipt
    # The copy reached the commune's group, with reference, kind, place and text, never the code.
    copy = "\n".join(group_texts(chat))
    assert "Ma túy" in copy and "Ấp Bình Long, Xã Tân Hòa" in copy and TEXT in copy
    assert "10.50000, 105.60000" in copy and code not in copy.replace(" ", "")
    reference = reference_of(chat)

    await chat.press(Triage(tip=int(reference[-6:]), status="checking").pack(), OFFICER_C1, chat_id=GROUP_C1)
    assert "Đang xác minh" in group_texts(chat)[-1]
    [ok] = await chat.send(f"/reply {reference} Cảm ơn bạn, công an xã đang xác minh.",
                           user_id=OFFICER_C1, chat_id=GROUP_C1)
    assert "Đã lưu trả lời" in ok

    [status] = await chat.send(f"/tipstatus {code[:4]}-{code[4:8]} {code[8:]}", user_id=TIPSTER)
    assert "Đang xác minh" in status and "Cảm ơn bạn, công an xã đang xác minh." in status
    # The receipt's "Xem trạng thái" button asks for the code (buttons never carry it).
    chat.session.menus[TIPSTER] = receipt_menu
    [ask] = await chat.press(StatusAction(action="ask").pack(), TIPSTER)
    assert "Gõ mã biên nhận" in ask
    [status] = await chat.send(grouped(code), user_id=TIPSTER)
    assert "Đang xác minh" in status and "Cảm ơn bạn, công an xã đang xác minh." in status
    assert StatusAction(action="add").pack() in chat.buttons(TIPSTER)
    await chat.press(StatusAction(action="add").pack(), TIPSTER)
    thanks, copy = await chat.send("Xe máy biển số 66B1-123.45 hay đậu trước quán.", user_id=TIPSTER)
    assert "Đã thêm thông tin" in thanks and copy == group_texts(chat)[-1]
    assert "66B1-123.45" in group_texts(chat)[-1] and reference in group_texts(chat)[-1]

    [status] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    assert "Bạn bổ sung" in status and "66B1-123.45" in status
    assert await count(session, TipEntry) == 3


async def test_a_tip_takes_five_additions_a_day(chat, session, tree):
    code, _ = await file_tip(chat, tree)
    copies = len(group_texts(chat))
    other_phone = TIPSTER + 1  # the same tipster on another account, writing meanwhile
    for number in range(1, 6):
        if number == 5:
            await chat.send(f"/tipstatus {code}", user_id=other_phone)
            [ask] = await chat.press(StatusAction(action="add").pack(), other_phone)
            assert "Gõ thông tin bổ sung" in ask
        await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
        await chat.press(StatusAction(action="add").pack(), TIPSTER)
        [thanks, _copy] = await chat.send(f"Bổ sung lần {number}: xe màu đỏ.", user_id=TIPSTER)
        assert "Đã thêm thông tin" in thanks
    assert len(group_texts(chat)) == copies + 5
    await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    [refusal] = await chat.press(StatusAction(action="add").pack(), TIPSTER)
    assert "đã được bổ sung 5 lần trong 24 giờ qua" in refusal and "ngày mai" in refusal
    # The addition begun meanwhile is refused too when it comes.
    [refusal] = await chat.send("Bổ sung lần 6.", user_id=other_phone)
    assert "đã được bổ sung 5 lần" in refusal
    assert len(group_texts(chat)) == copies + 5
    assert await count(session, TipEntry, TipEntry.kind == "addition") == 5


async def test_a_tip_without_a_group_is_stored_and_listed_for_officers(chat, session, tree):
    code, _ = await file_tip(chat, tree, commune="C2", hamlet="H21", place=None)
    assert code and group_texts(chat) == []
    assert await count(session, Tip) == 1
    [listing] = await chat.send("/tips", user_id=OFFICER_C2)
    assert "Ma túy" in listing and "Đã tiếp nhận" in listing and "Ấp Hòa Bình" in listing
    assert TEXT not in listing  # the bot cannot read stored tips
    [listing] = await chat.send("/tips", user_id=OFFICER_C1)
    assert "Không có tin báo nào" in listing


async def test_a_tip_just_after_local_midnight_on_new_years_day_has_the_new_year(chat, session, tree):
    await file_tip(chat, tree, place=None)
    # 17:00 UTC on 31 December is 00:00 on 1 January in Vietnam (the tip's hour, as stored).
    await session.execute(update(Tip).values(created_at=datetime(2026, 12, 31, 17, tzinfo=timezone.utc)))
    await session.commit()
    [listing] = await chat.send("/tips", user_id=OFFICER_C1)
    assert "T-2027-000001" in listing and "01/01/2027" in listing and "T-2026" not in listing
    [ok] = await chat.send("/reply T-2027-000001 Đã nhận, cảm ơn bạn.", user_id=OFFICER_C1, chat_id=GROUP_C1)
    assert "Đã lưu trả lời cho T-2027-000001" in ok
    [refusal] = await chat.send("/reply T-2026-000001 Nhầm năm.", user_id=OFFICER_C1, chat_id=GROUP_C1)
    assert "Không có tin báo T-2026-000001" in refusal


async def test_the_database_holds_no_sender_code_or_readable_text(chat, session, tree):
    code, _ = await file_tip(chat, tree)
    await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    await chat.press(StatusAction(action="add").pack(), TIPSTER)
    await chat.send("Bổ sung: người bán đi xe màu đỏ.", user_id=TIPSTER)
    text = await dump(session)
    assert "Tỉnh Thử" in text  # the dump does read the tables
    for secret in (str(TIPSTER), code, grouped(code), TEXT, PLACE,
                   "xe màu đỏ", TEXT.encode().decode("latin-1"), PLACE.encode().decode("latin-1")):
        assert secret not in text, secret
    tip = (await session.scalars(select(Tip))).one()
    assert tip.created_at.minute == 0 and tip.created_at.second == 0


async def test_the_stored_photo_has_no_metadata(chat, session, tree, officers_key):
    original = jpeg_with_metadata()
    assert b"SecretCam" in original and b"secret-xmp" in original
    code, sent = await file_tip(chat, tree, photo=original)
    assert code and any("Đã nhận ảnh 1/5" in text for text in sent)
    await session.rollback()
    [stored] = (await session.scalars(select(TipPhoto))).all()
    assert b"SecretCam" not in stored.sealed
    photo = unseal(officers_key[0], stored.sealed)
    for marker in (b"Exif", b"SecretCam", b"secret comment", b"secret-xmp", b"xmpmeta", b"ICC_PROFILE"):
        assert marker not in photo
    with Image.open(io.BytesIO(photo)) as picture:
        assert picture.size == (64, 48)
        assert not dict(picture.getexif())
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(picture.info)
    # The group got the cleaned photo, not the original.
    [sent_photo] = [r for r in chat.session.requests if type(r).__name__ == "SendPhoto"]
    assert int(sent_photo.chat_id) == GROUP_C1 and b"SecretCam" not in sent_photo.photo.data


async def test_an_image_file_is_cleaned_too_and_garbage_is_refused(chat, session, tree, officers_key):
    original = jpeg_with_metadata()
    code, sent = await file_tip(chat, tree, media=[
        dict(document=b"%PDF-1.4 not a picture", mime_type="application/pdf"),  # not an image
        dict(document=original, mime_type="image/jpeg"),  # a phone's original, sent as a file
        dict(document=b"\xff\xd8\xff garbage that claims to be a jpeg", mime_type="image/jpeg"),
    ])
    assert any("Bạn hãy gửi ảnh (tệp ảnh)" in text for text in sent)  # the PDF, at the photo step
    assert any("Đã nhận ảnh 1/5" in text for text in sent)
    # The garbage is refused as it arrives (photos are fetched and cleaned then), not counted.
    assert any("Tệp này không phải là ảnh đọc được." in text for text in sent)
    assert not any("Đã nhận ảnh 2/5" in text for text in sent)
    assert code and not any("không đọc được nên không được lưu" in text for text in sent)
    await session.rollback()
    [stored] = (await session.scalars(select(TipPhoto))).all()
    photo = unseal(officers_key[0], stored.sealed)
    for marker in (b"Exif", b"SecretCam", b"secret comment", b"secret-xmp", b"%PDF"):
        assert marker not in photo
    with Image.open(io.BytesIO(photo)) as picture:
        assert picture.size == (64, 48) and not dict(picture.getexif())
    assert await count(session, Tip) == 1


async def test_another_communes_officer_is_refused_the_button_and_reply(chat, session, tree):
    await file_tip(chat, tree)
    reference = reference_of(chat)
    tip_id = int(reference[-6:])
    [refusal] = await chat.press(Triage(tip=tip_id, status="closed").pack(), OFFICER_C2, chat_id=GROUP_C1)
    assert "ngoài phạm vi" in refusal
    [refusal] = await chat.send(f"/reply {reference} tôi trả lời thay", user_id=OFFICER_C2)
    assert "ngoài phạm vi" in refusal
    [refusal] = await chat.press(Triage(tip=tip_id, status="closed").pack(), RESIDENT, chat_id=GROUP_C1)
    assert "chưa có quyền" in refusal
    [refusal] = await chat.send(f"/reply {reference} xin chào", user_id=TIPSTER)
    assert "chưa có quyền" in refusal
    # A forged status is refused as well.
    chat.session.menus[GROUP_C1].options.append(Option("x", Triage(tip=tip_id, status="received").pack()))
    [refusal] = await chat.press(Triage(tip=tip_id, status="received").pack(), OFFICER_C1, chat_id=GROUP_C1)
    assert "không hợp lệ" in refusal
    await session.rollback()
    assert (await session.scalars(select(Tip))).one().status == "received"
    assert await count(session, TipEntry) == 0
    # The province's officer, above the commune, reads and answers it.
    [listing] = await chat.send("/tips", user_id=OFFICER_P)
    assert reference in listing and "Ấp Bình Long" in listing
    [listing] = await chat.send("/tips", user_id=OFFICER_C2)
    assert reference not in listing
    [moved] = await chat.press(Triage(tip=tip_id, status="checking").pack(), OFFICER_P, chat_id=GROUP_C1)
    assert f"{reference}: chuyển sang “Đang xác minh”" in moved
    [ok] = await chat.send(f"/reply {reference} Tỉnh đã nhận, đang phối hợp.", user_id=OFFICER_P)
    assert f"Đã lưu trả lời cho {reference}" in ok
    await session.rollback()
    assert (await session.scalars(select(Tip))).one().status == "checking"
    assert await count(session, TipEntry) == 2


async def test_a_sender_may_send_five_tips_a_day_and_another_sender_is_not_held_up(chat, session, tree):
    for _ in range(5):
        code, _sent = await file_tip(chat, tree, place=None)
        assert code
    [refusal] = await chat.send("/tip", user_id=TIPSTER)
    assert "tối đa trong một ngày" in refusal
    code, _sent = await file_tip(chat, tree, user_id=TIPSTER + 1, place=None)
    assert code
    assert await count(session, Tip) == 6


async def test_the_limit_counts_at_sending_and_the_day_key_rotates(settings):
    moment = [datetime(2026, 11, 23, 10, tzinfo=timezone.utc)]
    limits = TipLimits(None, per_sender_day=1, per_hour=100, tz=settings.tz, clock=lambda: moment[0])
    first = await limits.sender("telegram", "1")
    await limits.take_tip(first)
    with pytest.raises(Exception, match="tối đa"):
        await limits.take_tip(first)
    moment[0] += timedelta(days=1)
    second = await limits.sender("telegram", "1")
    assert second != first  # yesterday's tag cannot be recomputed from today's key
    # Yesterday's key and counts are gone from memory, not only unused.
    assert limits.store.values and all(until > moment[0] for _, until in limits.store.values.values())
    await limits.take_tip(second)


class TestHourlyLimit:
    """BINHYEN_TIP_LIMIT_PER_HOUR: the bot takes that many tips an hour; a confirmed draft
    refused for it is kept, and "Gửi" sends it once the hour has room."""

    @pytest.fixture
    def settings(self, database_url, officers_key, monkeypatch):
        monkeypatch.setenv("BINHYEN_TIP_LIMIT_PER_HOUR", "2")
        return tip_settings(database_url, officers_key)

    async def test_the_limit_holds_and_a_confirmed_draft_waits_for_the_next_hour(
            self, app, chat, session, tree):
        # Half past: the next hour begins half an hour on, within the draft's hour.
        clock = FakeClock(datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0))
        app.dispatcher["clock"] = clock
        late = TIPSTER + 3
        send = TipStep(action="send").pack()
        original = chat.press

        async def stop_before_gui(data, user_id=late, **kwargs):
            return [] if data == send else await original(data, user_id, **kwargs)

        chat.press = stop_before_gui
        await file_tip(chat, tree, user_id=late, place=None)  # confirmed up to the summary
        chat.press = original
        for user in (1, 2):
            code, _ = await file_tip(chat, tree, user_id=TIPSTER + user, place=None)
            assert code
        [refusal] = await chat.send("/tip", user_id=TIPSTER + 4)
        assert "quá nhiều tin báo" in refusal

        [refusal] = await chat.press(send, late)
        assert "quá nhiều tin báo" in refusal and "vẫn được giữ" in refusal
        [refusal] = await chat.press(send, late)  # pressed again too soon: still kept
        assert "vẫn được giữ" in refusal
        assert await count(session, Tip) == 2

        clock.advance(1800)  # the next hour
        [receipt, _copy] = await chat.press(send, late)
        assert "Mã biên nhận" in receipt
        assert await count(session, Tip) == 3


async def test_wrong_codes_are_limited_per_sender(chat, tree):
    code, _ = await file_tip(chat, tree, place=None)
    wrong = f"{(int(code) + 1) % 10**16:016d}"
    for _ in range(5):
        [reply] = await chat.send(f"/tipstatus {wrong}", user_id=TIPSTER)
        assert "Không có tin báo nào với mã này" in reply
    [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    assert "sai mã biên nhận quá nhiều lần" in reply
    [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER + 9)
    assert "Đã tiếp nhận" in reply
    [reply] = await chat.send("/tipstatus 12345", user_id=TIPSTER + 9)
    assert "gồm 16 chữ số" in reply


async def test_lookups_by_a_right_code_are_limited_per_sender(chat, tree):
    code, _ = await file_tip(chat, tree, place=None)
    for _ in range(30):
        [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
        assert "Đã tiếp nhận" in reply
    [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    assert "đã xem tin báo 30 lần trong giờ này" in reply and "Đã tiếp nhận" not in reply
    [reply] = await chat.send(f"/tipstatus {code}", user_id=TIPSTER + 9)
    assert "Đã tiếp nhận" in reply


async def test_waiting_key_derivations_leave_the_default_threads_free():
    """Derivations queue for their own thread: other to_thread work (charts, photos) goes on."""
    import asyncio

    from db.services.tip_sealing import TipKeys, derive_lookup, new_key_pair

    keys = TipKeys(new_key_pair().public_key, SECRET.encode())
    derivations = [asyncio.create_task(derive_lookup(keys, f"{n:016d}")) for n in range(10)]
    await asyncio.sleep(0)  # every derivation is queued
    assert await asyncio.to_thread(lambda: "drawn") == "drawn"
    assert sum(task.done() for task in derivations) <= 2  # the chart did not wait for them
    lookups = await asyncio.gather(*derivations)
    assert len({lookup.value for lookup in lookups}) == 10


async def test_receipts_are_derived_ahead_of_time_and_each_used_once():
    """A tip's receipt is taken ready-derived (its transaction does not wait for argon2id),
    and each receipt's key is the one its code and salt derive."""
    import asyncio

    from db.services import tip_sealing

    keys = tip_sealing.TipKeys(tip_sealing.new_key_pair().public_key, b"a secret of this test only")
    first = await tip_sealing.new_receipt(keys)
    for _ in range(400):  # a guard against a hang, not a timing: the pool fills in the background
        if len(tip_sealing.ready_receipts(keys)) == tip_sealing.READY_RECEIPTS:
            break
        await asyncio.sleep(0.05)
    ready = list(tip_sealing.ready_receipts(keys))
    assert len(ready) == tip_sealing.READY_RECEIPTS
    taken = [await tip_sealing.new_receipt(keys) for _ in ready]
    assert taken == ready  # the ready ones, in order, none twice
    codes = {receipt.code for receipt in [first, *taken]}
    assert len(codes) == len(taken) + 1 and all(len(code) == 16 and code.isdigit() for code in codes)
    for receipt in (first, taken[0]):
        found = tip_sealing.code_lookup(keys, receipt.code)
        assert found.value == receipt.lookup
        assert bytes(tip_sealing.reply_key(found, receipt.salt)) == bytes(receipt.key)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("   ", "Nội dung trống"), ("x" * 4001, "quá giới hạn 4000"),
     ("\x00\x01\x02binary\ufffd\x7f", "ký tự lạ"),
     # Invisible: zero-width spaces, a braille blank, a soft hyphen, a BOM, punctuation only.
     ("\u200b\u200b", "Nội dung trống"), ("\u2800", "Nội dung trống"), ("\u00ad", "Nội dung trống"),
     ("\ufeff", "Nội dung trống"), ("\u200b \u2800 \ufeff … !", "Nội dung trống"),
     # Bidi controls that make a number or an address read backwards.
     ("Số tài khoản \u202e9876543210", "ký tự lạ"), ("Gọi \u2066+84 912\u2069 ngay", "ký tự lạ"),
     ("\u202a\u202b\u202c\u202d", "ký tự lạ"), ("\u2067x\u2068", "ký tự lạ")],
)
async def test_bad_text_gets_a_polite_answer_and_stores_nothing(chat, session, tree, typed, answer):
    await chat.send("/tip", user_id=TIPSTER)
    await chat.press(KindChoice(kind="other").pack(), TIPSTER)
    await chat.press(AreaChoice(action="open", area=tree["C1"].id).pack(), TIPSTER)
    await chat.press(AreaChoice(action="pick", area=tree["C1"].id).pack(), TIPSTER)
    await chat.press(TipStep(action="skip_place").pack(), TIPSTER)
    await chat.press(WhenChoice(choice="now").pack(), TIPSTER)
    [reply] = await chat.send(typed, user_id=TIPSTER)
    assert answer in reply
    # Still on the same step: a good text goes on to the photos.
    [reply] = await chat.send("Đánh nhau trước chợ.", user_id=TIPSTER)
    assert "Bước 6/6" in reply
    assert await count(session, Tip) == 0


async def test_forged_buttons_change_nothing(chat, session, tree):
    await chat.send("/tip", user_id=TIPSTER)
    menu = chat.session.menus[TIPSTER]
    menu.options += [Option("x", callback_data="tipk:bribery"), Option("y", callback_data="tipa:pick:999999:0")]
    assert await chat.press("tipk:bribery", TIPSTER) == []  # an unknown kind: still on step 1
    await chat.press(KindChoice(kind="theft").pack(), TIPSTER)
    area_menu = chat.session.menus[TIPSTER]
    for forged in ("tipa:pick:999999:0", "tipa:pick:99999999999999:0", "tipa:open:-5:0"):
        area_menu.options.append(Option("x", callback_data=forged))
        chat.session.menus[TIPSTER] = area_menu
        [reply] = await chat.press(forged, TIPSTER)
        assert "chọn lại" in reply
    assert await count(session, Tip) == 0


async def test_tips_are_not_taken_in_groups(chat):
    for command in ("/tip", "/tipstatus 1234 5678 9012"):
        await chat.feed(chat.message(command, user_id=TIPSTER, chat_id=GROUP_C1, chat_type="group"))
        assert "tin nhắn riêng" in chat.session.sent[-1].text


async def test_without_the_public_key_tip_says_so_and_stores_nothing(database_url, officers_key, engine, session, tree):
    from bot.app import build_app
    from testkit.fakes import ChatDriver

    app = await build_app(tip_settings(database_url, officers_key, tip_public_key=None), engine)
    chat = ChatDriver(app)
    [reply] = await chat.send("/tip", user_id=TIPSTER)
    assert "chưa được bật" in reply and "113" in reply
    assert await count(session, Tip) == 0
    await app.dispatcher.storage.close()


def test_settings_refuse_a_public_key_without_a_secret(officers_key):
    with pytest.raises(Exception, match="BINHYEN_TIP_SECRET"):
        load_settings(tip_public_key=key_text(officers_key[0].public_key), tip_secret=None)
    with pytest.raises(Exception, match="BINHYEN_TIP_PUBLIC_KEY"):
        load_settings(tip_public_key="not base64!", tip_secret=SECRET)


async def test_the_limits_are_shared_through_redis(settings):
    client = Redis.from_url(redis_url())
    try:
        await client.flushdb()
    except OSError as error:
        unavailable(f"Redis at BINHYEN_TEST_REDIS_URL is unreachable: {error}")
    try:
        one = TipLimits(client, per_sender_day=2, per_hour=100, tz=settings.tz)
        two = TipLimits(client, per_sender_day=2, per_hour=100, tz=settings.tz)
        sender = await one.sender("telegram", "42")
        assert await two.sender("telegram", "42") == sender
        await one.take_tip(sender)
        await two.take_tip(sender)
        with pytest.raises(Exception, match="tối đa"):
            await one.take_tip(sender)
        keys = [key.decode() for key in await client.keys("binhyen:tips:*")]
        assert keys and not any(key.endswith(":42") or "telegram" in key for key in keys)
        # Everything expires by the end of the day, its grace, and (the day's key) one window more
        # for the sliding hour across midnight: at most a day and 70 minutes from now.
        for key in keys:
            assert 0 < await client.ttl(key) <= 24 * 3600 + (GRACE + WINDOW).total_seconds()
    finally:
        await client.flushdb()
        await client.aclose()


def test_keygen_route_list_and_export(chat_database, monkeypatch, tmp_path, capsys):
    """The operator's commands: keys, routing, and reading the tips with the private key."""
    database_url, code, reference = chat_database
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["tips", "keygen", "--out", str(tmp_path / "keys")]) == 0
    out = capsys.readouterr().out
    assert "BINHYEN_TIP_PUBLIC_KEY=" in out and "BINHYEN_TIP_SECRET=" in out
    assert (tmp_path / "keys" / "tip_private.key").stat().st_mode & 0o777 == 0o600
    assert main(["tips", "keygen", "--out", str(tmp_path / "keys")]) == 1

    assert main(["tips", "route", "--area", "c2", "--chat", "-100222"]) == 0
    assert main(["tips", "route", "--area", "H11", "--chat", "-100333"]) == 1
    assert "không gắn với cấp hamlet" in capsys.readouterr().err
    assert main(["tips", "routes"]) == 0
    assert "C2\ttelegram\t-100222" in capsys.readouterr().out

    assert main(["tips", "list", "--area", "C1"]) == 0  # the key file from the settings
    listing = capsys.readouterr().out
    assert reference in listing and TEXT in listing and PLACE in listing
    assert "Cảm ơn, đang xác minh." in listing and "Người báo bổ sung" not in listing
    assert code not in listing
    assert main(["tips", "list", "--area", "C1", "--key", str(tmp_path / "keys" / "tip_private.key")]) == 1
    assert "không khớp" in capsys.readouterr().err

    workbook = tmp_path / "tips.xlsx"
    assert main(["tips", "export", "--area", "P", "--out", str(workbook), "--photos", str(tmp_path / "photos")]) == 0
    sheet = load_workbook(workbook).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã tin" and rows[0][6] == "Nội dung" and rows[1][0] == reference
    assert rows[1][6] == FORMULA_TEXT and "Cảm ơn, đang xác minh." in rows[1][-1]
    assert sheet.cell(2, 7).data_type == "s"  # stored as the text typed, not as a formula


@pytest.fixture
def chat_database(database_url, officers_key, monkeypatch):
    """A database with one answered tip, made through the dispatcher; the CLI settings match it."""
    import asyncio

    from bot.app import build_app
    from db.session import make_engine, make_sessionmaker
    from testkit.fakes import ChatDriver

    for name, value in (("TIP_PUBLIC_KEY", key_text(officers_key[0].public_key)), ("TIP_SECRET", SECRET),
                        ("TIP_PRIVATE_KEY_FILE", officers_key[1])):
        monkeypatch.setenv(f"BINHYEN_{name}", value)

    async def arrange():
        engine = make_engine(database_url)
        async with make_sessionmaker(engine)() as session:
            areas = {}
            province = await add_area(session, "P", "Tỉnh Thử", "province", None)
            areas["C1"] = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
            areas["C2"] = await add_area(session, "C2", "Xã Bình Thạnh", "commune", province)
            areas["H11"] = await add_area(session, "H11", "Ấp Bình Long", "hamlet", areas["C1"])
            await grant_role(session, "telegram", str(OFFICER_C1), "officer", "C1")
            await set_route(session, "C1", "telegram", str(GROUP_C1))
            await session.commit()
        app = await build_app(tip_settings(database_url, officers_key), engine)
        chat = ChatDriver(app)
        code, _ = await file_tip(chat, areas, text=FORMULA_TEXT, photo=jpeg_with_metadata())
        reference = reference_of(chat)
        await chat.send(f"/reply {reference} Cảm ơn, đang xác minh.", user_id=OFFICER_C1, chat_id=GROUP_C1)
        await app.dispatcher.storage.close()
        await engine.dispose()
        return code, reference

    code, reference = asyncio.run(arrange())
    return database_url, code, reference


def test_a_tip_works_on_the_text_only_console(database_url, officers_key, monkeypatch, tmp_path, capsys):
    """No buttons, photos or locations on the console: numbers choose, photos are skipped."""
    for name, value in (("DATABASE_URL", database_url), ("TIP_PUBLIC_KEY", key_text(officers_key[0].public_key)),
                        ("TIP_SECRET", SECRET), ("TIP_PRIVATE_KEY_FILE", officers_key[1])):
        monkeypatch.setenv(f"BINHYEN_{name}", value)
    assert main(["demo-data", "--households", "20", "--bare"]) == 0
    script = tmp_path / "tip.txt"
    # kind 1 (drugs), first commune, first hamlet, skip the place, "today", the text,
    # no photos, send.
    script.write_text("/tip\n1\n1\n1\n1\n2\nCó người lạ bán ma túy sau chợ.\n1\n1\n", encoding="utf-8")
    assert main(["chat", "--user", "9", "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "113" in out and "1. Ma túy" in out and "Bỏ qua" in out
    assert "Mã biên nhận của bạn:" in out
    code = re.search(r"\b(\d{4} \d{4} \d{4} \d{4})\b", out).group(1)
    script.write_text(f"/tipstatus {code}\n", encoding="utf-8")
    assert main(["chat", "--user", "9", "--script", str(script)]) == 0
    assert "Đã tiếp nhận" in capsys.readouterr().out
    script.write_text("/tips\n", encoding="utf-8")
    assert main(["chat", "--user", "4", "--script", str(script)]) == 0  # the demo admin
    assert "Tin báo đang mở: 1" in capsys.readouterr().out
    assert main(["tips", "list", "--area", "DEMO"]) == 0
    assert "Có người lạ bán ma túy sau chợ." in capsys.readouterr().out


@contextlib.asynccontextmanager
async def bot_with_redis(database_url, officers_key) -> AsyncIterator[tuple[Any, Redis]]:
    """The bot with its conversation state in an emptied Redis database, and a client of it."""
    from bot.app import build_app

    client = Redis.from_url(redis_url())
    try:
        await client.flushdb()
    except OSError as error:
        unavailable(f"Redis at BINHYEN_TEST_REDIS_URL is unreachable: {error}")
    app = await build_app(tip_settings(database_url, officers_key, redis_url=redis_url()))
    try:
        yield app, client
    finally:
        await app.close()
        await client.flushdb()
        await client.aclose()


async def test_a_draft_in_redis_expires_within_the_hour(database_url, officers_key, tree):
    """With several instances the draft lives in Redis: it must not outlive its hour there."""
    from testkit.fakes import ChatDriver

    async with bot_with_redis(database_url, officers_key) as (app, client):
        chat = ChatDriver(app)
        await chat.send("/tip", user_id=TIPSTER)
        await chat.press(KindChoice(kind="gambling").pack(), TIPSTER)
        await chat.send(PLACE, user_id=TIPSTER)  # a place typed while choosing the area
        keys = [key.decode() for key in await client.keys("binhyen:fsm:*")]
        assert any(key.endswith(":data") for key in keys) and any(key.endswith(":state") for key in keys)
        for key in keys:
            assert 0 < await client.ttl(key) <= 3600
        await chat.send("/cancel", user_id=TIPSTER)
        assert not [key for key in await client.keys("binhyen:fsm:*") if key.endswith(b":data")]


async def redis_values(client) -> str:
    """Every value in the Redis database, as text (whatever its type)."""
    parts = []
    for key in await client.keys("*"):
        kind = (await client.type(key)).decode()
        if kind == "string":
            values = [await client.get(key)]
        elif kind == "hash":
            values = [item for pair in (await client.hgetall(key)).items() for item in pair]
        elif kind == "list":
            values = await client.lrange(key, 0, -1)
        else:
            values = list(await client.smembers(key)) if kind == "set" else [kind.encode()]
        parts += [value.decode("utf-8", "replace") for value in values]
    return "\n".join(parts)


async def test_redis_holds_no_readable_draft_nor_the_tip_a_status_check_opened(database_url, officers_key, tree):
    """Conversation state is sealed in Redis: a dump shows no tip text, place, kind or tip id."""
    from base.state_expiry import STATE_SECONDS
    from testkit.fakes import ChatDriver

    async with bot_with_redis(database_url, officers_key) as (app, client):
        chat = ChatDriver(app)
        await chat.send("/tip", user_id=TIPSTER)
        await chat.press(KindChoice(kind="gambling").pack(), TIPSTER)
        await chat.press(AreaChoice(action="open", area=tree["C1"].id).pack(), TIPSTER)
        await chat.press(AreaChoice(action="pick", area=tree["H11"].id).pack(), TIPSTER)
        await chat.send(PLACE, user_id=TIPSTER)
        await chat.press(WhenChoice(choice="today").pack(), TIPSTER)
        [photos] = await chat.send(TEXT, user_id=TIPSTER)
        assert "Bước 6/6" in photos  # the draft was read back from Redis at every step
        during = await redis_values(client)
        assert "sealed:" in during
        for readable in (TEXT, PLACE, "gambling", "area_id", "started", "TipForm"):
            assert readable not in during, readable

        await chat.press(TipStep(action="photos_done").pack(), TIPSTER)
        sent = await chat.press(TipStep(action="send").pack(), TIPSTER)
        code = re.search(r"(\d{4} \d{4} \d{4} \d{4})", "\n".join(sent)).group(1).replace(" ", "")
        await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
        after = await redis_values(client)
        for readable in (TEXT, PLACE, code, "tip_id", "TipStatusForm", reference_of(chat)):
            assert readable not in after, readable
        for key in await client.keys("binhyen:fsm:*"):  # gone within the hour, like any state
            assert 0 < await client.ttl(key) <= STATE_SECONDS
        # The sealed state still works: the addition reaches the tip.
        await chat.press(StatusAction(action="add").pack(), TIPSTER)
        [thanks, _copy] = await chat.send("Bổ sung: người bán đi xe màu đỏ.", user_id=TIPSTER)
        assert "Đã thêm thông tin" in thanks


async def test_logs_carry_no_tip_text_sender_or_code(chat, tree, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    # A photo that cannot be fetched is logged too.
    code, sent = await file_tip(chat, tree, media=[dict(photo=b"gone", downloadable=False)])
    assert any("chưa tải được ảnh này" in text for text in sent)
    await chat.send(f"/tipstatus {code}", user_id=TIPSTER)
    assert caplog.records  # the logging did run
    for secret in (TEXT, PLACE, str(TIPSTER), code):
        assert secret not in caplog.text
