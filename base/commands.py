"""Every chat command, who may use it and what /help says of it: one table."""

from dataclasses import dataclass

from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from db.models import Member
from db.services.members import OFFICER_ROLES

ANYONE: frozenset[str] = frozenset()
STAFF = frozenset({"hamlet_head", "officer", "admin"})
ROLES_FLAG = "roles"


def requires(*roles: str) -> dict[str, frozenset[str]]:
    """Handler flags saying which roles may use it; bot/middlewares/roles.py enforces them."""
    return {ROLES_FLAG: frozenset(roles)}


@dataclass(frozen=True)
class CommandInfo:
    """A command; empty `roles` means anyone, even someone who never registered."""

    name: str
    description: LazyProxy
    roles: frozenset[str] = ANYONE

    @property
    def flags(self) -> dict[str, frozenset[str]]:
        """Handler flags that make the role middleware enforce `roles`."""
        return requires(*self.roles) if self.roles else {}


COMMANDS = {
    info.name: info
    for info in (
        CommandInfo("start", __("Bắt đầu và giới thiệu Bình Yên")),
        CommandInfo("help", __("Những việc bạn làm được với Bình Yên")),
        CommandInfo("join", __("Tham gia ấp, khóm và chọn hộ gia đình của bạn")),
        CommandInfo("learn", __("Đọc tin tuyên truyền phòng, chống tội phạm")),
        CommandInfo("pledge", __("Xác nhận cam kết “An toàn về an ninh, trật tự” của hộ")),
        CommandInfo("privacy", __("Xem Bình Yên lưu gì về bạn")),
        CommandInfo("forget", __("Xóa dữ liệu cá nhân của bạn")),
        CommandInfo("language", __("Đổi ngôn ngữ (Tiếng Việt / English)")),
        CommandInfo("cancel", __("Dừng việc đang làm dở")),
        CommandInfo("id", __("Xem mã tài khoản của bạn (và của nhóm) trên kênh này")),
        CommandInfo("households", __("Danh sách hộ chưa ký cam kết, chưa được tuyên truyền"), STAFF),
        CommandInfo("approve", __("Duyệt hộ mới đăng ký"), STAFF),
        CommandInfo("stats", __("Số liệu phong trào so với chỉ tiêu, kèm biểu đồ"), STAFF),
        CommandInfo("area", __("Xem địa bàn phụ trách và số hộ"), STAFF),
        CommandInfo("tip", __("Gửi tin báo tội phạm, giữ kín danh tính")),
        CommandInfo("tipstatus", __("Xem trạng thái tin báo bằng mã biên nhận")),
        CommandInfo("tips", __("Tin báo đang mở trong địa bàn phụ trách"), OFFICER_ROLES),
        CommandInfo("reply", __("Trả lời người báo: /reply MÃ-TIN nội dung"), OFFICER_ROLES),
        CommandInfo("broadcast", __("Gửi thông báo tới bà con trong địa bàn"), STAFF),
        CommandInfo("broadcasts", __("Xem, hủy các thông báo đã gửi và đã hẹn"), STAFF),
        CommandInfo("campaign", __("Lịch chiến dịch: các mốc và lời nhắc"), OFFICER_ROLES),
        CommandInfo("dashboard", __("Nhận đường dẫn đăng nhập bàn làm việc trên web"), STAFF),
        CommandInfo("org", __("Đơn vị bạn đại diện: đăng ký phong trào, tiêu chí An toàn về ANTT")),
        CommandInfo("orgs", __("Cơ quan, doanh nghiệp, trường học: đăng ký phong trào"), OFFICER_ROLES),
        CommandInfo("models", __("Mô hình tự quản: xem, thêm, rà soát"), STAFF),
        CommandInfo("recognition", __("Công nhận “An toàn về ANTT”: tiêu chí, đánh giá, quyết định"), STAFF),
    )
}


def commands_for(member: Member | None) -> list[CommandInfo]:
    """The commands this member's role may use, in table order."""
    role = member.role if member else None
    return [info for info in COMMANDS.values() if not info.roles or role in info.roles]
