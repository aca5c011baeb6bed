"""Names of roles and area levels in the user's language, and service problems rendered."""

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from base.formatting import echo
from db.models import Area, Member
from db.text import Problem

ROLE_LABELS = {
    "resident": __("Người dân"),
    "hamlet_head": __("Trưởng ấp, khóm, thôn, tổ dân phố"),
    "officer": __("Công an xã, phường"),
    "admin": __("Quản trị"),
}
LEVEL_LABELS = {
    "province": __("Tỉnh, thành phố"),
    "district": __("Huyện, quận"),
    "commune": __("Xã, phường"),
    "hamlet": __("Ấp, khóm, thôn, tổ dân phố"),
}

# A campaign's targets (Campaign.targets), as a reader is told them: the indicator and its value.
TARGET_LABELS = {
    "households_reached_pct": __("Hộ gia đình được tuyên truyền về phòng, chống tội phạm, tệ nạn xã hội: "
                                 "{value}%"),
    "households_pledged_pct": __("Hộ gia đình ký cam kết giao ước thi đua: {value}%"),
    "communes_safe_pct": __("Xã, phường, đặc khu đạt tiêu chuẩn “An toàn về an ninh, trật tự”: {value}%"),
    "agencies_safe_pct": __("Cơ quan, doanh nghiệp, nhà trường đạt tiêu chuẩn “An toàn về an ninh, "
                            "trật tự”: {value}%"),
    "agencies_registered_pct": __("Cơ quan, doanh nghiệp, nhà trường đăng ký tham gia phong trào: {value}%"),
    "models_per_commune": __("Mô hình tự quản hoạt động hiệu quả: ít nhất {value} ở mỗi xã, phường, đặc khu"),
}


def role_label(member: Member | None) -> str:
    """The member's role, with its area when it has one."""
    if member is None:
        return str(ROLE_LABELS["resident"])
    label = str(ROLE_LABELS[member.role])
    if member.area is not None and member.role != "resident":
        return _("{role} — {area}").format(role=label, area=member.area.name)
    return label


def level_label(area: Area) -> str:
    """The level of an area, e.g. "Xã, phường"."""
    return str(LEVEL_LABELS[area.level])


def render_problem(problem: Problem, markup: bool = True) -> str:
    """A service's Problem in the current language. In a chat message (`markup`) its values,
    often what the user typed, are shortened and quoted; the command line shows them as they are."""
    if not markup:
        return _(problem.message).format(**problem.params)
    params = {key: echo(value, 100) if isinstance(value, str) else value for key, value in problem.params.items()}
    return _(problem.message).format(**params)
