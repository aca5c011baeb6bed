"""/tip: anyone sends an anonymous tip, step by step, and gets a receipt code.

Steps: kind → area (from the tree) → exact place or location (optional) → when → what
happened → photos (optional) → summary with Gửi / Hủy. The draft lives in the conversation
state only until it is sent or cancelled, and an hour at most.
"""

import asyncio
import logging
from typing import Annotated

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS
from base.labels import render_problem
from base.settings import Settings
from base.tip_labels import KIND_LABELS, WHEN_LABELS, group_copy, tip_details
from db.models import TIP_KINDS, Area
from db.services.areas import children
from db.services.tip_limits import BotBusy, TipLimits
from db.services.tip_photos import MAX_PHOTO_BYTES, clean_photo
from db.services.tip_sealing import TipKeys, grouped
from db.services.tips import (
    MAX_PHOTOS,
    MAX_PLACE,
    MAX_TEXT,
    MAX_WHEN,
    WHEN_CHOICES,
    TipDraft,
    place_trail,
    submit_tip,
)
from db.text import Problem
from handlers.common.callbacks import Page, Word
from handlers.common.keyboards import button
from handlers.tips.drafting import begin, cancel, live_draft, private_only, step, typed_text
from handlers.tips.inbox import send_to_officers, triage_keyboard
from handlers.tips.status import StatusAction

log = logging.getLogger(__name__)

AREAS_PER_PAGE = 12
SUMMARY_TEXT = 300


class TipForm(StatesGroup):
    """The steps of /tip."""

    kind = State()
    area = State()
    place = State()
    when = State()
    text = State()
    photos = State()
    confirm = State()


class KindChoice(CallbackData, prefix="tipk"):
    """A kind button."""

    kind: Word


class AreaChoice(CallbackData, prefix="tipa"):
    """Open an area to see what lies below it, or pick it as the place."""

    action: Word
    area: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]  # the handler says "chọn lại" unless it names an area
    page: Page = 0


class WhenChoice(CallbackData, prefix="tipw"):
    """A quick answer to "when"."""

    choice: Word


class TipStep(CallbackData, prefix="tipx"):
    """Skip the place, finish the photos, send or cancel."""

    action: Word


def _cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("Hủy"), TipStep(action="cancel"))]


def _keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row()])


def _not_configured() -> str:
    return _("Chức năng gửi tin báo chưa được bật ở đây (chưa có khóa mã hóa). "
             "Bạn hãy liên hệ công an xã, phường; nếu khẩn cấp, hãy gọi ngay 113.")


async def start_tip(
    message: Message,
    state: FSMContext,
    tip_keys: TipKeys | None,
    tip_limits: TipLimits,
    channel: str,
    channel_user_id: str,
) -> None:
    """Say what to do in an emergency and what stays private, then ask the kind."""
    if tip_keys is None:
        await message.answer(_not_configured())
        return
    await tip_limits.check_tip(await tip_limits.sender(channel, channel_user_id))
    await begin(state, TipForm.kind, photos=[])
    await message.answer(_(
        "🚨 Nếu đang có nguy hiểm hoặc cần giúp ngay, hãy gọi <b>113</b>: tin báo qua Bình Yên "
        "không thay cho cuộc gọi khẩn cấp.\n\n"
        "<b>Gửi tin báo ẩn danh</b>\n"
        "• Bình Yên không lưu tên, số điện thoại, tài khoản chat hay hộ gia đình của bạn cùng tin báo.\n"
        "• Nội dung và ảnh được mã hóa; chỉ công an phụ trách địa bàn đọc được. "
        "Ảnh được xóa hết thông tin kèm theo (vị trí GPS, loại máy, thời gian chụp).\n"
        "• Lưu ý: ứng dụng nhắn tin bạn đang dùng vẫn biết tài khoản của bạn đã nhắn cho Bình Yên. "
        "Nếu lo ngại, hãy dùng một tài khoản khác.\n"
        "• Gửi xong, bạn nhận một mã biên nhận để xem trả lời của công an. "
        "Bình Yên không tự nhắn cho bạn.\n\n"
        "Gõ /cancel bất cứ lúc nào để hủy; không có gì được lưu cho đến khi bạn bấm Gửi."
    ))
    buttons = [button(str(KIND_LABELS[kind]), KindChoice(kind=kind)) for kind in TIP_KINDS]
    await message.answer(
        _("<b>Bước 1/6.</b> Bạn muốn báo về việc gì?"),
        reply_markup=_keyboard([buttons[i:i + 2] for i in range(0, len(buttons), 2)]),
    )


