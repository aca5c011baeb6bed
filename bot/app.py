"""Assembles the bot: settings, database, FSM storage, i18n, middlewares and routers."""

from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers
from base.clock import SystemClock
from base.i18n import make_i18n, translator
from base.settings import ServiceUnreachable, Settings
from bot.channels.text_session import AnsweringMiddleware
from bot.errors import errors_router
from bot.exactly_once.event_isolation import RenewedRedisEventIsolation
from bot.exactly_once.fsm_storage import CommittedStorage, SealedRedisStorage, state_key
from bot.exactly_once.kept_replies import replies_key
from bot.exactly_once.transaction import UpdateTransactionMiddleware
from bot.filters import inline_sync_filters
from bot.middlewares.locale import MemberLocaleMiddleware
from bot.middlewares.member import MemberMiddleware
from bot.middlewares.private import PrivateChatMiddleware
from bot.middlewares.problems import ProblemMiddleware
from bot.middlewares.roles import RoleMiddleware
from bot.middlewares.text import CarriableTextMiddleware
from bot.middlewares.unknown import UnknownUpdateMiddleware
from content.catalog import Catalog
from db.migrate import check_migrated
from db.services.pledge_texts import warn_missing_pledge_texts
from db.services.tip_limits import TipLimits
from db.services.tip_sealing import TipKeys, public_key_from_text
from db.session import make_engine, make_sessionmaker

FSM_PREFIX = "binhyen:fsm"
REDIS_TIMEOUT = 10  # seconds: connecting to Redis, and waiting for one of its answers


@dataclass
class App:
    """Everything a running bot holds; `close()` releases it."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    dispatcher: Dispatcher
    redis: Redis | None
    # What /healthz tells besides "ok", by subject (e.g. a webhook Zalo could not reach).
    notes: dict[str, str] = field(default_factory=dict)

    async def close(self) -> None:
        """Close the FSM storage, Redis and the database pool."""
        await self.dispatcher.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


def _fsm(redis: Redis | None, sealing: bytes | None) -> tuple[CommittedStorage, BaseEventIsolation]:
    """Redis when several instances share the work (sealed under `sealing` when tips are on),
    else memory in this process; either way written only when the update commits
    (bot/fsm_storage.py)."""
    if redis is None:
        return CommittedStorage(MemoryStorage()), SimpleEventIsolation()
    keys = DefaultKeyBuilder(prefix=FSM_PREFIX, with_bot_id=True, with_destiny=True)
    inner = RedisStorage(redis, key_builder=keys) if sealing is None \
        else SealedRedisStorage(redis, keys, sealing)
    return CommittedStorage(inner), RenewedRedisEventIsolation(redis, keys)


def tip_keys(settings: Settings) -> TipKeys | None:
    """The keys tips are sealed and looked up with; None when tips are not configured."""
    if not settings.tip_public_key or settings.tip_secret is None:
        return None
    secret = settings.tip_secret.get_secret_value().encode()
    return TipKeys(public_key_from_text(settings.tip_public_key), secret)


def build_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    redis: Redis | None,
    catalog: Catalog | None = None,
) -> Dispatcher:
    """A dispatcher with the middlewares in their required order and every feature router."""
    keys = tip_keys(settings)
    secret = keys.lookup_secret if keys else None
    storage, isolation = _fsm(redis, state_key(secret))
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=isolation,
        settings=settings,
        sessionmaker=sessionmaker,
        catalog=catalog or Catalog.load(),
        clock=SystemClock(),
        tip_keys=keys,
        # Counted by the dispatcher's clock (tests move it).
        tip_limits=TipLimits(
            redis, settings.tip_limit_per_sender_day, settings.tip_limit_per_hour, settings.tz,
            clock=lambda: dispatcher["clock"].now(),
        ),
        translator=translator(i18n),
    )
    # Order matters: a text channel learns which typed text the update answers, unknown kinds
    # of update are dropped and typed text made carriable first; the transaction (and
    # ledger) wraps everything after, the member is read in it.
    dispatcher.update.outer_middleware(AnsweringMiddleware())
    dispatcher.update.outer_middleware(UnknownUpdateMiddleware())
    dispatcher.update.outer_middleware(CarriableTextMiddleware())
    ledger = UpdateTransactionMiddleware(
        sessionmaker, redis, storage, replies_key(secret))
    dispatcher.update.outer_middleware(ledger)
    dispatcher["ledger"] = ledger  # its sweep sends kept replies still waiting (bot/serve.py)
    dispatcher.update.outer_middleware(MemberMiddleware())
    MemberLocaleMiddleware(i18n).setup(dispatcher)
    # A personal command in a group is sent to the private chat before any role check; inside
    # the role check, a service's Problem becomes the reply, in the user's language.
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.middleware(PrivateChatMiddleware())
        observer.middleware(RoleMiddleware())
        observer.middleware(ProblemMiddleware())
    dispatcher.include_router(errors_router())
    dispatcher.include_routers(*handlers.routers())
    inline_sync_filters(dispatcher)
    return dispatcher


async def build_app(settings: Settings, engine: AsyncEngine | None = None) -> App:
    """Connect to the database (refusing an unmigrated one) and to Redis, warn about campaigns
    whose pledge text the catalog lacks, and assemble the dispatcher. Raises
    DatabaseUnreachable, NotMigrated or ServiceUnreachable (Redis)."""
    engine = engine or make_engine(settings.database_url)
    redis = None
    try:
        await check_migrated(engine)
        redis = await connect_redis(settings.redis_url) if settings.redis_url else None
    except BaseException:
        await engine.dispose()
        raise
    catalog = Catalog.load()
    try:
        await warn_missing_pledge_texts(engine, catalog)
    except BaseException:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()
        raise
    sessionmaker = make_sessionmaker(engine)
    i18n = make_i18n(settings.default_locale)
    dispatcher = build_dispatcher(settings, sessionmaker, i18n, redis, catalog)
    return App(settings, engine, sessionmaker, i18n, dispatcher, redis)


async def connect_redis(url: str) -> Redis:
    """A client of BINHYEN_REDIS_URL that has answered a ping (else ServiceUnreachable)."""
    # A Redis that stops answering must fail the update (which is then refused and
    # redelivered) rather than hold it forever.
    redis = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        await redis.aclose()
        raise ServiceUnreachable("BINHYEN_REDIS_URL", str(error) or type(error).__name__) from None
    return redis


def telegram_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The Telegram bot, talking to BINHYEN_TELEGRAM_API_BASE (a local server in tests)."""
    if session is None:
        server = TelegramAPIServer.from_base(settings.telegram_api_base)
        session = AiohttpSession(api=server)
    return Bot(
        settings.telegram_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
