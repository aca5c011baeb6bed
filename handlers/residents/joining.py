"""Joining a hamlet: /start j_CODE (QR, deep link), /join CODE, or picking the area from buttons;
then consent, then finding or registering the household."""

from typing import Annotated, Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from base.formatting import MAX_ID, short, whole_number
from base.paging import fetch_page, page_count
from base.preferences import prefs_key, remembered_locale
from db.models import Area, Household, Member
from db.services.areas import children
from db.services.joining import (
    clean_address,
    clean_head_name,
    give_consent,
    hamlet_by_join_code,
    has_consented,
    household_page,
    join_household,
    register_household,
    search_households,
)
from db.services.organizations import organization_by_join_code
from db.text import Translator
from handlers.common.callbacks import Id, Page
from handlers.common.keyboards import keyboard, pager
from handlers.movement.organizations import offer_representation

PAGE = 8
# Areas a page of /join shows (a province can have a hundred communes since the 2025 reform).
AREA_PAGE = 20


class AreaChoice(CallbackData, prefix="area"):
    """An area to go into, or the hamlet to join."""

    area: Id


class AreaPage(CallbackData, prefix="areas"):
    """A page of the areas under `parent` (0: the top of the tree)."""

    parent: Annotated[int, Field(ge=0, le=MAX_ID)]
    page: Page


class Consent(CallbackData, prefix="consent"):
    """The answer to the privacy notice."""

    answer: Literal["yes", "no"]


class HouseholdPage(CallbackData, prefix="hh"):
    """A page of the hamlet's households."""

    action: Literal["list"] = "list"
    page: Page


class HouseholdPick(CallbackData, prefix="hh"):
    """The household chosen."""

    action: Literal["pick"] = "pick"
    household: Id


class HouseholdStep(CallbackData, prefix="hh"):
    """Register a household not on the list: begin, send, or cancel."""

    action: Literal["new", "register", "cancel"]


class Joining(StatesGroup):
    """The steps of joining; the FSM data holds the hamlet id (and the new household's draft)."""

    consent = State()
    household = State()
    new_name = State()
    new_address = State()
    new_size = State()
    new_confirm = State()


def privacy_notice() -> str:
    """What Bình Yên stores and why, shown before anything personal is stored."""
    return _(
        "<b>Trước khi tham gia, bạn đọc giúp:</b>\n"
        "Bình Yên sẽ lưu:\n"
        "• mã tài khoản của bạn trên ứng dụng nhắn tin (để gửi tin cho bạn) và ngôn ngữ bạn chọn;\n"
        "• hộ gia đình bạn chọn trong ấp;\n"
        "• bài bạn đã đọc, kết quả câu hỏi, việc hộ xác nhận cam kết.\n\n"
        "Để làm gì: để ấp, xã biết bao nhiêu hộ đã được tuyên truyền và đã ký cam kết trong phong "
        "trào. Trưởng ấp thấy danh sách hộ chưa ký, chưa được tuyên truyền.\n\n"
        "Bình Yên không lưu họ tên hay số điện thoại của bạn, và tin báo tội phạm không gắn với "
        "bạn. Xem lại bằng /privacy, xóa bằng /forget bất cứ lúc nào."
    )


async def begin(
    message: Message, hamlet: Area, member: Member | None, state: FSMContext
) -> None:
    """Start joining `hamlet`: consent first if needed, then the household."""
    await state.set_data({"hamlet_id": hamlet.id})
    if not has_consented(member):
        await state.set_state(Joining.consent)
        await message.answer(privacy_notice(), reply_markup=keyboard(
            [(_("✅ Đồng ý"), Consent(answer="yes")), (_("Không đồng ý"), Consent(answer="no"))]
        ))
        return
    await ask_household(message, hamlet, member, state)


async def ask_household(message: Message, hamlet: Area, member: Member, state: FSMContext,
                        after_commit: AfterCommit | None = None) -> None:
    """Ask the member to find their household in the hamlet (after the commit, when given)."""
    await state.set_state(Joining.household)
    lines = [_("Bạn đang tham gia <b>{hamlet}</b>.").format(hamlet=hd.quote(hamlet.name))]
    if member.household is not None and member.household.hamlet_id == hamlet.id:
        lines.append(_("Bạn đang ở hộ {head} ({code}); chọn hộ khác nếu cần.").format(
            head=hd.quote(member.household.head_name), code=member.household.code))
    lines.append(_("Gõ tên chủ hộ (có dấu hay không dấu đều được) hoặc mã hộ để tìm hộ của bạn."))
    markup = keyboard([(_("📋 Xem danh sách hộ"), HouseholdPage(page=0))],
                      [(_("➕ Hộ tôi chưa có trong danh sách"), HouseholdStep(action="new"))])
    if after_commit is None:
        await message.answer("\n".join(lines), reply_markup=markup)
    else:
        after_commit.call(message.answer, "\n".join(lines), reply_markup=markup)


