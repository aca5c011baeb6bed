"""`binhyen run`: every channel that has a token, served together until stopped.

Each channel uses its webhook when its URL is set and long polling otherwise; all
webhooks share one aiohttp server on BINHYEN_WEBHOOK_LISTEN (with /healthz).
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from aiogram import Bot
from aiohttp import web

from bot.app import App
from bot.channels.telegram import run_polling, webhook_application
from bot.channels.zalo import ZaloChannel
from bot.web_desk import mount_desk
from bot.webhook import serve_forever, web_application

log = logging.getLogger(__name__)

# How often kept replies still waiting are sent again (bot/exactly_once/transaction.py).
SWEEP_SECONDS = 60


async def serve(
    app: App,
    telegram: Bot | None,
    zalo: ZaloChannel | None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    listening: asyncio.Event | None = None,
    desk: bool = False,
) -> None:
    """Run the channels (and the desk, when `desk`) until `stop` is set, SIGINT/SIGTERM arrives, or one of them ends;
    then stop the others gracefully (updates being handled are finished) and re-raise
    the first failure. `listening` is set once the webhook server accepts requests."""
    settings = app.settings
    stop = stop or asyncio.Event()
    web_app: web.Application | None = None
    jobs: list[Coroutine[Any, Any, None]] = []
    if telegram is not None:
        if settings.webhook_url:
            web_app = webhook_application(app, telegram)
        else:
            jobs.append(_telegram_polling(app, telegram, stop))
    if zalo is not None:
        if settings.zalo_webhook_url:
            web_app = web_app or web_application(app)
            zalo.attach_webhook(web_app)
        else:
            jobs.append(zalo.run_polling(stop))
    if desk:
        if web_app is not None and settings.web_listen == settings.webhook_listen:
            mount_desk(web_app, app)
        else:
            desk_server = web_application(app)
            mount_desk(desk_server, app)
            jobs.append(serve_forever(desk_server, *settings.web_host_port, stop,
                                      listening if web_app is None else None))
    if web_app is not None:
        jobs.append(serve_forever(web_app, *settings.listen_host_port, stop, listening))
    if not jobs:
        return
    bots = [(telegram, "telegram")] if telegram is not None else []
    bots += [(zalo.bot, "zalo")] if zalo is not None else []
    jobs.append(_sweep_kept_replies(app, bots, stop))
    tasks = [asyncio.create_task(job) for job in jobs]
    signals = _on_signals(stop.set) if handle_signals else []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for number in signals:
            asyncio.get_running_loop().remove_signal_handler(number)
    for task in done:
        if task.exception() is not None:
            raise task.exception()


async def _sweep_kept_replies(app: App, bots: list[tuple[Bot, str]], stop: asyncio.Event) -> None:
    """At start and then every SWEEP_SECONDS until stopped, send the kept replies still waiting
    (a receipt whose send failed where nothing redelivers the update, or cut off by a restart)."""
    ledger = app.dispatcher["ledger"]
    while not stop.is_set():
        for bot, channel in bots:
            try:
                await ledger.sweep(bot, channel)
            except Exception as error:  # the database may be away: the next round tries again
                log.warning("the sweep of kept replies on %s failed: %s", channel, type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)


async def _telegram_polling(app: App, bot: Bot, stop: asyncio.Event) -> None:
    polling = asyncio.create_task(run_polling(app, bot, handle_signals=False))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not polling.done():
        try:
            await app.dispatcher.stop_polling()
        except RuntimeError:  # still starting: nothing is being handled yet
            polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await polling


def _on_signals(callback: Any) -> list[int]:
    """Call `callback` on SIGINT and SIGTERM; the signals installed (none on Windows)."""
    installed = []
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(number, callback)
            installed.append(number)
    return installed
