"""Assembles the bot: settings, database, FSM storage, i18n, middlewares and routers."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder, KeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers
from base.clock import SystemClock
from base.i18n import make_i18n, translator
from base.settings import ServiceUnreachable, Settings
from base.state_expiry import STATE_SECONDS
from bot import update_log
from bot.channels.text_session import AnsweringMiddleware
from bot.errors import errors_router
from bot.exactly_once.event_isolation import RenewedRedisEventIsolation
from bot.exactly_once.expiring_storage import (
    ExpiringMemoryStorage,
    ExpiringRedisStorage,
    HashedKeyBuilder,
    key_name_key,
)
from bot.exactly_once.fsm_storage import CommittedStorage, SealedRedisStorage, state_key
from bot.exactly_once.kept_replies import replies_key
from bot.exactly_once.transaction import UpdateTransactionMiddleware
from bot.filters import inline_sync_filters
from bot.middlewares.inline_buttons import ButtonWithoutChatMiddleware
from bot.middlewares.locale import MemberLocaleMiddleware
from bot.middlewares.member import MemberMiddleware
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

log = logging.getLogger(__name__)

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

    async def close(self) -> None:
        """Close the FSM storage, Redis and the database pool."""
        await self.dispatcher.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


def _fsm(redis: Redis | None, secret: bytes | None,
         clock: Callable[[], float]) -> tuple[CommittedStorage, BaseEventIsolation]:
    """Redis when several instances share the work (key names hashed and values sealed when
    tips are on), else memory in this process; either way under one expiry policy
    (base/state_expiry.py) and written only when the update commits (bot/exactly_once/fsm_storage.py)."""
    if redis is None:
        return CommittedStorage(ExpiringMemoryStorage(clock)), SimpleEventIsolation()
    if secret is None:  # no tips: nothing of a tipster can be in the state
        keys: KeyBuilder = DefaultKeyBuilder(prefix=FSM_PREFIX, with_bot_id=True, with_destiny=True)
        inner = ExpiringRedisStorage(redis, key_builder=keys)
    else:
        keys = HashedKeyBuilder(FSM_PREFIX, key_name_key(secret))
        inner = SealedRedisStorage(redis, keys, state_key(secret))
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
    update_log.install()  # no durations in the per-update log lines
    keys = tip_keys(settings)
    secret = keys.lookup_secret if keys else None
    storage, isolation = _fsm(redis, secret, lambda: dispatcher["clock"].monotonic())
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
            clock=lambda: dispatcher["clock"].now(), secret=secret,
            wrong_codes_ceiling=settings.tip_wrong_codes_per_hour,
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
    # After the locale (the notice is in the user's language), before any callback handler.
    dispatcher.callback_query.outer_middleware(ButtonWithoutChatMiddleware())
    # Inside the role check: a service's Problem becomes the reply, in the user's language.
    for observer in (dispatcher.message, dispatcher.callback_query):
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
        if redis is not None:
            await warn_if_redis_persists(redis)
            await expire_plain_state_keys(redis)
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


async def warn_if_redis_persists(redis: Redis) -> None:
    """Warn when Redis writes its data to disk (RDB snapshots, AOF): conversation state and the
    tip counters belong in memory only. A Redis that refuses CONFIG is named, not fatal."""
    try:
        save = (await redis.config_get("save")).get("save", "")
        appendonly = (await redis.config_get("appendonly")).get("appendonly", "no")
    except (RedisError, OSError) as error:
        log.warning("Redis did not say whether it writes its data to disk (%s): run it without "
                    "RDB snapshots or AOF (save \"\", appendonly no)", type(error).__name__)
        return
    save, appendonly = _text(save), _text(appendonly)
    if save.strip() or appendonly.strip().lower() == "yes":
        log.warning("Redis writes its data to disk (save %r, appendonly %s): conversation state "
                    "(sealed tip drafts) and the tip counters would outlive their expiry there. "
                    "Run it without persistence: CONFIG SET save \"\" and CONFIG SET appendonly no, "
                    "and the same in redis.conf", save, appendonly)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def expire_plain_state_keys(redis: Redis) -> None:
    """Give conversation keys written before the expiry policy (they had none) its time to
    live, so that no key of an old conversation stays for good."""
    async for key in redis.scan_iter(match=f"{FSM_PREFIX}:*", count=500):
        if await redis.ttl(key) == -1:
            await redis.expire(key, STATE_SECONDS)


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