async def _hamlet(session: AsyncSession, state: FSMContext) -> Area | None:
    hamlet_id = (await state.get_data()).get("hamlet_id")
    return await session.get(Area, hamlet_id) if hamlet_id else None


async def start_with_code(
    message: Message, command: CommandObject, session: AsyncSession, member: Member | None,
    state: FSMContext,
) -> None:
    """/start j_CODE (from the QR code) and /join CODE."""
    code = (command.args or "").removeprefix("j_")
    hamlet = await hamlet_by_join_code(session, code)
    organization = None if hamlet else await organization_by_join_code(session, code)
    if organization is not None:  # an agency's, enterprise's or school's code: its representative
        await offer_representation(message, organization, member, state)
        return
    if hamlet is None:
        await message.answer(_(
            "Mã tham gia không đúng. Mã gồm 6 chữ và số, in dưới mã QR ở nhà văn hóa ấp. "
            "Bạn cũng có thể gõ /join rồi chọn tỉnh, xã, ấp."
        ))
        return
    await begin(message, hamlet, member, state)


async def join_without_code(message: Message, session: AsyncSession, state: FSMContext) -> None:
    """/join alone: choose the province, commune and hamlet from buttons."""
    await state.clear()
    await show_areas(message, session, None)


async def show_areas(message: Message, session: AsyncSession, parent: Area | None, page: int = 0) -> None:
    """One page of the areas below `parent` as buttons (a single province is skipped)."""
    areas = await children(session, parent)
    while parent is None and len(areas) == 1:
        parent = areas[0]
        areas = await children(session, parent)
    if not areas:
        await message.answer(_("Chưa có địa bàn nào. Bạn liên hệ công an xã hoặc trưởng ấp."))
        return
    pages = page_count(len(areas), AREA_PAGE)
    page = min(page, pages - 1)
    title = _("Chọn nơi bạn ở:") if parent is None else _("Chọn nơi bạn ở, thuộc {area}:").format(
        area=hd.quote(parent.name))
    if pages > 1:
        title += " " + _("(trang {page}/{pages})").format(page=page + 1, pages=pages)
    shown = areas[page * AREA_PAGE:(page + 1) * AREA_PAGE]
    await message.answer(title, reply_markup=keyboard(
        *[[(short(area.name), AreaChoice(area=area.id))] for area in shown],
        pager(lambda number: AreaPage(parent=parent.id if parent else 0, page=number), page, len(areas), AREA_PAGE),
    ))


async def area_page(callback: CallbackQuery, callback_data: AreaPage, session: AsyncSession) -> None:
    """◀ / ▶ under a list of areas."""
    await callback.answer()
    parent_number, page = callback_data.parent, callback_data.page
    parent = await session.get(Area, parent_number) if parent_number else None
    if parent_number and parent is None:
        await callback.message.answer(_("Không tìm thấy địa bàn này. Gõ /join để chọn lại."))
        return
    await show_areas(callback.message, session, parent, page)


async def pick_area(
    callback: CallbackQuery, callback_data: AreaChoice, session: AsyncSession, member: Member | None,
    state: FSMContext,
) -> None:
    """An area button: go one level down, or begin joining a hamlet."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None:
        await callback.message.answer(_("Không tìm thấy địa bàn này. Gõ /join để chọn lại."))
    elif area.level == "hamlet":
        await begin(callback.message, area, member, state)
    else:
        await show_areas(callback.message, session, area)


async def consent(
    callback: CallbackQuery, callback_data: Consent, session: AsyncSession, member: Member | None, state: FSMContext,
    channel: str, channel_user_id: str, fsm_storage: BaseStorage, after_commit: AfterCommit,
) -> None:
    """Đồng ý stores the member and goes on; Không đồng ý stores nothing."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    if callback_data.answer == "no" or hamlet is None:
        await state.clear()
        await callback.message.answer(_(
            "Bình Yên không lưu gì về bạn. Bạn vẫn đọc tin tuyên truyền (/learn) và gửi tin báo "
            "tội phạm ẩn danh được."
        ))
        return
    key = prefs_key(callback.bot.id, callback.message.chat.id, callback.from_user.id)
    locale = await remembered_locale(fsm_storage, key)
    member = await give_consent(session, channel, channel_user_id, locale)
    after_commit.call(callback.message.answer, _("Cảm ơn bạn đã đồng ý."))
    await ask_household(callback.message, hamlet, member, state, after_commit)


