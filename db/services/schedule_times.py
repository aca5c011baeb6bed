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


# A send time may lie up to a year ahead (366 days: a leap year's same date and time).
MAX_AHEAD = timedelta(days=366)


def check_send_time(moment: datetime, now: datetime, tz: ZoneInfo) -> datetime:
    """`moment` if it lies after `now` and within a year; a Problem that says why not otherwise.
    The one rule for every send time, typed in chat or given to the command line."""
    if moment <= now:
        raise Problem(N_("Thời điểm {when} đã qua. Hãy chọn một thời điểm sau bây giờ."),
                      when=f"{moment.astimezone(tz):%H:%M %d/%m/%Y}")
    if moment > now + MAX_AHEAD:
        raise Problem(N_("Chỉ hẹn gửi được trong vòng một năm tới."))
    return moment


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A future send time typed in chat: "HH:MM" (today), "DD/MM HH:MM" (the next such day and
    time: in December, "05/01 08:00" is next January) or "DD/MM/YYYY HH:MM".

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
            years = [int(match[3])] if match[3] else [local_now.year, local_now.year + 1]
            moment = _first_after(years, int(match[2]), int(match[1]), at, now, tz)
    if moment is None:
        raise Problem(N_("Không hiểu thời gian “{text}”. Hãy gõ giờ dạng HH:MM (ví dụ 19:00), "
                         "hoặc ngày và giờ dạng DD/MM HH:MM (ví dụ 20/08 07:30) hay "
                         "DD/MM/YYYY HH:MM (ví dụ 05/01/2027 08:00)."), text=text)
    return check_send_time(moment, now, tz)


def _first_after(
    years: list[int], month: int, day: int, at: time, now: datetime, tz: ZoneInfo
) -> datetime | None:
    """The day and time in the first of `years` where it is after `now` (else in the last one);
    None when the date does not exist."""
    moment = None
    for year in years:
        try:
            moment = local_moment(date(year, month, day), at, tz)
        except ValueError:
            continue  # 29/02 in a year without it: perhaps in the next one
        if moment > now:
            return moment
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