async def choose_kind(
    callback: CallbackQuery, callback_data: KindChoice, state: FSMContext, session: AsyncSession
) -> None:
    """Keep the kind and ask where it happened."""
    if await live_draft(callback, state) is None:
        return
    if callback_data.kind not in TIP_KINDS:
        return
    await step(state, TipForm.area, kind=callback_data.kind)
    await _ask_area(callback.message, session, None, 0)


async def _ask_area(message: Message, session: AsyncSession, parent: Area | None, page: int) -> None:
    """The areas below `parent` as buttons (the top of the tree when None), a page at a time."""
    below = await children(session, parent)
    if parent is None and len(below) == 1:
        # One province: start at its communes.
        parent = below[0]
        below = await children(session, parent)
    rows = [
        [button(area.name, AreaChoice(action="pick" if area.level == "hamlet" else "open", area=area.id))]
        for area in below[page * AREAS_PER_PAGE:(page + 1) * AREAS_PER_PAGE]
    ]
    if parent is not None:
        whole = _("Không rõ ấp nào (cả xã)") if parent.level == "commune" else _("Không rõ xã nào")
        rows.append([button(whole, AreaChoice(action="pick", area=parent.id))])
    if (page + 1) * AREAS_PER_PAGE < len(below):
        rows.append([button(_("Xem thêm ▸"), AreaChoice(action="open", area=parent.id if parent else 0, page=page + 1))])
    if parent is None:
        text = _("<b>Bước 2/6.</b> Việc xảy ra ở đâu? Chọn tỉnh, thành phố:")
    elif parent.level == "commune":
        text = _("<b>Bước 2/6.</b> {name}: chọn ấp, khóm, thôn, tổ dân phố (nếu biết):").format(
            name=hd.quote(parent.name))
    else:
        text = _("<b>Bước 2/6.</b> Việc xảy ra ở đâu? Chọn xã, phường ({name}):").format(
            name=hd.quote(parent.name))
    text += "\n" + _("Bạn cũng có thể gõ địa điểm cụ thể, nhưng vẫn cần chọn xã, phường để tin đến đúng công an phụ trách.")
    await message.answer(text, reply_markup=_keyboard(rows))


async def choose_area(
    callback: CallbackQuery, callback_data: AreaChoice, state: FSMContext, session: AsyncSession
) -> None:
    """Go down the tree, or keep the picked area and move on."""
    data = await live_draft(callback, state)
    if data is None:
        return
    # Forged data may carry any number; ids are 32-bit in the database.
    area = await session.get(Area, callback_data.area) if 0 < callback_data.area < 2**31 else None
    if area is None and (callback_data.area or callback_data.action != "open"):
        await callback.message.answer(_("Địa bàn đã chọn không còn trong hệ thống. Bạn hãy chọn lại."))
        return
    if callback_data.action == "open" and (area is None or await children(session, area)):
        await _ask_area(callback.message, session, area, max(callback_data.page, 0))
        return
    await step(state, TipForm.place, area_id=area.id)
    if data.get("place") or data.get("location"):
        await _ask_when(callback.message, state)
    else:
        await _ask_place(callback.message)


async def place_before_area(message: Message, state: FSMContext) -> None:
    """A place typed or shared while choosing the area: keep it, and still ask for the area."""
    if await _keep_place(message, state) is not None:
        await message.answer(_("Đã ghi địa điểm. Bạn hãy chọn tiếp xã, phường ở danh sách trên."))


