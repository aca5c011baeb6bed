"""`binhyen run --role web` as a real process: a migrated SQLite database, the desk on
BINHYEN_WEB_LISTEN (a free port on 127.0.0.1), no chat token. Without a session `/` explains how
to get a link and shows no data; a link printed by `binhyen web link` (another process) logs in;
SIGTERM ends it cleanly; the access log holds no login token. With a Telegram token the role still starts no chat: no getUpdates."""

import asyncio
import re
import subprocess
import sys

import pytest
from aiohttp import ClientSession, ClientTimeout, CookieJar

from db.services.members import grant_role
from testkit.arrange import tree
from testkit.fake_telegram import FakeTelegram
from testkit.processes import TOKEN, BotProcess, bot_environment, free_port

pytestmark = pytest.mark.timeout(400)
OFFICER = "860001"
PRE = re.compile(r'name="pre" value="([^"]+)"')
READY_SECONDS = 150  # a start on a busy 2-core machine takes over a minute; well under the timeout
STOP_SECONDS = 20


@pytest.fixture
def backend() -> str:
    """The process is what is tested: SQLite is enough (its database a migrated temporary file)."""
    return "sqlite"


@pytest.fixture
async def arranged(session):
    await tree(session, year=2026)
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await session.commit()


def web_process(database_url: str, folder, **extra: str) -> BotProcess:
    port = free_port()
    env = bot_environment(database_url, "http://127.0.0.1:9", BINHYEN_WEB_LISTEN=f"127.0.0.1:{port}",
                          BINHYEN_WEB_URL=f"http://127.0.0.1:{port}/desk", **extra)
    if "BINHYEN_TELEGRAM_TOKEN" not in extra:
        del env["BINHYEN_TELEGRAM_TOKEN"], env["BINHYEN_TELEGRAM_API_BASE"]
    # BotProcess polls /healthz on its port: here the desk's server, the only one there is.
    return BotProcess("web", "web", env, folder, port)


def start(process: BotProcess) -> BotProcess:
    """Start it on the desk's port (BotProcess would set BINHYEN_WEBHOOK_LISTEN to it)."""
    with process.log.open("a") as log:
        process.process = subprocess.Popen([sys.executable, "-m", "bot.cli.main", "run", "--role", "web"],
                                           env=process.env, cwd=process.folder, stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT)
    return process


async def stopped_cleanly(process: BotProcess) -> int:
    process.process.terminate()
    try:
        return await asyncio.to_thread(process.process.wait, STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"no exit {STOP_SECONDS} s after SIGTERM:\n{process.tail()}") from None


async def test_the_web_role_serves_the_desk_and_a_cli_link_logs_in(arranged, database_url, tmp_path):
    process = start(web_process(database_url, tmp_path))
    try:
        await process.ready(READY_SECONDS)
        async with ClientSession(cookie_jar=CookieJar(unsafe=True), timeout=ClientTimeout(total=60)) as client:
            async with client.get(f"{process.url}/desk/", allow_redirects=False) as answer:
                home = await answer.text()
            assert answer.status == 200 and "/dashboard" in home
            assert "Xã Tân Hòa" not in home and "Ấp Bình Long" not in home and 'id="logout"' not in home
            link = await asyncio.to_thread(subprocess.run, [
                sys.executable, "-m", "bot.cli.main", "web", "link", "--user", OFFICER, "--channel", "telegram"],
                env=process.env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert link.returncode == 0, link.stderr
            url = link.stdout.strip()
            assert url.startswith(f"{process.url}/desk/login/")
            async with client.get(url) as page:
                pre = PRE.search(await page.text()).group(1)
            async with client.post(url, data={"pre": pre}, headers={"Origin": process.url},
                                   allow_redirects=False) as login:
                assert login.status == 303, await login.text()
            async with client.get(f"{process.url}/desk/area/C1") as overview:
                text = await overview.text()
            assert overview.status == 200 and "Xã Tân Hòa" in text and 'id="logout"' in text
        assert await stopped_cleanly(process) == 0
        log = process.log.read_text()
        assert "Traceback" not in log
        # The link's token is a password until used: the access log cuts it out.
        assert url.rsplit("/", 1)[1] not in log and '"POST /desk/login/… HTTP/1.1" 303' in log
        assert "console" not in log.lower() and "Chưa đặt BINHYEN_TELEGRAM_TOKEN" not in log  # no chat
    finally:
        await process.stop()


async def test_the_web_role_starts_no_chat_even_with_a_token(arranged, database_url, tmp_path):
    telegram = await FakeTelegram().start()
    process = start(web_process(database_url, tmp_path, BINHYEN_TELEGRAM_TOKEN=TOKEN,
                                BINHYEN_TELEGRAM_API_BASE=telegram.base))
    try:
        await process.ready(READY_SECONDS)
        async with ClientSession(timeout=ClientTimeout(total=60)) as client:
            async with client.get(f"{process.url}/desk/") as answer:
                assert answer.status == 200
        assert await stopped_cleanly(process) == 0
        methods = {method for method, _params in telegram.calls}
        assert not methods & {"getUpdates", "setWebhook", "deleteWebhook", "sendMessage"}, methods
    finally:
        await process.stop()
        await telegram.stop()