async def search(message: Message, session: AsyncSession, state: FSMContext) -> None:
    """Typed text while choosing a household: search by the head's name or the code."""
    hamlet = await _hamlet(session, state)
    query = (message.text or "").strip()
    if hamlet is None:
        await state.clear()
        return
    if not query or len(query) > 100:
        await message.answer(_("Bạn gõ tên chủ hộ hoặc mã hộ (tối đa 100 ký tự)."))
        return
    found = await search_households(session, hamlet, query)
    if not found:
        await message.answer(
            _("Không tìm thấy hộ nào khớp “{query}”. Bạn gõ lại, hoặc chọn bên dưới.").format(
                query=hd.quote(query)),
            reply_markup=keyboard([(_("📋 Xem danh sách hộ"), HouseholdPage(page=0))],
                                  [(_("➕ Hộ tôi chưa có trong danh sách"), HouseholdStep(action="new"))]),
        )
        return
    await message.answer(_("Chọn hộ của bạn:"), reply_markup=_household_buttons(found))


def _household_buttons(households: list[Household], *extra: list[tuple[str, str]]):
    # The head's name and the household code only: the join code is posted in public, and the
    # addresses are for the hamlet head's lists.
    rows = [[(short(f"{h.head_name} — {h.code}"), HouseholdPick(household=h.id))] for h in households]
    return keyboard(*rows, *extra, [(_("➕ Hộ tôi chưa có trong danh sách"), HouseholdStep(action="new"))])


async def list_page(
    callback: CallbackQuery, callback_data: HouseholdPage, session: AsyncSession, state: FSMContext
) -> None:
    """One page of the hamlet's households."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    page = callback_data.page
    if hamlet is None:
        await callback.message.answer(_("Phiên chọn hộ đã hết. Gõ /join để bắt đầu lại."))
        return
    households, total, page, pages = await fetch_page(
        lambda number: household_page(session, hamlet, number, PAGE), page, PAGE)
    text = _("Các hộ của {hamlet} (trang {page}/{pages}):").format(
        hamlet=hd.quote(hamlet.name), page=page + 1, pages=pages)
    await callback.message.answer(text, reply_markup=_household_buttons(
        households, pager(lambda number: HouseholdPage(page=number), page, total, PAGE)))


async def pick_household(
    callback: CallbackQuery, callback_data: HouseholdPick, session: AsyncSession, member: Member | None, state: FSMContext,
    after_commit: AfterCommit,
) -> None:
    """The member chose their household."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    household = await session.get(Household, callback_data.household)
    if hamlet is None or member is None or household is None or household.hamlet_id != hamlet.id:
        await callback.message.answer(_("Phiên chọn hộ đã hết. Gõ /join để bắt đầu lại."))
        return
    household = await join_household(session, member, household.id)
    await state.clear()
    after_commit.call(callback.message.answer, _(
        "✅ Bạn đã vào hộ <b>{head}</b> ({code}), {hamlet}.\n"
        "Gõ /pledge để xác nhận cam kết của hộ, /learn để đọc tin tuyên truyền."
    ).format(head=hd.quote(household.head_name), code=household.code, hamlet=hd.quote(hamlet.name)))


