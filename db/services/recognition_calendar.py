"""The recognition's dates as campaign milestones: the assessment periods' ends and the file
deadlines (Thông tư 124/2021/TT-BCA), with reminders to those who prepare the files."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Milestone
from db.services.milestones import ReminderSpec, add_milestone_in_year, add_reminder
from db.services.schedule_times import QuietHours
from db.text import Problem

# Each milestone (on its default day, db/services/milestones.DEFAULT_DAYS) and its reminders:
# hamlet heads for the hamlets' self-assessment and files, the organizations' representatives
# for theirs.
RECOGNITION_MILESTONES = {
    "hamlet_period_end": ("14d@08:00:heads",),
    "hamlet_files_due": ("7d@08:00:heads", "1d@08:00:heads"),
    "unit_period_end": ("14d@08:00:representatives",),
    "unit_files_due": ("7d@08:00:representatives", "1d@08:00:representatives"),
}


@dataclass
class CalendarLine:
    """A milestone set, whether it is new, and its reminders added (those already past are not)."""

    milestone: Milestone
    new: bool
    reminders: int
    past: int


async def add_recognition_calendar(
    session: AsyncSession, area: Area, year: int, tz: ZoneInfo, quiet: QuietHours | None,
    pledge_version: str, now: datetime,
) -> list[CalendarLine]:
    """Set the recognition's milestones for `area` in `year` (the campaign is created at the area
    when there is none) with their reminders; a milestone already there keeps its reminders."""
    lines = []
    for kind, specs in RECOGNITION_MILESTONES.items():
        milestone, new, _created = await add_milestone_in_year(
            session, area, year, kind, None, None, tz, quiet, pledge_version)
        added = past = 0
        if new:
            for spec in specs:
                try:
                    await add_reminder(session, milestone, area, ReminderSpec.parse(spec), None, None, now, tz, quiet)
                    added += 1
                except Problem:  # its time has passed: the milestone is still worth having
                    past += 1
        lines.append(CalendarLine(milestone, new, added, past))
    return lines
