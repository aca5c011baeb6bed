"""What the desk needs from the running bot, handed over when it is mounted."""

from dataclasses import dataclass, field

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from base.clock import Clock, SystemClock
from base.settings import Settings
from content.catalog import Catalog
from db.services.desk_access import SessionStore
from db.services.tip_sealing import TipKeys
from db.text import Translator


class ReportCache:
    """Reports built in the last SECONDS, per area and year: a province's overview, its chart
    and its exports are one computation of its tallies, not one each, and a warm page is fast."""

    SECONDS = 60.0

    def __init__(self) -> None:
        self._kept: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple, now: float) -> object | None:
        """The report kept for `key`, if it is fresh."""
        kept = self._kept.get(key)
        return kept[1] if kept is not None and now - kept[0] < self.SECONDS else None

    def put(self, key: tuple, report: object, now: float) -> None:
        """Keep a report; stale ones are dropped."""
        self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.SECONDS}
        self._kept[key] = (now, report)


@dataclass
class DeskContext:
    """The settings, database, catalogs and session store the desk works with."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    catalog: Catalog
    translator: Translator
    tip_keys: TipKeys | None
    sessions: SessionStore
    clock: Clock = field(default_factory=SystemClock)
    reports: ReportCache = field(default_factory=ReportCache)
