"""Tips in words: kinds, statuses and times in the reader's language, and the officers' copy."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.markdown import html_decoration as hd

from db.models import Area
from db.services.tips import TipDraft
from db.text import split_text

KIND_LABELS = {
    "drugs": __("Ma túy"),
    "gambling": __("Cờ bạc"),
    "theft": __("Trộm cắp"),
    "online_fraud": __("Lừa đảo qua mạng"),
    "child_abuse": __("Xâm hại trẻ em"),
    "domestic_violence": __("Bạo lực gia đình"),
    "trafficking": __("Mua bán người"),
    "public_disorder": __("Gây rối trật tự"),
    "other": __("Việc khác"),
}
STATUS_LABELS = {
    "received": __("Đã tiếp nhận"),
    "checking": __("Đang xác minh"),
    "handled": __("Đã xử lý"),
    "closed": __("Đã đóng"),
}
# What an officer's button says: the action, short enough to read as a numbered option.
STATUS_ACTIONS = {
    "checking": __("Đang xác minh"),
    "handled": __("Đã xử lý"),
    "closed": __("Đóng"),
}
WHEN_LABELS = {
    "now": __("Đang xảy ra"),
    "today": __("Hôm nay"),
    "yesterday": __("Hôm qua"),
    "days_ago": __("Mấy ngày trước"),
    "long_ago": __("Đã lâu"),
}
# Telegram refuses messages above 4,096 characters; keep a margin for the markup.
MESSAGE_LIMIT = 3800


def kind_label(kind: str) -> str:
    """The kind of a tip, e.g. "Ma túy"."""
    return str(KIND_LABELS[kind])


def status_label(status: str) -> str:
    """The status of a tip, e.g. "Đang xác minh"."""
    return str(STATUS_LABELS[status])


def when_label(draft: TipDraft) -> str:
    """When it happened, as the tipster chose or typed it."""
    if draft.when_choice in WHEN_LABELS:
        return str(WHEN_LABELS[draft.when_choice])
    return draft.when_text or "—"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """A stored time (UTC; SQLite returns it without a zone) as local day and time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def local_date(moment: datetime, tz: ZoneInfo) -> str:
    """A stored time as the local day."""
    return local_time(moment, tz).split(" ")[0]


def place_line(trail: list[Area]) -> str:
    """The place in the tree, nearest first: "Ấp Bình Long, Xã Tân Hòa"."""
    return ", ".join(area.name for area in reversed(trail))


def location_line(location: tuple[float, float]) -> str:
    """A shared location as coordinates and a map link."""
    lat, lon = location
    return f"{lat:.5f}, {lon:.5f} (https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}&zoom=17)"


def tip_details(draft: TipDraft, trail: list[Area]) -> list[str]:
    """The lines every view of a tip shares: kind, place, details of place, when."""
    lines = [
        _("Loại: {kind}").format(kind=kind_label(draft.kind)),
        _("Nơi xảy ra: {place}").format(place=hd.quote(place_line(trail))),
    ]
    if draft.place:
        lines.append(_("Địa điểm cụ thể: {place}").format(place=hd.quote(draft.place)))
    if draft.location:
        lines.append(_("Vị trí đã chia sẻ: {location}").format(location=location_line(draft.location)))
    lines.append(_("Thời điểm: {when}").format(when=hd.quote(when_label(draft))))
    return lines


def group_copy(reference: str, draft: TipDraft, trail: list[Area], photos: int) -> list[str]:
    """The officers' group copy of a new tip, split into messages Telegram accepts."""
    head = [_("🔔 <b>Tin báo mới {reference}</b>").format(reference=reference)]
    head += tip_details(draft, trail)
    if photos:
        head.append(_("Ảnh: {count} (gửi ngay sau tin này)").format(count=photos))
    head.append(_("Trả lời người báo: /reply {reference} nội dung").format(reference=reference))
    body = _("<b>Nội dung:</b>\n{text}").format(text=hd.quote(draft.text))
    return split_messages(["\n".join(head), body])


def split_messages(parts: list[str]) -> list[str]:
    """Join parts into as few messages as fit, cutting a part that alone is too long."""
    return split_text("\n\n".join(part for part in parts if part), MESSAGE_LIMIT)
