"""/start: who Bình Yên is and where to begin."""

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from base.commands import COMMANDS


async def start(message: Message) -> None:
    """Greet the user and point to /help and to 113 for emergencies."""
    await message.answer(
        _(
            "Xin chào! Mình là <b>Bình Yên</b>, trợ lý của phong trào "
            "“Toàn dân bảo vệ an ninh Tổ quốc” ở địa phương.\n\n"
            "• /join — tham gia ấp, khóm của bạn (hoặc quét mã QR ở nhà văn hóa ấp)\n"
            "• /learn — đọc tin tuyên truyền phòng, chống tội phạm\n"
            "• /pledge — hộ xác nhận cam kết “An toàn về an ninh, trật tự”\n\n"
            "Gõ /help để xem mọi việc bạn làm được, /language để đổi ngôn ngữ.\n\n"
            "🚨 Khi khẩn cấp, hãy gọi ngay <b>113</b>."
        )
    )


def router() -> Router:
    """The /start router."""
    router = Router(name="start")
    router.message.register(start, CommandStart(), flags=COMMANDS["start"].flags)
    return router
