"""/broadcast: a hamlet head (their hamlet) or an officer (their commune and its hamlets) writes a
message, picks the audience, sees a preview with the recipient count, then sends now or later."""

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS, STAFF, requires
from base.formatting import short
from base.labels import render_problem
from base.settings import Settings
from content.catalog import Catalog
from db.models import AUDIENCES, Area, Member
from db.services.areas import children
from db.services.audiences import AUDIENCE_LABELS, NOT_IN_HAMLETS
from db.services.broadcasts import URGENT_ROLES, clean_text, count_audience, create_broadcast, render
from db.services.members import scope_covers
from db.services.schedule_times import local_moment, parse_when
from db.text import Problem, Translator
from handlers.areas.area import area_in_scope
from handlers.common.callbacks import Id, Slug
from handlers.common.keyboards import button, not_a_command
from handlers.outreach.learn import ordered_topics

if TYPE_CHECKING:
    from base.clock import Clock

MAX_AREA_BUTTONS = 12
EVENING, MORNING = time(19, 0), time(7, 0)


class Step(CallbackData, prefix="bc"):
    """A button without a value: cancel, pick an article, mark urgent, send now."""

    action: Literal["cancel", "art", "urgent", "now"]


class AreaChoice(CallbackData, prefix="bc"):
    """The area to send to."""

    action: Literal["area"] = "area"
    area: Id


class ArticleChoice(CallbackData, prefix="bc"):
    """An outreach article to send instead of typed text."""

    action: Literal["art"] = "art"
    article: Slug


class AudienceChoice(CallbackData, prefix="bc"):
    """Who in the area receives it."""

    action: Literal["aud"] = "aud"
    audience: Literal[AUDIENCES]


class TimeChoice(CallbackData, prefix="bc"):
    """A preset send time, or "other" to type one."""

    action: Literal["at"] = "at"
    choice: Literal["evening", "morning", "other"]


class BroadcastForm(StatesGroup):
    """The steps of writing a broadcast."""

    area = State()
    text = State()
    audience = State()
    confirm = State()
    when = State()


def _cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("Hủy"), Step(action="cancel"))]


def when_text(moment: datetime, settings: Settings) -> str:
    """A time as people read it here: "19:00 20/08/2026"."""
    return f"{moment.astimezone(settings.tz):%H:%M %d/%m/%Y}"


async def start(
    message: Message, command: CommandObject, session: AsyncSession, member: Member, state: FSMContext
) -> None:
    """Begin: the area is the head's hamlet, or chosen by an officer within their scope."""
    await state.clear()
    code = (command.args or "").strip()
    if code:
        area = await area_in_scope(message, session, member, code)
        if area is not None:
            await _ask_text(message, state, area)
        return
    if member.area is None:
        await state.set_state(BroadcastForm.area)
        await message.answer(_("Gõ mã địa bàn cần gửi thông báo, ví dụ DEMO-01."),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]))
        return
    if member.area.level == "hamlet":
        await _ask_text(message, state, member.area)
        return
    below = await children(session, member.area)
    await state.set_state(BroadcastForm.area)
    rows = [[button(_("Cả {area}").format(area=member.area.name), AreaChoice(area=member.area.id))]]
    if len(below) <= MAX_AREA_BUTTONS:
        rows += [[button(area.name, AreaChoice(area=area.id))] for area in below]
        prompt = _("Gửi thông báo tới đâu?")
    else:
        prompt = _("Gửi thông báo tới đâu? Chọn cả địa bàn, hoặc gõ mã một địa bàn bên dưới.")
    await message.answer(prompt, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [_cancel_row()]))


async def choose_area(
    callback: CallbackQuery, callback_data: AreaChoice, session: AsyncSession, member: Member, state: FSMContext
) -> None:
    """An area button: it must still lie within the member's scope."""
    area = await session.get(Area, callback_data.area)
    if area is None or not scope_covers(member, area):
        await callback.answer(_("Địa bàn này nằm ngoài phạm vi bạn phụ trách."), show_alert=True)
        return
    await callback.answer()
    await _ask_text(callback.message, state, area)


