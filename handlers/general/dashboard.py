"""/dashboard: a one-time login link to the desk (the web dashboard), in a private chat only."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from base.settings import Settings
from db.models import Member
from db.services.desk_access import LINK_MINUTES, issue_link


async def dashboard(message: Message, session: AsyncSession, member: Member, clock: Clock,
                    settings: Settings, after_commit: AfterCommit) -> None:
    """Send the link once it is stored; never in a group, where others would see it."""
    if message.chat.type != "private":  # the private-commands middleware answers first; kept as a guard
        await message.answer(_("Gõ /dashboard trong trò chuyện riêng với Bình Yên: đường dẫn đăng nhập "
                               "không được gửi vào nhóm."))
        return
    token = await issue_link(session, member, clock.now())
    link = f"{settings.web_base_url}/login/{token}"
    after_commit.call(
        message.answer,
        _("Đường dẫn đăng nhập bàn làm việc, dùng được một lần trong {minutes} phút:\n{link}\n\n"
          "Đừng chuyển đường dẫn này cho ai.").format(minutes=LINK_MINUTES, link=hd.quote(link)),
        link_preview_options=LinkPreviewOptions(is_disabled=True))


def router() -> Router:
    """The /dashboard router (staff only)."""
    router = Router(name="dashboard")
    router.message.register(dashboard, Command("dashboard"), flags=COMMANDS["dashboard"].flags)
    return router
