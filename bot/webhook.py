"""The aiohttp server behind the webhooks: Telegram's and Zalo's endpoints and a health check."""

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from pydantic import SecretStr, ValidationError
from sqlalchemy import text

from bot.app import App
from db.services.deliveries import quota_pauses
from db.session import make_read_sessionmaker

log = logging.getLogger(__name__)

ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
# The kinds of update Telegram sends (Update's fields): only these are named in a log line.
UPDATE_KINDS = frozenset(Update.model_fields) - {"update_id"}
# Telegram's update ids are 32-bit; anything far beyond that is not Telegram's.
MAX_UPDATE_ID = 2**53
# A desk login link's token, in a path: a password for its 10 minutes, so never in a log line.
LOGIN_TOKEN = re.compile(r"(/login/)[^/?#\s]+")


class AccessLog(AbstractAccessLogger):
    """aiohttp's access line (client, request line, status, size, time) with the token of a desk
    login link cut out: until it is used, anyone reading the log could log in with it."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = LOGIN_TOKEN.sub(r"\1…", request.path_qs)
        self.logger.info('%s "%s %s HTTP/%s.%s" %s %s %.3fs', request.remote, request.method, path,
                         request.version.major, request.version.minor, response.status, response.body_length,
                         time)


class TelegramUpdates(SimpleRequestHandler):
    """aiogram's webhook handler, for bodies Telegram may really send.

    A body that is not JSON, not an object, or has no integer `update_id` is answered 400 (it
    is not an update). An update aiogram cannot read (the Bot API grew, or the sender wrote it
    for an older one: an id given as a number, a member in an old shape) is answered 200 and
    logged by its id and kind only: Telegram would redeliver it forever otherwise, and the
    validation error quotes what the user wrote."""

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=bot.session.json_loads)
        except ValueError:  # not JSON, or not UTF-8
            body = None
        update_id = body.get("update_id") if isinstance(body, dict) else None
        if isinstance(update_id, bool) or not isinstance(update_id, int) \
                or not 0 <= update_id < MAX_UPDATE_ID:
            return web.Response(status=400, text="Bad Request")
        try:
            update = Update.model_validate(body, context={"bot": bot})
        except ValidationError:
            kind = next((key for key in body if key in UPDATE_KINDS), "unknown")
            log.warning("update %s (%s) is not one this bot can read; skipped", update_id, kind)
            return web.json_response({})
        result = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


def web_application(
    app: App, bot: Bot | None = None, path: str = "/", secret: SecretStr | None = None
) -> web.Application:
    """Telegram updates on `path` (secret token checked in constant time), /healthz for probes
    (200 when the database and Redis, if configured, answer; 503 otherwise).

    Without a bot, only the health check: channels add their own routes (add_zalo_route).
    Updates are handled before the HTTP answer (handle_in_background=False): Telegram sees
    200 only for an update whose effects are committed, and redelivers any other.
    """
    web_app = web.Application()
    if bot is not None:
        TelegramUpdates(
            app.dispatcher,
            bot,
            handle_in_background=False,
            secret_token=secret.get_secret_value() if secret else None,
            channel="telegram",
        ).register(web_app, path=path)
        setup_application(web_app, app.dispatcher, bot=bot)
    reads = make_read_sessionmaker(app.engine)

    async def health(_: web.Request) -> web.Response:
        try:
            async with reads() as session:
                await session.execute(text("SELECT 1"))
                paused = await quota_pauses(session, datetime.now(timezone.utc))
        except Exception:
            return web.Response(status=503, text="database unavailable")
        if app.redis is not None:
            try:
                await app.redis.ping()
            except Exception:  # without it no update can be handled (conversation state, locks)
                return web.Response(status=503, text="redis unavailable")
        return web.Response(text="\n".join(["ok", *health_notes(app, paused)]))

    web_app.router.add_get("/healthz", health)
    return web_app


def health_notes(app: App, paused: dict[str, datetime]) -> list[str]:
    """What the health check says besides "ok": channels paused by their quota, and the
    channels' own notes (a webhook Zalo could not reach)."""
    lines = [f"{channel}: quota exceeded (429), sending paused until {until:%Y-%m-%d %H:%M:%S} UTC"
             for channel, until in sorted(paused.items())]
    return lines + [f"{subject}: {note}" for subject, note in sorted(app.notes.items())]


def add_zalo_route(
    web_app: web.Application,
    handle: Callable[[dict[str, Any], Callable[[], None]], Awaitable[Any]],
    path: str,
    secret: SecretStr,
) -> None:
    """Zalo updates on `path`: the X-Bot-Api-Secret-Token header is checked in constant time,
    and the answer (200) comes as soon as the update is committed (`handle` calls its second
    argument then); its replies are sent after the answer. An update that fails before its
    commit is answered as its handling ends (an error status when it must come again)."""
    expected = secret.get_secret_value().encode()
    running: set[asyncio.Task[Any]] = set()

    async def zalo_update(request: web.Request) -> web.Response:
        given = request.headers.get(ZALO_SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401, text="Unauthorized")
        try:
            event = await request.json()
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return web.Response(status=400, text="Bad Request")
        committed = asyncio.Event()
        task = asyncio.create_task(handle(event, committed.set))
        running.add(task)
        task.add_done_callback(_after_handling(running, committed))
        waiting = asyncio.create_task(committed.wait())
        try:
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if task.done() and not committed.is_set():
            task.result()  # failed before its commit: an update to redeliver raises here
        return web.json_response({"ok": True})

    async def finish_sending(_: web.Application) -> None:
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    web_app.router.add_post(path, zalo_update)
    web_app.on_shutdown.append(finish_sending)


def _after_handling(running: set[asyncio.Task[Any]], committed: asyncio.Event
                    ) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        running.discard(task)
        if task.cancelled() or task.exception() is None or not committed.is_set():
            return
        # Answered already: what failed after the commit are sends, kept for the sweep.
        log.warning("the replies of a Zalo update wait to be sent again: %s",
                    type(task.exception()).__name__)

    return done


async def serve_forever(
    web_app: web.Application, host: str, port: int,
    stop: asyncio.Event | None = None, listening: asyncio.Event | None = None,
) -> None:
    """Serve `web_app` on host:port until `stop` is set or the task is cancelled;
    `listening` is set once requests are accepted."""
    runner = web.AppRunner(web_app, access_log_class=AccessLog)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("webhook server listening on %s:%s", host, port)
        if listening is not None:
            listening.set()
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