async def typed_area(message: Message, session: AsyncSession, member: Member, state: FSMContext) -> None:
    """An area code typed instead of a button."""
    code = (message.text or "").strip()[:40]
    area = await area_in_scope(message, session, member, code) if code else None
    if area is not None:
        await _ask_text(message, state, area)


async def _ask_text(message: Message, state: FSMContext, area: Area) -> None:
    await state.set_state(BroadcastForm.text)
    await state.set_data({"area_id": area.id})
    await message.answer(
        _("Gõ nội dung thông báo gửi tới <b>{area}</b> (tối đa 3.000 ký tự), hoặc chọn một bài "
          "tuyên truyền để gửi.").format(area=hd.quote(area.name)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [button(_("📖 Chọn bài tuyên truyền"), Step(action="art"))], _cancel_row()]))


async def typed_text(message: Message, session: AsyncSession, state: FSMContext) -> None:
    """The message's text; then the audience."""
    text = clean_text(message.text)
    data = await state.get_data()
    area = await session.get(Area, data["area_id"])
    await state.update_data(text=text, article_id=None)
    await state.set_state(BroadcastForm.audience)
    await message.answer(_("Gửi cho ai trong {area}?").format(area=hd.quote(area.name)),
                         reply_markup=_audience_keyboard(area))


async def ask_article(callback: CallbackQuery, catalog: Catalog, i18n: I18n) -> None:
    """The outreach articles, by topic, to send one instead of typing."""
    await callback.answer()
    articles = [article for topic in ordered_topics(catalog)
                for article in catalog.in_topic(topic, i18n.current_locale)]
    rows = [[button(short(article.title), ArticleChoice(article=article.id))] for article in articles]
    await callback.message.answer(
        _("Chọn bài tuyên truyền để gửi (người nhận đọc tiêu đề, tóm tắt và cách mở cả bài, "
          "bằng ngôn ngữ của họ):"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [_cancel_row()]))


async def choose_article(
    callback: CallbackQuery, callback_data: ArticleChoice, session: AsyncSession, state: FSMContext,
    catalog: Catalog, i18n: I18n,
) -> None:
    """An article button: it is the broadcast; then the audience."""
    article = catalog.article(callback_data.article, i18n.current_locale)
    data = await state.get_data()
    if article is None or "area_id" not in data:
        await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."),
                              show_alert=True)
        return
    await callback.answer()
    area = await session.get(Area, data["area_id"])
    await state.update_data(text="", article_id=article.id)
    await state.set_state(BroadcastForm.audience)
    await callback.message.answer(
        _("Gửi bài “{title}” cho ai trong {area}?").format(
            title=hd.quote(article.title), area=hd.quote(area.name)),
        reply_markup=_audience_keyboard(area))


def _audience_keyboard(area: Area) -> InlineKeyboardMarkup:
    audiences = [a for a in AUDIENCES if a not in NOT_IN_HAMLETS or area.level != "hamlet"]
    rows = [[button(_(AUDIENCE_LABELS[a]), AudienceChoice(audience=a))] for a in audiences]
    return InlineKeyboardMarkup(inline_keyboard=rows + [_cancel_row()])


async def choose_audience(
    callback: CallbackQuery, callback_data: AudienceChoice, session: AsyncSession, member: Member,
    state: FSMContext, settings: Settings, clock: "Clock", translator: Translator, i18n: I18n, catalog: Catalog,
) -> None:
    """The audience; then the preview with the count."""
    await callback.answer()
    await state.update_data(audience=callback_data.audience, urgent=False)
    await _preview(callback.message, session, member, state, settings, clock, translator, i18n,
                   catalog)


