"""/broadcasts: recent broadcasts with their progress and counts; cancel a scheduled one."""

from typing import Literal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS, STAFF, requires
from base.formatting import short
from base.settings import Settings
from content.catalog import Catalog
from db.models import Member
from db.services.audiences import AUDIENCE_LABELS
from db.services.broadcasts import (
    STATUS_LABELS,
    BroadcastLine,
    cancel_broadcast,
    get_broadcast,
    may_cancel,
    recent_broadcasts,
)
from handlers.common.callbacks import Id
from handlers.common.keyboards import keyboard


def _when(moment, settings: Settings) -> str:
    return f"{moment.astimezone(settings.tz):%H:%M %d/%m}"


def _line(line: BroadcastLine, settings: Settings, catalog: Catalog, locale: str) -> str:
    broadcast = line.broadcast
    head = _("#{id} · {when} · {area} · {audience}").format(
        id=broadcast.id, when=_when(broadcast.send_at, settings), area=hd.quote(broadcast.area.name),
        audience=_(AUDIENCE_LABELS[broadcast.audience]).lower())
    if broadcast.urgent:
        head = "🚨 " + head
    status = _(STATUS_LABELS[broadcast.status])
    if broadcast.status == "sending":
        status = _("đang gửi: {done}/{total}").format(
            done=line.sent + line.unreachable + line.failed, total=broadcast.recipients or 0)
    elif broadcast.status == "done":
        status = _("{sent} đã nhận, {unreachable} không liên lạc được, {failed} lỗi").format(
            sent=line.sent, unreachable=line.unreachable, failed=line.failed)
    preview = short(broadcast.text, 60)
    if broadcast.article_id:
        article = catalog.article(broadcast.article_id, locale)
        title = short("📖 " + (article.title if article else broadcast.article_id), 60)
        preview = f"{preview} + {title}" if preview else title
    return f"{head}\n   {status} — <i>{hd.quote(preview)}</i>"


async def list_broadcasts(
    message: Message, session: AsyncSession, member: Member, settings: Settings, catalog: Catalog,
    i18n: I18n,
) -> None:
    """The latest broadcasts within the member's area, with buttons to cancel scheduled ones."""
    lines = await recent_broadcasts(session, member)
    if not lines:
        await message.answer(_("Chưa có thông báo nào. Gửi thông báo bằng /broadcast."))
        return
    text = [_("<b>Thông báo gần đây</b>")] + [
        _line(line, settings, catalog, i18n.current_locale) for line in lines]
    buttons = [
        [(_("Hủy #{id}").format(id=line.broadcast.id), Drop(action="drop", broadcast=line.broadcast.id))]
        for line in lines
        if line.broadcast.status == "scheduled" and may_cancel(member, line.broadcast)
    ]
    await message.answer("\n".join(text),
                         reply_markup=keyboard(*buttons) if buttons else None)


class Drop(CallbackData, prefix="bc"):
    """Cancel a broadcast: ask (`drop`), then confirm (`dropok`)."""

    action: Literal["drop", "dropok"]
    broadcast: Id


class Keep(CallbackData, prefix="bc"):
    """Leave a broadcast scheduled."""

    action: Literal["keep"] = "keep"


async def ask_cancel(
    callback: CallbackQuery, callback_data: Drop, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Confirm before cancelling."""
    broadcast = await get_broadcast(session, callback_data.broadcast)
    if broadcast is None or not may_cancel(member, broadcast):
        await callback.answer(_("Không có thông báo #{id} mà bạn được phép hủy.").format(
            id=callback_data.broadcast), show_alert=True)
        return
    await callback.answer()
    markup = keyboard([(_("Hủy thông báo"), Drop(action="dropok", broadcast=broadcast.id))],
                      [(_("Không hủy"), Keep())])
    await callback.message.answer(_("Hủy thông báo #{id} gửi {area} lúc {when}?").format(
        id=broadcast.id, area=hd.quote(broadcast.area.name), when=_when(broadcast.send_at, settings)),
        reply_markup=markup)


async def confirm_cancel(callback: CallbackQuery, callback_data: Drop, session: AsyncSession, member: Member,
                         after_commit: AfterCommit) -> None:
    """Cancel it, if it has not started."""
    await callback.answer()
    broadcast = await cancel_broadcast(session, member, callback_data.broadcast)
    after_commit.call(callback.message.answer,
                      _("Đã hủy thông báo #{id}; sẽ không gửi.").format(id=broadcast.id))


async def keep(callback: CallbackQuery) -> None:
    """Leave it scheduled."""
    await callback.answer()
    await callback.message.answer(_("Giữ nguyên, thông báo vẫn được gửi theo giờ đã hẹn."))


def router() -> Router:
    """The /broadcasts router (hamlet heads, officers, admins)."""
    router = Router(name="broadcasts")
    staff = requires(*STAFF)
    router.message.register(list_broadcasts, Command("broadcasts"), flags=COMMANDS["broadcasts"].flags)
    router.callback_query.register(ask_cancel, Drop.filter(F.action == "drop"), flags=staff)
    router.callback_query.register(confirm_cancel, Drop.filter(F.action == "dropok"), flags=staff)
    router.callback_query.register(keep, Keep.filter(), flags=staff)
    return router
