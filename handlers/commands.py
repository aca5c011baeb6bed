"""Every chat command, who may use it and what /help says of it: one table."""

from dataclasses import dataclass

from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from db.models import Member

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
        CommandInfo("language", __("Đổi ngôn ngữ (Tiếng Việt / English)")),
        CommandInfo("area", __("Xem địa bàn phụ trách và số hộ"), STAFF),
        CommandInfo("broadcast", __("Gửi thông báo tới bà con trong địa bàn"), STAFF),
        CommandInfo("broadcasts", __("Xem, hủy các thông báo đã gửi và đã hẹn"), STAFF),
        CommandInfo("campaign", __("Lịch chiến dịch: các mốc và lời nhắc"), frozenset({"officer", "admin"})),
    )
}


def commands_for(member: Member | None) -> list[CommandInfo]:
    """The commands this member's role may use, in table order."""
    role = member.role if member else None
    return [info for info in COMMANDS.values() if not info.roles or role in info.roles]
