"""Joining a hamlet: /start j_CODE (QR, deep link), /join CODE, or picking the area from buttons;
then consent, then finding or registering the household."""

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from base.formatting import MAX_PAGE, short, whole_number
from base.paging import fetch_page, page_count
from base.preferences import prefs_key, remembered_locale
from db.models import Area, Household, Member
from db.services.areas import children
from db.services.joining import (
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
from handlers.common.keyboards import keyboard, pager
from handlers.movement.organizations import offer_representation

PAGE = 8
# Areas a page of /join shows (a province can have a hundred communes since the 2025 reform).
AREA_PAGE = 20


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
            [(_("✅ Đồng ý"), "consent:yes"), (_("Không đồng ý"), "consent:no")]
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
    markup = keyboard([(_("📋 Xem danh sách hộ"), "hh:list:0")],
                      [(_("➕ Hộ tôi chưa có trong danh sách"), "hh:new")])
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
        *[[(short(area.name), f"area:{area.id}")] for area in shown],
        pager(f"areas:{parent.id if parent else 0}", page, len(areas), AREA_PAGE),
    ))


async def area_page(callback: CallbackQuery, session: AsyncSession) -> None:
    """◀ / ▶ under a list of areas."""
    await callback.answer()
    parent_id, _sep, page_text = callback.data.removeprefix("areas:").partition(":")
    parent_number, page = whole_number(parent_id), whole_number(page_text, MAX_PAGE)
    parent = await session.get(Area, parent_number) if parent_number else None
    if parent_number is None or page is None or (parent_number and parent is None):
        await callback.message.answer(_("Không tìm thấy địa bàn này. Gõ /join để chọn lại."))
        return
    await show_areas(callback.message, session, parent, page)


async def pick_area(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, state: FSMContext
) -> None:
    """An area button: go one level down, or begin joining a hamlet."""
    await callback.answer()
    area_id = whole_number(callback.data.removeprefix("area:"))
    area = await session.get(Area, area_id) if area_id else None
    if area is None:
        await callback.message.answer(_("Không tìm thấy địa bàn này. Gõ /join để chọn lại."))
    elif area.level == "hamlet":
        await begin(callback.message, area, member, state)
    else:
        await show_areas(callback.message, session, area)


async def consent(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, state: FSMContext,
    channel: str, channel_user_id: str, fsm_storage: BaseStorage, after_commit: AfterCommit,
) -> None:
    """Đồng ý stores the member and goes on; Không đồng ý stores nothing."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    if callback.data == "consent:no" or hamlet is None:
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
            reply_markup=keyboard([(_("📋 Xem danh sách hộ"), "hh:list:0")],
                                  [(_("➕ Hộ tôi chưa có trong danh sách"), "hh:new")]),
        )
        return
    await message.answer(_("Chọn hộ của bạn:"), reply_markup=_household_buttons(found))


def _household_buttons(households: list[Household], *extra: list[tuple[str, str]]):
    # The head's name and the household code only: the join code is posted in public, and the
    # addresses are for the hamlet head's lists.
    rows = [[(short(f"{h.head_name} — {h.code}"), f"hh:pick:{h.id}")] for h in households]
    return keyboard(*rows, *extra, [(_("➕ Hộ tôi chưa có trong danh sách"), "hh:new")])


async def list_page(callback: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    """One page of the hamlet's households."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    page = whole_number(callback.data.removeprefix("hh:list:"), MAX_PAGE)
    if hamlet is None or page is None:
        await callback.message.answer(_("Phiên chọn hộ đã hết. Gõ /join để bắt đầu lại."))
        return
    households, total, page, pages = await fetch_page(
        lambda number: household_page(session, hamlet, number, PAGE), page, PAGE)
    text = _("Các hộ của {hamlet} (trang {page}/{pages}):").format(
        hamlet=hd.quote(hamlet.name), page=page + 1, pages=pages)
    await callback.message.answer(text, reply_markup=_household_buttons(
        households, pager("hh:list", page, total, PAGE)))


async def pick_household(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, state: FSMContext,
    after_commit: AfterCommit,
) -> None:
    """The member chose their household."""
    await callback.answer()
    hamlet = await _hamlet(session, state)
    household_id = whole_number(callback.data.removeprefix("hh:pick:"))
    household = await session.get(Household, household_id) if household_id else None
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
    name = " ".join((message.text or "").split())
    if not 2 <= len(name) <= 200:
        await message.answer(_("Bạn gõ họ tên chủ hộ (từ 2 đến 200 ký tự)."))
        return
    await state.update_data(head_name=name)
    await state.set_state(Joining.new_address)
    await message.answer(_("Địa chỉ của hộ (số nhà, tổ, đường)?"))


async def new_address(message: Message, state: FSMContext) -> None:
    """The new household's address."""
    address = " ".join((message.text or "").split())
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
        reply_markup=keyboard([(_("✅ Gửi đăng ký"), "hh:register"), (_("Hủy"), "hh:cancel")]),
    )


async def confirm_new(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, state: FSMContext,
    after_commit: AfterCommit, translator: Translator, clock: Clock,
) -> None:
    """Send the registration to the hamlet head, or drop it."""
    await callback.answer()
    data = await state.get_data()
    hamlet = await _hamlet(session, state)
    await state.clear()
    if callback.data == "hh:cancel":
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
    router.callback_query.register(pick_area, F.data.startswith("area:"))
    router.callback_query.register(area_page, F.data.startswith("areas:"))
    router.callback_query.register(consent, Joining.consent, F.data.in_({"consent:yes", "consent:no"}))
    router.callback_query.register(list_page, F.data.startswith("hh:list:"))
    router.callback_query.register(pick_household, F.data.startswith("hh:pick:"))
    router.callback_query.register(new_household, F.data == "hh:new")
    router.callback_query.register(confirm_new, Joining.new_confirm, F.data.in_({"hh:register", "hh:cancel"}))
    router.message.register(search, Joining.household, F.text, ~F.text.startswith("/"))
    router.message.register(new_name, Joining.new_name, F.text, ~F.text.startswith("/"))
    router.message.register(new_address, Joining.new_address, F.text, ~F.text.startswith("/"))
    router.message.register(new_size, Joining.new_size, F.text, ~F.text.startswith("/"))
    return router
