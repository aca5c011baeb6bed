"""`binhyen run` with Zalo: both channels together (polling each, or webhooks on one server),
Zalo alone, a refused token, and the Zalo settings."""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from aiohttp import ClientSession

from base.settings import SettingsError, load_settings
from bot.app import telegram_bot
from bot.channels.zalo import zalo_channel
from bot.cli.main import main
from bot.serve import serve
from db.models import ProcessedUpdate
from testkit.fake_telegram import FakeTelegram
from testkit.fake_zalo import BOT_ID, ZALO_TOKEN, FakeZalo, text_event
from testkit.fakes import count
from tests.channels.test_telegram_transport import SECRET as TELEGRAM_SECRET
from tests.channels.test_telegram_transport import TOKEN as TELEGRAM_TOKEN
from tests.channels.test_telegram_transport import update

ZALO_SECRET = "zalo-webhook_secret-42"



@pytest.fixture
async def telegram():
    server = await FakeTelegram().start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def sources(session) -> dict[str, int]:
    await session.rollback()
    return {
        source: await count(session, ProcessedUpdate, ProcessedUpdate.source == source)
        for source in ("telegram:123456", f"zalo:{BOT_ID}")
    }


async def test_telegram_and_zalo_are_polled_together(app, zalo_api, telegram, session):
    app.settings = load_settings(
        database_url=app.settings.database_url, telegram_token=TELEGRAM_TOKEN,
        telegram_api_base=telegram.base, zalo_token=ZALO_TOKEN, zalo_api_base=zalo_api.base,
    )
    bot, zalo, stop = telegram_bot(app.settings), zalo_channel(app), asyncio.Event()
    running = asyncio.create_task(serve(app, bot, zalo, stop, handle_signals=False))
    try:
        telegram.push(update(10, "/start"))
        zalo_api.push(text_event("/start"))
        on_telegram = await asyncio.wait_for(telegram.sent.get(), 10)
        on_zalo = await zalo_api.next_text()
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await zalo.close()
    assert on_telegram["chat_id"] == 501 and "113" in on_telegram["text"]
    assert on_zalo["chat_id"] == "e4ea2cd5189df1c3a88c" and "113" in on_zalo["text"]
    assert await sources(session) == {"telegram:123456": 1, f"zalo:{BOT_ID}": 1}


