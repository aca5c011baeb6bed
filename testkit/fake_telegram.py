"""A fake Telegram Bot API server on 127.0.0.1: queues updates for getUpdates, records sends."""

import asyncio
import collections
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Hold:
    """A call the fake server received and does not answer until `release` is set."""

    matches: Callable[[str, dict[str, Any]], bool]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    params: dict[str, Any] | None = None


class FakeTelegram:
    """Answers like api.telegram.org for the methods the bot uses; no network beyond loopback."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.new_update = asyncio.Event()
        self.sent = asyncio.Queue()
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.closing = False
        # Errors to answer sendMessage with, per chat, in order: (status, description, retry_after).
        self.failures: dict[int, list[tuple[int, str, int | None]]] = {}
        # Like Telegram: answer 429 when more than `flood_limit` messages arrive within one second.
        self.flood_limit: int | None = None
        self.flood_retry_after = 1
        self.too_many = 0
        self.delivered: collections.Counter[int] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self.latency = 0.0  # seconds before sendMessage is answered (after it is delivered)
        self.holds: list[Hold] = []  # waiting for their call
        self.unauthorized = False  # answer every call 401, as Telegram does for a revoked token
        self._held: list[Hold] = []  # every hold, released when the server stops

    async def start(self) -> "FakeTelegram":
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.closing = True
        self.new_update.set()  # release a long poll still waiting
        for hold in self._held:
            hold.release.set()
        if self._runner:
            await self._runner.cleanup()

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates."""
        self.updates.append(update)
        self.new_update.set()

    def hold(self, matches: Callable[[str, dict[str, Any]], bool]) -> Hold:
        """Receive (and record) the next call `matches(method, params)` accepts, but answer it
        only once `release` is set: the caller is stuck in the middle of it, as on a slow line
        or when the process is killed meanwhile."""
        hold = Hold(matches)
        self.holds.append(hold)
        self._held.append(hold)
        return hold

    def texts(self, chat_id: int) -> list[str]:
        """Texts sent (sendMessage) to a chat, in order."""
        return [params["text"] for method, params in self.calls
                if method == "sendMessage" and int(params["chat_id"]) == chat_id]

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    def fail(self, chat_id: int, status: int, description: str, retry_after: int | None = None) -> None:
        """Answer the next sendMessage to this chat with an error (429 needs retry_after)."""
        self.failures.setdefault(chat_id, []).append((status, description, retry_after))

    def _refusal(self, params: dict[str, Any]) -> web.Response | None:
        chat_id = int(params["chat_id"])
        if self.failures.get(chat_id):
            status, description, retry_after = self.failures[chat_id].pop(0)
            return self._error(status, description, retry_after)
        if self.flood_limit is not None:
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1:
                self._recent.popleft()
            if len(self._recent) >= self.flood_limit:
                self.too_many += 1
                return self._error(429, f"Too Many Requests: retry after {self.flood_retry_after}",
                                   self.flood_retry_after)
            self._recent.append(now)
        return None

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            self.calls.append((method, params))
        if self.unauthorized:
            return self._error(401, "Unauthorized", None)
        for hold in self.holds:
            if hold.matches(method, params):
                self.holds.remove(hold)
                hold.params = params
                hold.arrived.set()
                await hold.release.wait()
                break
        if method == "sendMessage" and (refusal := self._refusal(params)) is not None:
            return refusal
        handler = getattr(self, f"_{method}", None)
        result = await handler(params) if handler else True
        return web.json_response({"ok": True, "result": result})

    async def _getMe(self, params):
        return {"id": 123456, "is_bot": True, "first_name": "Bình Yên", "username": "binhyen_test_bot"}

    async def _getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or self.closing or time.monotonic() >= deadline:
                return ready
            self.new_update.clear()
            try:
                await asyncio.wait_for(self.new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass

    async def _sendMessage(self, params):
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params["text"],
        }
        self.delivered[int(params["chat_id"])] += 1
        await self.sent.put(params)
        if self.latency:
            await asyncio.sleep(self.latency)
        return message

    async def _editMessageText(self, params):
        return await self._sendMessage(params)


@contextlib.contextmanager
def serving_in_thread(**attributes: Any) -> Iterator[str]:
    """A FakeTelegram (with these attributes set) on its own event loop in a thread, for code
    that runs its own loop (`bot.cli.main.main`); yields its base URL."""
    ready, stopped = threading.Event(), threading.Event()
    state: dict[str, str] = {}

    async def serve() -> None:
        server = await FakeTelegram().start()
        for name, value in attributes.items():
            setattr(server, name, value)
        state["base"] = server.base
        ready.set()
        await asyncio.to_thread(stopped.wait)
        await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(10), "the fake Bot API did not start"
        yield state["base"]
    finally:
        stopped.set()
        thread.join(10)
