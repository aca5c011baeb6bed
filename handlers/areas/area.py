"""/area [CODE]: staff see an area of their scope, its sub-areas and their households; a hamlet
with its join code (what residents type on Zalo, and the Telegram link when the bot's username is
set), so a head can hand it out."""

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.commands import COMMANDS
from base.formatting import echo
from base.labels import level_label
from base.settings import Settings
from db.models import Area, Member
from db.services.areas import children, get_area, household_counts
from db.services.members import scope_covers
from db.services.qr import join_link

MAX_LISTED = 40


async def area_in_scope(message: Message, session: AsyncSession, member: Member, code: str) -> Area | None:
    """The area with this code if it lies within the member's scope; otherwise say why not."""
    area = await get_area(session, code)
    if area is None:
        await message.answer(_("Không có địa bàn mã {code}.").format(code=echo(code)))
        return None
    if not scope_covers(member, area):
        await message.answer(
            _("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách.").format(code=hd.quote(area.code))
        )
        return None
    return area


async def show_area(
    message: Message, command: CommandObject, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Show the asked area (default: the member's own) if it lies within their scope."""
    code = (command.args or "").strip()
    area = member.area
    if code:
        area = await area_in_scope(message, session, member, code)
        if area is None:
            return
    below = await children(session, area)
    counts = await household_counts(session, ([area] if area else []) + below)
    if area is None:
        lines = [_("<b>Toàn hệ thống</b>")]
    else:
        lines = [_("<b>{name}</b> ({code}), {level}: {households} hộ").format(
            name=hd.quote(area.name), code=area.code, level=level_label(area).lower(),
            households=counts[area.id],
        )]
        if area.join_code:
            lines += join_lines(area.join_code, settings)
    for child in below[:MAX_LISTED]:
        line = _("• {name} ({code}): {households} hộ").format(
            name=hd.quote(child.name), code=child.code, households=counts[child.id])
        if child.join_code:
            line += _(", mã tham gia {join_code}").format(join_code=child.join_code)
        lines.append(line)
    if len(below) > MAX_LISTED:
        lines.append(_("… và {count} địa bàn khác.").format(count=len(below) - MAX_LISTED))
    if below:
        lines.append(_("Gõ /area MÃ để xem một địa bàn, ví dụ /area {code}.").format(code=below[0].code))
    await message.answer("\n".join(lines))


def join_lines(join_code: str, settings: Settings) -> list[str]:
    """How residents join a hamlet: its code, typed on Zalo, and the Telegram link if known."""
    lines = [_("Mã tham gia của ấp: <code>{join_code}</code>. Trên Zalo, bà con gõ: /join {join_code}").format(
        join_code=join_code)]
    if settings.telegram_bot_username:
        lines.append(_("Trên Telegram: {link}").format(
            link=join_link(settings.telegram_bot_username, join_code)))
    return lines


def router() -> Router:
    """The /area router (staff only)."""
    router = Router(name="area")
    router.message.register(show_area, Command("area"), flags=COMMANDS["area"].flags)
    return router