async def new_household(callback: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    """Register a household that is not on the list: ask the head's name first."""
    await callback.answer()
    if await _hamlet(session, state) is None:
        await callback.message.answer(_("Phiên chọn hộ đã hết. Gõ /join để bắt đầu lại."))
        return
    await state.set_state(Joining.new_name)
    await callback.message.answer(_("Đăng ký hộ mới. Họ và tên chủ hộ là gì?"))


async def new_name(message: Message, state: FSMContext) -> None:
    """The head's name of the new household."""
    name = clean_head_name(message.text or "")  # a Problem (bidi controls …) is the reply: bot/middlewares/problems.py
    if not 2 <= len(name) <= 200:
        await message.answer(_("Bạn gõ họ tên chủ hộ (từ 2 đến 200 ký tự)."))
        return
    await state.update_data(head_name=name)
    await state.set_state(Joining.new_address)
    await message.answer(_("Địa chỉ của hộ (số nhà, tổ, đường)?"))


async def new_address(message: Message, state: FSMContext) -> None:
    """The new household's address."""
    address = clean_address(message.text or "")  # a Problem (bidi controls …) is the reply: bot/middlewares/problems.py
    if not 2 <= len(address) <= 300:
        await message.answer(_("Bạn gõ địa chỉ của hộ (từ 2 đến 300 ký tự)."))
        return
    await state.update_data(address=address)
    await state.set_state(Joining.new_size)
    await message.answer(_("Hộ có mấy người? Gõ một số (ví dụ 4)."))


async def new_size(message: Message, state: FSMContext) -> None:
    """The number of people; then a summary to confirm."""
    size = whole_number((message.text or "").strip(), 99)
    if not size:
        await message.answer(_("Bạn gõ số người trong hộ, từ 1 đến 99."))
        return
    data = await state.update_data(size=size)
    await state.set_state(Joining.new_confirm)
    await message.answer(
        _("Đăng ký hộ:\n• Chủ hộ: {head}\n• Địa chỉ: {address}\n• Số người: {size}\n"
          "Trưởng ấp sẽ duyệt trước khi hộ được tính.").format(
            head=hd.quote(data["head_name"]), address=hd.quote(data["address"]), size=data["size"]),
        reply_markup=keyboard([(_("✅ Gửi đăng ký"), HouseholdStep(action="register")), (_("Hủy"), HouseholdStep(action="cancel"))]),
    )


async def confirm_new(
    callback: CallbackQuery, callback_data: HouseholdStep, session: AsyncSession, member: Member | None,
    state: FSMContext, after_commit: AfterCommit, translator: Translator, clock: Clock,
) -> None:
    """Send the registration to the hamlet head, or drop it."""
    await callback.answer()
    data = await state.get_data()
    hamlet = await _hamlet(session, state)
    await state.clear()
    if callback_data.action == "cancel":
        await callback.message.answer(_("Đã hủy đăng ký hộ mới."))
        return
    if hamlet is None or member is None or "size" not in data:
        await callback.message.answer(_("Phiên chọn hộ đã hết. Gõ /join để bắt đầu lại."))
        return
    household = await register_household(
        session, member, hamlet, data["head_name"], data["address"], data["size"],
        translator, clock.now())
    after_commit.call(callback.message.answer, _(
        "Đã gửi đăng ký hộ <b>{head}</b> (mã {code}). Trưởng ấp sẽ duyệt; khi được duyệt, "
        "bạn xác nhận cam kết bằng /pledge."
    ).format(head=hd.quote(household.head_name), code=household.code))


def router() -> Router:
    """The joining router (it must come before /start, which would take /start j_CODE)."""
    router = Router(name="joining")
    router.message.register(
        start_with_code, CommandStart(deep_link=True, magic=F.args.startswith("j_")),
        flags=COMMANDS["start"].flags,
    )
    router.message.register(start_with_code, Command("join", magic=F.args), flags=COMMANDS["join"].flags)
    router.message.register(join_without_code, Command("join"), flags=COMMANDS["join"].flags)
    router.callback_query.register(pick_area, AreaChoice.filter())
    router.callback_query.register(area_page, AreaPage.filter())
    router.callback_query.register(consent, Joining.consent, Consent.filter())
    router.callback_query.register(list_page, HouseholdPage.filter())
    router.callback_query.register(pick_household, HouseholdPick.filter())
    router.callback_query.register(new_household, HouseholdStep.filter(F.action == "new"))
    router.callback_query.register(confirm_new, Joining.new_confirm, HouseholdStep.filter(F.action != "new"))
    router.message.register(search, Joining.household, F.text, ~F.text.startswith("/"))
    router.message.register(new_name, Joining.new_name, F.text, ~F.text.startswith("/"))
    router.message.register(new_address, Joining.new_address, F.text, ~F.text.startswith("/"))
    router.message.register(new_size, Joining.new_size, F.text, ~F.text.startswith("/"))
    return router