async def _keep_place(message: Message, state: FSMContext) -> str | None:
    """Keep a typed place or a shared location in the draft; None when nothing was kept."""
    if message.location is not None:
        if await live_draft(message, state) is None:
            return None
        await step(state, await _current(state),
                   location=[message.location.latitude, message.location.longitude])
        return "location"
    place = await typed_text(message, state, MAX_PLACE)
    if place is None:
        return None
    await step(state, await _current(state), place=place)
    return "place"


async def _current(state: FSMContext) -> State:
    name = await state.get_state()
    return next(s for s in TipForm.__states__ if s.state == name)


async def _ask_place(message: Message) -> None:
    await message.answer(
        _("<b>Bước 3/6.</b> Địa điểm cụ thể (không bắt buộc): số nhà, tên đường, quán, mốc gần đó.\n"
          "Bạn cũng có thể gửi vị trí nếu ứng dụng cho phép. Vị trí là thông tin nhạy cảm: "
          "chỉ gửi khi bạn thấy an toàn, không gửi cũng được."),
        reply_markup=_keyboard([[button(_("Bỏ qua"), TipStep(action="skip_place"))]]),
    )


async def give_place(message: Message, state: FSMContext) -> None:
    """The exact place, typed or shared; then ask when."""
    if await _keep_place(message, state) is not None:
        await _ask_when(message, state)


async def skip_place(callback: CallbackQuery, state: FSMContext) -> None:
    """No exact place; ask when."""
    if await live_draft(callback, state) is None:
        return
    await _ask_when(callback.message, state)


async def _ask_when(message: Message, state: FSMContext) -> None:
    await step(state, TipForm.when)
    buttons = [button(str(WHEN_LABELS[choice]), WhenChoice(choice=choice)) for choice in WHEN_CHOICES]
    await message.answer(
        _("<b>Bước 4/6.</b> Việc xảy ra khi nào? Chọn, hoặc gõ ngày giờ bạn biết."),
        reply_markup=_keyboard([buttons[:2], buttons[2:4], buttons[4:]]),
    )


async def choose_when(callback: CallbackQuery, callback_data: WhenChoice, state: FSMContext) -> None:
    """A quick answer to when; then ask what happened."""
    if await live_draft(callback, state) is None:
        return
    if callback_data.choice not in WHEN_CHOICES:
        return
    await step(state, TipForm.text, when_choice=callback_data.choice, when_text=None)
    await _ask_text(callback.message)


async def type_when(message: Message, state: FSMContext) -> None:
    """When, typed; then ask what happened."""
    when = await typed_text(message, state, MAX_WHEN)
    if when is None:
        return
    await step(state, TipForm.text, when_text=when, when_choice=None)
    await _ask_text(message)


async def _ask_text(message: Message) -> None:
    await message.answer(
        _("<b>Bước 5/6.</b> Chuyện gì đã xảy ra? Gõ mô tả (tối đa {limit} ký tự): ai, làm gì, "
          "dấu hiệu nhận biết, xe, số điện thoại hay tài khoản liên quan…").format(limit="4.000"),
        reply_markup=_keyboard([]),
    )


async def give_text(message: Message, state: FSMContext) -> None:
    """What happened; then offer photos."""
    text = await typed_text(message, state, MAX_TEXT)
    if text is None:
        return
    await step(state, TipForm.photos, text=text)
    await message.answer(
        _("<b>Bước 6/6.</b> Ảnh (không bắt buộc): gửi tối đa {count} ảnh, rồi bấm “Tiếp tục”. "
          "Không có ảnh thì bấm “Tiếp tục” luôn.").format(count=MAX_PHOTOS),
        reply_markup=_photos_keyboard(),
    )


async def text_expected(message: Message) -> None:
    """Something other than text where text was asked for."""
    await message.answer(_("Bạn hãy gõ câu trả lời bằng chữ, hoặc bấm một nút ở trên."))


async def button_expected(message: Message) -> None:
    """Typing where a button must be chosen."""
    await message.answer(_("Bạn hãy chọn một nút ở trên, hoặc gõ /cancel để hủy."))


def _photos_keyboard() -> InlineKeyboardMarkup:
    return _keyboard([[button(_("Tiếp tục"), TipStep(action="photos_done"))]])


