"""/privacy shows what is stored about the member; /forget deletes it."""

from typing import Literal

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS
from base.formatting import local_date
from base.labels import role_label
from base.preferences import prefs_key
from base.settings import Settings
from db.models import Member
from db.services.organizations import represented
from db.services.privacy import forget_member, stored_data
from handlers.common.keyboards import keyboard


async def show_privacy(message: Message, session: AsyncSession, member: Member | None,
                       settings: Settings) -> None:
    """Everything stored about the member, in plain words."""
    if member is None:
        await message.answer(_(
            "Bình Yên không lưu gì về bạn. Khi bạn tham gia ấp (/join), Bình Yên hỏi bạn đồng ý "
            "trước khi lưu."
        ))
        return
    data = await stored_data(session, member)
    household = member.household
    lines = [
        _("<b>Bình Yên lưu về bạn:</b>"),
        _("• Tài khoản: {channel} {user}").format(channel=member.channel, user=hd.quote(member.user_id)),
        _("• Vai trò: {role}").format(role=role_label(member)),
        _("• Ngôn ngữ: {language}").format(language=member.locale or settings.default_locale),
    ]
    if household is not None:
        lines.append(_("• Hộ: {head} ({code}), {hamlet}").format(
            head=hd.quote(household.head_name), code=household.code, hamlet=hd.quote(household.hamlet.name)))
    organization = await represented(session, member)
    if organization is not None:
        lines.append(_("• Người đại diện của: {name}").format(name=hd.quote(organization.name)))
    if member.consent_at is not None:
        lines.append(_("• Đồng ý lưu dữ liệu ngày {date} (bản {version})").format(
            date=local_date(member.consent_at, settings), version=member.consent_version))
    lines.append(_("• Đã đọc {readings} bài, làm {quizzes} bộ câu hỏi, xác nhận cam kết {pledges} lần").format(
        readings=data.readings, quizzes=data.quizzes, pledges=data.pledges_confirmed))
    if data.messages:
        lines.append(_("• {count} tin Bình Yên đã gửi hoặc sắp gửi cho bạn (thông báo, lời nhắc)").format(
            count=data.messages))
    lines += ["", _("Không lưu họ tên, số điện thoại. Tin báo tội phạm không gắn với bạn. "
                    "Xóa dữ liệu: /forget")]
    await message.answer("\n".join(lines))


async def ask_forget(message: Message, member: Member | None) -> None:
    """/forget: say what deleting means and ask to confirm."""
    if member is None:
        await message.answer(_("Bình Yên không lưu gì về bạn nên không có gì để xóa."))
        return
    warning = _(
        "Xóa dữ liệu cá nhân: Bình Yên xóa tài khoản của bạn, hộ bạn đã chọn, việc bạn đọc bài "
        "và các tin đã gửi cho bạn; tin chưa gửi sẽ không gửi nữa. Cam kết và số hộ đã được "
        "tuyên truyền vẫn được tính cho hộ (không gắn với bạn)."
    )
    if member.role != "resident":
        warning += "\n" + _("Bạn cũng sẽ mất vai trò {role}.").format(role=role_label(member))
    await message.answer(warning, reply_markup=keyboard(
        [(_("Xóa dữ liệu của tôi"), Forget(answer="yes")), (_("Không xóa"), Forget(answer="no"))]
    ))


class Forget(CallbackData, prefix="forget"):
    """Delete my personal data: yes or no."""

    answer: Literal["yes", "no"]


async def forget(callback: CallbackQuery, callback_data: Forget, session: AsyncSession, member: Member | None,
                 state: FSMContext, fsm_storage: BaseStorage, after_commit: AfterCommit) -> None:
    """Delete the member's personal data, or keep it."""
    await callback.answer()
    if callback_data.answer == "no":
        await callback.message.answer(_("Đã giữ nguyên, không xóa gì."))
        return
    if member is not None:
        await forget_member(session, member)
    await state.clear()
    key = prefs_key(callback.bot.id, callback.message.chat.id, callback.from_user.id)
    await fsm_storage.set_data(key, {})
    after_commit.call(callback.message.answer, _(
        "Đã xóa dữ liệu cá nhân của bạn. Cảm ơn bạn đã tham gia phong trào. "
        "Bạn vẫn đọc tin (/learn) và gửi tin báo ẩn danh được."
    ))


def router() -> Router:
    """The privacy router."""
    router = Router(name="privacy")
    router.message.register(show_privacy, Command("privacy"), flags=COMMANDS["privacy"].flags)
    router.message.register(ask_forget, Command("forget"), flags=COMMANDS["forget"].flags)
    router.callback_query.register(forget, Forget.filter())
    return router
