"""The aiohttp server behind the webhook: Telegram's endpoint and a health check."""

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import text

from bot.app import App


def web_application(app: App, bot: Bot, path: str, secret: SecretStr | None) -> web.Application:
    """Telegram updates on `path` (secret token checked in constant time), /healthz for probes.

    Updates are handled before the HTTP answer (handle_in_background=False): Telegram sees
    200 only for an update whose effects are committed, and redelivers any other.
    """
    web_app = web.Application()
    SimpleRequestHandler(
        app.dispatcher,
        bot,
        handle_in_background=False,
        secret_token=secret.get_secret_value() if secret else None,
        channel="telegram",
    ).register(web_app, path=path)
    setup_application(web_app, app.dispatcher, bot=bot)

    async def health(_: web.Request) -> web.Response:
        try:
            async with app.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ok")

    web_app.router.add_get("/healthz", health)
    return web_app