async def give_photo(message: Message, state: FSMContext) -> None:
    """Keep the photo's file id (the picture itself is fetched only when the tip is sent)."""
    data = await live_draft(message, state)
    if data is None:
        return
    if message.photo:
        picture = message.photo[-1]
        file_id, size = picture.file_id, picture.file_size
    elif message.document is not None and (message.document.mime_type or "").startswith("image/"):
        file_id, size = message.document.file_id, message.document.file_size
    else:
        await message.answer(_("Bạn hãy gửi ảnh (tệp ảnh), hoặc bấm “Tiếp tục”."), reply_markup=_photos_keyboard())
        return
    photos = list(data.get("photos", []))
    if len(photos) >= MAX_PHOTOS:
        await message.answer(_("Đã đủ {count} ảnh. Bấm “Tiếp tục” để xem lại tin báo.").format(count=MAX_PHOTOS),
                             reply_markup=_photos_keyboard())
        return
    if size is not None and size > MAX_PHOTO_BYTES:
        await message.answer(_("Ảnh quá lớn (tối đa 20 MB)."), reply_markup=_photos_keyboard())
        return
    photos.append(file_id)
    await step(state, TipForm.photos, photos=photos)
    await message.answer(_("Đã nhận ảnh {number}/{count}. Gửi thêm, hoặc bấm “Tiếp tục”.").format(
        number=len(photos), count=MAX_PHOTOS), reply_markup=_photos_keyboard())


async def photos_done(callback: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """Show the summary with Gửi / Hủy."""
    data = await live_draft(callback, state)
    if data is None:
        return
    await step(state, TipForm.confirm)
    tip = _tip_draft(data)
    area = await session.get(Area, tip.area_id)
    if area is None:
        await callback.message.answer(_("Địa bàn đã chọn không còn trong hệ thống. Bạn hãy chọn lại."))
        return
    text = tip.text if len(tip.text) <= SUMMARY_TEXT else tip.text[:SUMMARY_TEXT] + "…"
    lines = [_("<b>Xem lại tin báo của bạn</b>")]
    lines += tip_details(tip, await place_trail(session, area))
    lines.append(_("Nội dung: {text}").format(text=hd.quote(text)))
    lines.append(_("Ảnh: {count}").format(count=len(data.get("photos", []))))
    lines += ["", _("Bấm “Gửi” để gửi cho công an phụ trách, hoặc “Hủy” để xóa.")]
    await callback.message.answer("\n".join(lines), reply_markup=_send_keyboard())


def _send_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        button(_("Gửi"), TipStep(action="send")), button(_("Hủy"), TipStep(action="cancel")),
    ]])


def _tip_draft(data: dict) -> TipDraft:
    location = data.get("location")
    return TipDraft(
        kind=data["kind"],
        area_id=data["area_id"],
        text=data["text"],
        when_choice=data.get("when_choice"),
        when_text=data.get("when_text"),
        place=data.get("place"),
        location=tuple(location) if location else None,
    )


