"""Telegram through aiogram: long polling, or a webhook served by aiohttp."""

import logging

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
)
from aiohttp import web

from base.commands import COMMANDS, group_commands
from base.i18n import use_locale
from base.settings import LOCALES, ServiceUnreachable, Settings, TokenRefused
from bot.app import App, telegram_bot
from bot.webhook import serve_forever, web_application

log = logging.getLogger(__name__)

CHECK_SECONDS = 15  # the start-up getMe: long enough for a slow line, short enough to see


async def check_token(settings: Settings) -> None:
    """Ask the Bot API who the bot is, once at start: TokenRefused when Telegram does not know
    BINHYEN_TELEGRAM_TOKEN, ServiceUnreachable when BINHYEN_TELEGRAM_API_BASE does not answer
    as a Bot API (instead of a traceback, or of polling that retries forever)."""
    bot = telegram_bot(settings)

    def reason(error: Exception) -> str:  # the token is a secret: never repeat it
        return (getattr(error, "message", "") or str(error)).replace(bot.token, "…")

    try:
        await bot.get_me(request_timeout=CHECK_SECONDS)
    except TelegramUnauthorizedError as error:
        raise TokenRefused("BINHYEN_TELEGRAM_TOKEN", reason(error)) from None
    except (TelegramAPIError, ClientDecodeError) as error:  # the network errors among them
        raise ServiceUnreachable("BINHYEN_TELEGRAM_API_BASE", reason(error)) from None
    finally:
        await bot.session.close()


async def publish_commands(app: App, bot: Bot) -> None:
    """Show the commands in Telegram's menu, in each language and per scope: in private chats
    those anyone may use; in groups only those that work there (/id: every other command
    answers "write to me privately"); to group administrators those and the officers' /reply."""
    for locale in LOCALES:
        with use_locale(app.i18n, locale):
            menus = [
                (BotCommandScopeAllPrivateChats(), [info for info in COMMANDS.values() if not info.roles]),
                (BotCommandScopeAllGroupChats(), [info for info in group_commands() if not info.roles]),
                (BotCommandScopeAllChatAdministrators(), group_commands()),
            ]
            menus = [(scope, [BotCommand(command=info.name, description=str(info.description))
                              for info in shown]) for scope, shown in menus]
        language = None if locale == app.settings.default_locale else locale
        for scope, commands in menus:
            await bot.set_my_commands(commands, scope=scope, language_code=language)


async def run_polling(app: App, bot: Bot, handle_signals: bool = True) -> None:
    """Long polling until stopped (Ctrl-C or SIGTERM, or `dispatcher.stop_polling()`)."""
    await bot.delete_webhook(drop_pending_updates=False)
    await publish_commands(app, bot)
    await app.dispatcher.start_polling(
        bot,
        channel="telegram",
        allowed_updates=app.dispatcher.resolve_used_update_types(),
        tasks_concurrency_limit=64,
        close_bot_session=True,
        handle_signals=handle_signals,
    )


def webhook_application(app: App, bot: Bot, register_webhook: bool = True) -> web.Application:
    """The aiohttp application answering Telegram's webhook on BINHYEN_WEBHOOK_URL's path
    (other channels may add their routes to it)."""
    settings = app.settings

    async def on_startup(_: web.Application) -> None:
        if register_webhook:
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
            await publish_commands(app, bot)
            log.info("webhook registered at %s", settings.webhook_path)

    web_app = web_application(app, bot, settings.webhook_path, settings.webhook_secret)
    web_app.on_startup.append(on_startup)
    return web_app


async def serve_webhook(app: App, bot: Bot) -> None:
    """Serve the webhook on BINHYEN_WEBHOOK_LISTEN until cancelled."""
    await serve_forever(webhook_application(app, bot), *app.settings.listen_host_port)
