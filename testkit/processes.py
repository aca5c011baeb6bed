"""Real `binhyen run` processes for the tests: started with their own environment, waited for
by polling /healthz, stopped, or killed with SIGKILL; and a test that plays Telegram's webhook."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"  # the fake Bot API's bot is 123456
SECRET = "instances-webhook_secret-42"
WEBHOOK_PATH = "/telegram/hook"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bot_environment(database_url: str, api_base: str, **extra: str) -> dict[str, str]:
    """The environment of a bot process: none of this machine's BINHYEN_* settings, the test's
    database and fake Bot API, quiet hours off."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("BINHYEN_")}
    env.update({
        "BINHYEN_DATABASE_URL": database_url,
        "BINHYEN_TELEGRAM_TOKEN": TOKEN,
        "BINHYEN_TELEGRAM_API_BASE": api_base,
        "BINHYEN_QUIET_HOURS": "off",
        "BINHYEN_LOG_LEVEL": "INFO",
    })
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """`python -m bot.cli.main run --role ROLE` in a child process, its output in a log file."""

    name: str
    role: str
    env: dict[str, str]
    folder: Path
    port: int | None = None  # its webhook port, when it serves one
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def start(self) -> "BotProcess":
        """Start it (again); the working folder holds no .demo-keys."""
        env = dict(self.env)
        if self.port is not None:
            env["BINHYEN_WEBHOOK_LISTEN"] = f"127.0.0.1:{self.port}"
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "run", "--role", self.role],
                env=env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, seconds: float = 180) -> None:
        """Wait until /healthz answers 200 (the database answers); fail with the log if the
        process ends first. (Starting takes a few seconds alone, over a minute on a busy
        2-core machine: importing aiogram takes 7 s of CPU.)"""
        deadline = asyncio.get_running_loop().time() + seconds
        async with ClientSession(timeout=ClientTimeout(total=2)) as client:
            while True:
                self.check_alive()
                try:
                    async with client.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except OSError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.name} is not ready:\n{self.tail()}")
                await asyncio.sleep(0.1)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end (the event loop, and the fake servers on it,
        keep answering while it shuts down)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 20)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Webhook:
    """The test plays Telegram: it posts updates to an instance's webhook, with the secret."""

    def __init__(self) -> None:
        self.client = ClientSession(timeout=ClientTimeout(total=120))

    async def post(self, instance: BotProcess, update: dict[str, Any]) -> int:
        """Post one update; Telegram's view of the answer: its status."""
        async with self.client.post(f"{instance.url}{WEBHOOK_PATH}", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            await response.read()
            return response.status

    async def deliver(self, instance: BotProcess, update: dict[str, Any], attempts: int = 50) -> list[int]:
        """Post until the answer is 200, as Telegram retries a failed webhook (the test retries
        at once instead of waiting); the statuses seen."""
        statuses = []
        for _ in range(attempts):
            statuses.append(await self.post(instance, update))
            if statuses[-1] == 200:
                return statuses
        raise AssertionError(f"never answered 200: {statuses}")

    async def close(self) -> None:
        await self.client.close()


class Updates:
    """Telegram updates as JSON, with increasing ids."""

    def __init__(self, start: int = 1000) -> None:
        self.next_id = start

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def message(self, user_id: int, text: str) -> dict[str, Any]:
        update_id = self._id()
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": 1_790_000_000, "text": text,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"Người {user_id}"}}}

    def press(self, user_id: int, data: str, message_id: int = 1) -> dict[str, Any]:
        """A button pressed under one of the bot's messages in the user's chat."""
        update_id = self._id()
        return {"update_id": update_id, "callback_query": {
            "id": f"cq{update_id}", "chat_instance": f"ci{user_id}", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": f"Người {user_id}"},
            "message": {"message_id": message_id, "date": 1_790_000_000, "text": "…",
                        "chat": {"id": user_id, "type": "private"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "Bình Yên"}}}}

    def tip_until_summary(self, user_id: int, commune_id: int, hamlet_id: int, place: str,
                          text: str) -> list[dict[str, Any]]:
        """The updates of a /tip conversation up to its summary (Gửi / Hủy)."""
        from handlers.tips.submit import AreaChoice, KindChoice, TipStep, WhenChoice

        return [
            self.message(user_id, "/tip"),
            self.press(user_id, KindChoice(kind="theft").pack()),
            self.press(user_id, AreaChoice(action="open", area=commune_id).pack()),
            self.press(user_id, AreaChoice(action="pick", area=hamlet_id).pack()),
            self.message(user_id, place),
            self.press(user_id, WhenChoice(choice="today").pack()),
            self.message(user_id, text),
            self.press(user_id, TipStep(action="photos_done").pack()),
        ]