async def test_both_webhooks_share_one_server(app, zalo_api, telegram, session):
    port = free_port()
    app.settings = load_settings(
        database_url=app.settings.database_url, webhook_listen=f"127.0.0.1:{port}",
        telegram_token=TELEGRAM_TOKEN, telegram_api_base=telegram.base,
        webhook_url="https://bot.example.vn/telegram/hook", webhook_secret=TELEGRAM_SECRET,
        zalo_token=ZALO_TOKEN, zalo_api_base=zalo_api.base,
        zalo_webhook_url="https://bot.example.vn/zalo/hook", zalo_webhook_secret=ZALO_SECRET,
    )
    bot, zalo = telegram_bot(app.settings), zalo_channel(app)
    stop, listening = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(serve(app, bot, zalo, stop, False, listening))
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.wait_for(listening.wait(), 10)
        async with ClientSession() as client:
            assert (await client.get(f"{base}/healthz")).status == 200
            answer = await client.post(f"{base}/telegram/hook", json=update(20, "/help"),
                                       headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
            assert answer.status == 200
        assert await zalo_api.post_webhook(f"{base}/zalo/hook", text_event("/help"), ZALO_SECRET) == 200
        assert await zalo_api.post_webhook(f"{base}/zalo/hook", text_event("/help"), TELEGRAM_SECRET) == 401
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await zalo.close()
    assert "setWebhook" in telegram.methods()
    assert zalo_api.webhook == {"url": "https://bot.example.vn/zalo/hook", "secret_token": ZALO_SECRET}
    assert "Những việc bạn làm được" in telegram.sent.get_nowait()["text"]
    assert [sent["chat_id"] for sent in zalo_api.texts] == ["e4ea2cd5189df1c3a88c"]
    assert await sources(session) == {"telegram:123456": 1, f"zalo:{BOT_ID}": 1}


async def test_zalo_alone_is_served_without_telegram(app, zalo_api, session):
    app.settings = load_settings(database_url=app.settings.database_url, zalo_token=ZALO_TOKEN,
                                 zalo_api_base=zalo_api.base)
    zalo, stop = zalo_channel(app), asyncio.Event()
    running = asyncio.create_task(serve(app, None, zalo, stop, handle_signals=False))
    try:
        zalo_api.push(text_event("/start"))
        assert "113" in (await zalo_api.next_text())["text"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await zalo.close()


async def test_telegram_goes_on_while_the_zalo_api_is_unreachable(app, telegram, session, caplog):
    unreachable = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    app.settings = load_settings(
        database_url=app.settings.database_url, telegram_token=TELEGRAM_TOKEN,
        telegram_api_base=telegram.base, zalo_token=ZALO_TOKEN, zalo_api_base=unreachable,
    )
    bot, zalo, stop = telegram_bot(app.settings), zalo_channel(app), asyncio.Event()
    running = asyncio.create_task(serve(app, bot, zalo, stop, handle_signals=False))
    try:
        telegram.push(update(10, "/start"))
        on_telegram = await asyncio.wait_for(telegram.sent.get(), 10)
        assert not running.done()  # Zalo's failed start stopped nothing
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await zalo.close()
    assert "113" in on_telegram["text"]
    assert "Zalo getWebhookInfo failed: ZaloNetworkError" in caplog.text


@contextlib.contextmanager
def zalo_in_a_thread(server: FakeZalo) -> Iterator[str]:
    """Run a fake Zalo Bot API on its own event loop in a thread (`main` runs its own loop in
    this one) for the time of the block; yields its base URL."""
    ready, stopped = threading.Event(), threading.Event()
    state: dict = {}

    def serve_fake() -> None:
        async def main_loop() -> None:
            await server.start()
            state["base"] = server.base
            ready.set()
            await asyncio.to_thread(stopped.wait)
            await server.stop()

        asyncio.run(main_loop())

    thread = threading.Thread(target=serve_fake)
    thread.start()
    try:
        assert ready.wait(10)
        yield state["base"]
    finally:
        stopped.set()
        thread.join(10)


def test_run_with_a_webhook_zalo_refuses_says_so(database_url, monkeypatch, capsys):
    """A Zalo API that refuses setWebhook stops `binhyen run` with the reason, not a traceback."""
    server = FakeZalo()
    server.fail_method("setWebhook", 400, "Bad Request: the webhook URL is not reachable")
    with zalo_in_a_thread(server) as base:
        monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
        monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
        monkeypatch.setenv("BINHYEN_ZALO_TOKEN", ZALO_TOKEN)
        monkeypatch.setenv("BINHYEN_ZALO_API_BASE", base)
        monkeypatch.setenv("BINHYEN_ZALO_WEBHOOK_URL", "https://bot.example.vn/zalo/hook")
        monkeypatch.setenv("BINHYEN_ZALO_WEBHOOK_SECRET", ZALO_SECRET)
        monkeypatch.setenv("BINHYEN_WEBHOOK_LISTEN", f"127.0.0.1:{free_port()}")
        assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "Zalo Bot API từ chối hoặc không trả lời" in err and "setWebhook" in err
    assert "failed (" not in err  # the exception's English text stays in the logs
    assert "Traceback" not in err and ZALO_TOKEN.partition(":")[2] not in err


def test_run_with_a_refused_zalo_token_says_so(database_url, monkeypatch, capsys):
    """`binhyen run` with only a Zalo token serves Zalo; a token Zalo refuses stops it."""
    with zalo_in_a_thread(FakeZalo(token="3001234567890123456:TheRealTokenIsElsewhere-0")) as base:
        monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
        monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
        monkeypatch.setenv("BINHYEN_ZALO_TOKEN", ZALO_TOKEN)
        monkeypatch.setenv("BINHYEN_ZALO_API_BASE", base)
        assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "BINHYEN_ZALO_TOKEN" in err and ZALO_TOKEN.partition(":")[2] not in err


def test_the_zalo_variables_are_read_from_the_environment(monkeypatch):
    values = {
        "ZALO_TOKEN": ZALO_TOKEN,
        "ZALO_API_BASE": "http://127.0.0.1:8090/",
        "ZALO_WEBHOOK_URL": "https://bot.example.vn/zalo/hook",
        "ZALO_WEBHOOK_SECRET": ZALO_SECRET,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"BINHYEN_{name}", value)
    settings = load_settings()
    assert settings.zalo_token.get_secret_value() == ZALO_TOKEN
    assert settings.zalo_api_base == "http://127.0.0.1:8090"
    assert settings.zalo_webhook_path == "/zalo/hook"
    assert settings.zalo_webhook_secret.get_secret_value() == ZALO_SECRET
    assert ZALO_TOKEN not in repr(settings) and ZALO_SECRET not in repr(settings)


def test_the_zalo_defaults(monkeypatch):
    for name in ("ZALO_TOKEN", "ZALO_API_BASE", "ZALO_WEBHOOK_URL", "ZALO_WEBHOOK_SECRET"):
        monkeypatch.delenv(f"BINHYEN_{name}", raising=False)
    settings = load_settings()
    assert settings.zalo_token is None and settings.zalo_webhook_url is None
    assert settings.zalo_api_base == "https://bot-api.zaloplatforms.com"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BINHYEN_ZALO_TOKEN", "not-a-token"),
        ("BINHYEN_ZALO_TOKEN", "123:short"),
        ("BINHYEN_ZALO_API_BASE", "ftp://example"),
        ("BINHYEN_ZALO_WEBHOOK_URL", "http://bot.example.vn/zalo"),
        ("BINHYEN_ZALO_WEBHOOK_SECRET", "short"),
        ("BINHYEN_ZALO_WEBHOOK_SECRET", "has spaces in it"),
    ],
)
def test_a_wrong_zalo_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert variable in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"zalo_webhook_url": "https://bot.example.vn/z", "zalo_webhook_secret": ZALO_SECRET},
         "BINHYEN_ZALO_TOKEN"),
        ({"zalo_token": ZALO_TOKEN, "zalo_webhook_url": "https://bot.example.vn/z"},
         "BINHYEN_ZALO_WEBHOOK_SECRET"),
        ({"zalo_token": ZALO_TOKEN, "zalo_webhook_url": "https://bot.example.vn/hook",
          "zalo_webhook_secret": ZALO_SECRET, "telegram_token": TELEGRAM_TOKEN,
          "webhook_url": "https://bot.example.vn/hook", "webhook_secret": TELEGRAM_SECRET},
         "different paths"),
    ],
)
def test_a_zalo_webhook_needs_its_token_secret_and_own_path(monkeypatch, overrides, named):
    for name in ("ZALO_TOKEN", "ZALO_WEBHOOK_URL", "ZALO_WEBHOOK_SECRET", "WEBHOOK_URL"):
        monkeypatch.delenv(f"BINHYEN_{name}", raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings(**overrides)
    assert named in str(error.value)