async def _preview(
    message: Message, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", translator: Translator, i18n: I18n, catalog: Catalog,
) -> None:
    data = await state.get_data()
    area = await session.get(Area, data["area_id"])
    try:
        count = await count_audience(session, member, area, data["audience"], clock.now(), settings.tz)
    except Problem as problem:
        await message.answer(render_problem(problem), reply_markup=_audience_keyboard(area))
        return
    if count == 0:
        await state.set_state(BroadcastForm.audience)
        await message.answer(_("Không có ai trong nhóm này để gửi. Chọn nhóm khác:"),
                             reply_markup=_audience_keyboard(area))
        return
    await state.set_state(BroadcastForm.confirm)
    article_id = data.get("article_id")
    article = catalog.article(article_id, i18n.current_locale) if article_id else None
    preview = render(translator, i18n.current_locale, area, data["text"], data["urgent"], article)
    audience = AUDIENCE_LABELS[data["audience"]]
    lines = [_("<b>Xem trước:</b>"), "", preview, "",
             ngettext("Gửi tới {count} người ({audience}).", "Gửi tới {count} người ({audience}).",
                      count).format(count=count, audience=_(audience).lower())]
    local_now = clock.now().astimezone(settings.tz)
    rows = [[button(_("Gửi ngay"), Step(action="now"))]]
    if local_now.time() < EVENING:
        rows.append([button(_("Tối nay 19:00"), TimeChoice(choice="evening"))])
    rows.append([button(_("Sáng mai 07:00"), TimeChoice(choice="morning"))])
    rows.append([button(_("Chọn giờ khác"), TimeChoice(choice="other"))])
    if member.role in URGENT_ROLES:
        label = _("Bỏ đánh dấu khẩn") if data["urgent"] else _("Đánh dấu khẩn")
        rows.append([button(label, Step(action="urgent"))])
    rows.append(_cancel_row())
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def toggle_urgent(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", translator: Translator, i18n: I18n, catalog: Catalog,
) -> None:
    """Officers and admins may mark a broadcast urgent (it ignores quiet hours)."""
    if member.role not in URGENT_ROLES:
        await callback.answer(_("Chỉ công an xã, phường và quản trị được gửi thông báo khẩn."),
                              show_alert=True)
        return
    await callback.answer()
    await state.update_data(urgent=not (await state.get_data()).get("urgent", False))
    await _preview(callback.message, session, member, state, settings, clock, translator, i18n,
                   catalog)


async def send_now(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", translator: Translator, catalog: Catalog,
    after_commit: AfterCommit,
) -> None:
    """Send at once (or at the end of the quiet hours, for a non-urgent one)."""
    await callback.answer()
    await _create(callback.message, session, member, state, settings, clock, translator, catalog,
                  None, after_commit)


async def send_at(
    callback: CallbackQuery, callback_data: TimeChoice, session: AsyncSession, member: Member,
    state: FSMContext, settings: Settings, clock: "Clock", translator: Translator, catalog: Catalog,
    after_commit: AfterCommit,
) -> None:
    """A preset time ("Tối nay 19:00", "Sáng mai 07:00"), or ask for a typed one."""
    await callback.answer()
    choice = callback_data.choice
    today = clock.now().astimezone(settings.tz).date()
    if choice == "other":
        await state.set_state(BroadcastForm.when)
        await callback.message.answer(
            _("Gõ giờ gửi dạng HH:MM (hôm nay), DD/MM HH:MM (lần tới của ngày đó, ví dụ "
              "20/08 07:30) hoặc DD/MM/YYYY HH:MM (ví dụ 05/01/2027 08:00)."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]))
        return
    if choice == "evening":
        when = local_moment(today, EVENING, settings.tz)
    else:
        when = local_moment(today + timedelta(days=1), MORNING, settings.tz)
    if when <= clock.now():
        await callback.message.answer(_("Giờ này đã qua. Hãy chọn giờ khác."))
        return
    await _create(callback.message, session, member, state, settings, clock, translator, catalog,
                  when, after_commit)


async def typed_when(
    message: Message, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", translator: Translator, catalog: Catalog,
    after_commit: AfterCommit,
) -> None:
    """A typed send time."""
    when = parse_when(message.text or "", clock.now(), settings.tz)
    await _create(message, session, member, state, settings, clock, translator, catalog, when,
                  after_commit)


