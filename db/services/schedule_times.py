"""Local times of day, quiet hours, and the send times people type ("19:00", "20/08 07:30")."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.text import N_, Problem

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:hH.]([0-5]\d)$")
_DAY_HHMM = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\s+(\S+)$")
_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_hhmm(text: str) -> time | None:
    """"08:00", "8:00", "8h00" → 08:00; None when it is not a time of day."""
    match = _HHMM.match(text.strip())
    return time(int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class QuietHours:
    """Hours when nothing but urgent messages go out, e.g. 21:00–06:00 (may wrap midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "QuietHours | None":
        """"21:00-06:00" → QuietHours; "" or "off" → None; ValueError when malformed."""
        text = text.strip()
        if text.lower() in ("", "off", "none"):
            return None
        start, sep, end = text.partition("-")
        first, last = parse_hhmm(start), parse_hhmm(end)
        if not sep or first is None or last is None or first == last:
            raise ValueError("must be HH:MM-HH:MM (for example 21:00-06:00) or off")
        return cls(first, last)

    def covers(self, moment: datetime, tz: ZoneInfo) -> bool:
        """True when `moment` falls within the quiet hours (local time)."""
        local = moment.astimezone(tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """`moment`, or the end of the quiet hours it falls in."""
        if not self.covers(moment, tz):
            return moment
        local = moment.astimezone(tz)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in the deployment's time zone (timezone-aware)."""
    return datetime.combine(day, at, tzinfo=tz)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A future send time typed in chat: "HH:MM" (today) or "DD/MM HH:MM" (this year).

    Raises a Problem that says what to type when the text is not one, or lies in the past."""
    text = " ".join(text.split())
    local_now = now.astimezone(tz)
    moment = None
    at = parse_hhmm(text)
    if at is not None:
        moment = local_moment(local_now.date(), at, tz)
    else:
        match = _DAY_HHMM.match(text)
        at = parse_hhmm(match[4]) if match else None
        if at is not None:
            try:
                day = date(int(match[3] or local_now.year), int(match[2]), int(match[1]))
            except ValueError:
                day = None
            moment = local_moment(day, at, tz) if day else None
    if moment is None:
        raise Problem(N_("Không hiểu thời gian “{text}”. Hãy gõ giờ dạng HH:MM (ví dụ 19:00) "
                         "hoặc ngày và giờ dạng DD/MM HH:MM (ví dụ 20/08 07:30)."), text=text)
    if moment <= now:
        raise Problem(N_("Thời điểm {when} đã qua. Hãy chọn một thời điểm sau bây giờ."),
                      when=f"{moment:%H:%M %d/%m/%Y}")
    if moment > now + timedelta(days=366):
        raise Problem(N_("Chỉ hẹn gửi được trong vòng một năm tới."))
    return moment


def parse_day(text: str) -> date:
    """A date typed as DD/MM/YYYY; a Problem otherwise."""
    match = _DAY.match(text.strip())
    if match:
        try:
            return date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            pass
    raise Problem(N_("Không hiểu ngày “{text}”. Hãy gõ ngày dạng DD/MM/YYYY, ví dụ 19/08/2026."),
                  text=text.strip())
