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