async def send_tip(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
    tip_keys: TipKeys | None,
    tip_limits: TipLimits,
    channel: str,
    channel_user_id: str,
    after_commit: AfterCommit,
) -> None:
    """Seal and store the tip; once it is committed, give the receipt code and copy the tip to
    the officers' group (a receipt for a tip that was not stored would be a broken promise)."""
    data = await live_draft(callback, state)
    if data is None:
        return
    if tip_keys is None:
        await callback.message.answer(_not_configured())
        return
    sender = await tip_limits.sender(channel, channel_user_id)
    try:
        await tip_limits.take_tip(sender)
    except BotBusy as problem:
        # The tipster confirmed it: the draft stays, and "Gửi" works once the hour has room.
        await callback.message.answer("\n".join([render_problem(problem), _(
            "Tin báo của bạn vẫn được giữ: bấm “Gửi” lại sau ít phút.")]), reply_markup=_send_keyboard())
        return
    except Problem as problem:
        await state.clear()
        await callback.message.answer(render_problem(problem))
        return
    tip_draft = _tip_draft(data)
    try:
        photos, lost = await _fetch_photos(bot, data.get("photos", []))
        tip, code = await submit_tip(session, tip_keys, tip_draft, photos)
        lines = [
            _("✅ <b>Đã gửi tin báo.</b> Cảm ơn bạn đã góp phần giữ bình yên cho xóm làng."),
            "",
            _("Mã biên nhận của bạn:"),
            f"<code>{grouped(code)}</code>",
            "",
            _("⚠️ Hãy chép lại và giữ kín mã này. Đó là cách duy nhất để xem trạng thái, đọc trả lời "
              "của công an và bổ sung thông tin. Bình Yên không lưu mã nên không thể cấp lại. "
              "Chép xong, bạn có thể xóa tin nhắn này."),
            _("Xem trạng thái: gõ /tipstatus rồi mã biên nhận."),
        ]
        if lost:
            lines.append(_("Có {count} ảnh không đọc được nên không được lưu.").format(count=lost))
        # The code exists nowhere else: the receipt is kept until sent, even across a crash.
        after_commit.keep(callback.message.answer, "\n".join(lines), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[button(_("Xem trạng thái"), StatusAction(action="ask"))]]))
    except Problem as problem:
        await tip_limits.give_back(sender)
        await callback.message.answer(render_problem(problem))
        return
    except BaseException:
        await tip_limits.give_back(sender)
        raise
    # Cleared with the commit (bot/exactly_once/fsm_storage.py), before the receipt goes out: a "Gửi"
    # pressed again while the receipt is on its way finds no draft to send twice.
    await state.clear()
    trail = await place_trail(session, tip.area)
    await send_to_officers(
        bot, session, settings, i18n, channel, tip,
        lambda: (group_copy(tip.reference_in(settings.tz), tip_draft, trail, len(photos)), triage_keyboard(tip)),
        after_commit, photos,
    )


async def _fetch_photos(bot: Bot, file_ids: list[str]) -> tuple[list[bytes], int]:
    """Download and clean each photo; count those that could not be read."""
    photos, lost = [], 0
    for file_id in file_ids:
        try:
            downloaded = await bot.download(file_id)
            photos.append(await asyncio.to_thread(clean_photo, downloaded.read()))
        except Exception as error:  # one bad photo must not lose the tip
            log.warning("a tip photo was dropped: %s", type(error).__name__)
            lost += 1
    return photos, lost


def router() -> Router:
    """The /tip conversation."""
    router = Router(name="tips")
    private = F.chat.type == ChatType.PRIVATE
    typed = F.text & ~F.text.startswith("/")
    router.message.register(start_tip, Command("tip"), private, flags=COMMANDS["tip"].flags)
    router.message.register(private_only, Command("tip"), flags=COMMANDS["tip"].flags)
    router.message.register(cancel, Command("cancel"), StateFilter(TipForm))
    router.callback_query.register(cancel, TipStep.filter(F.action == "cancel"), StateFilter(TipForm))
    router.callback_query.register(choose_kind, KindChoice.filter(), TipForm.kind)
    router.callback_query.register(choose_area, AreaChoice.filter(), TipForm.area)
    router.message.register(place_before_area, TipForm.area, typed | F.location)
    router.message.register(give_place, TipForm.place, typed | F.location)
    router.callback_query.register(skip_place, TipStep.filter(F.action == "skip_place"), TipForm.place)
    router.callback_query.register(choose_when, WhenChoice.filter(), TipForm.when)
    router.message.register(type_when, TipForm.when, typed)
    router.message.register(give_text, TipForm.text, typed)
    router.message.register(give_photo, TipForm.photos, ~F.text.startswith("/"))
    router.callback_query.register(photos_done, TipStep.filter(F.action == "photos_done"), TipForm.photos)
    router.callback_query.register(send_tip, TipStep.filter(F.action == "send"), TipForm.confirm)
    router.message.register(button_expected, StateFilter(TipForm.kind, TipForm.confirm),
                            ~F.text.startswith("/"))
    router.message.register(text_expected, StateFilter(TipForm.area, TipForm.place, TipForm.when,
                                                       TipForm.text), ~F.text)
    return router