async def _create(
    message: Message, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", translator: Translator, catalog: Catalog,
    when: datetime | None, after_commit: AfterCommit,
) -> None:
    data = await state.get_data()
    if not {"area_id", "text", "audience"} <= data.keys():
        await state.clear()
        await message.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."))
        return
    area = await session.get(Area, data["area_id"])
    now = clock.now()
    broadcast = await create_broadcast(
        session, member, area, data["audience"], data["text"], when, data.get("urgent", False),
        now, settings.tz, settings.quiet, translator, article_id=data.get("article_id"),
        catalog=catalog)
    await state.clear()
    # Said only once the broadcast is stored: a failed commit must not announce it.
    if broadcast.status == "sending":
        after_commit.call(message.answer, ngettext(
            "📤 Đang gửi thông báo #{id} tới {count} người. Bình Yên sẽ báo kết quả khi gửi xong; "
            "xem tiến độ bằng /broadcasts.",
            "📤 Đang gửi thông báo #{id} tới {count} người. Bình Yên sẽ báo kết quả khi gửi xong; "
            "xem tiến độ bằng /broadcasts.", broadcast.recipients).format(
            id=broadcast.id, count=broadcast.recipients))
        return
    if broadcast.status == "done":
        # Everyone the preview counted became unreachable, or left the audience, since.
        after_commit.call(message.answer, _(
            "Thông báo #{id} không gửi tới ai: từ lúc xem trước, nhóm này không còn ai nhận được "
            "(người nhận đã chặn Bình Yên, hoặc hộ không còn thuộc nhóm). Gửi nhóm khác bằng "
            "/broadcast.").format(id=broadcast.id))
        return
    lines = [_("🕒 Đã hẹn gửi thông báo #{id} lúc {when}.").format(
        id=broadcast.id, when=when_text(broadcast.send_at, settings))]
    if broadcast.send_at != (when or now):
        lines.append(_("Giờ nghỉ {quiet}: thông báo không khẩn được dời đến cuối giờ nghỉ.").format(
            quiet=settings.quiet))
    lines.append(_("Xem hoặc hủy bằng /broadcasts."))
    after_commit.call(message.answer, "\n".join(lines))


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    """Drop the draft."""
    await state.clear()
    await callback.answer()
    await callback.message.answer(_("Đã hủy, chưa gửi gì."))


def router() -> Router:
    """The /broadcast router (hamlet heads, officers, admins)."""
    router = Router(name="broadcast")
    staff = requires(*STAFF)
    form = StateFilter(BroadcastForm)
    callbacks = router.callback_query
    router.message.register(start, Command("broadcast"), flags=COMMANDS["broadcast"].flags)
    callbacks.register(cancel, form, Step.filter(F.action == "cancel"), flags=staff)
    callbacks.register(choose_area, BroadcastForm.area, AreaChoice.filter(), flags=staff)
    # Typed steps read text, never a command: /cancel, /id … keep their meaning.
    router.message.register(typed_area, BroadcastForm.area, not_a_command(), flags=staff)
    router.message.register(typed_text, BroadcastForm.text, not_a_command(), flags=staff)
    callbacks.register(ask_article, BroadcastForm.text, Step.filter(F.action == "art"), flags=staff)
    callbacks.register(choose_article, BroadcastForm.text, ArticleChoice.filter(), flags=staff)
    callbacks.register(choose_audience, BroadcastForm.audience, AudienceChoice.filter(), flags=staff)
    callbacks.register(toggle_urgent, BroadcastForm.confirm, Step.filter(F.action == "urgent"), flags=staff)
    callbacks.register(send_now, BroadcastForm.confirm, Step.filter(F.action == "now"), flags=staff)
    callbacks.register(send_at, BroadcastForm.confirm, TimeChoice.filter(), flags=staff)
    router.message.register(typed_when, BroadcastForm.when, not_a_command(), flags=staff)
    return router
