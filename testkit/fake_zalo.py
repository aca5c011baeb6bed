"""A fake Zalo Bot API server on 127.0.0.1, answering in the documented shapes.

See delivery/zalo_api.py for the shapes and where they come from: one update per
getUpdates and HTTP 408 when none came in time, sendMessage refusing texts over 2,000
characters, failures on demand (per chat, for a number of sends or until healed; or of a
method, a number of times), setWebhook recording the secret, and every send attempt with
the time it arrived. It is Zalo's CDN too: images users send are served from it, and
sendPhoto fetches its photo from the bot's own server (as Zalo does) when told where the
bot's public address really listens (`public_bases`).
"""

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, web

from delivery.zalo_api import MAX_TEXT, text_size

ZALO_TOKEN = "3001234567890123456:ZaloTestAccessTokenXyZ-0123456789abcdef"
BOT_ID = "3001234567890123456"


def text_event(text: str, user: str = "e4ea2cd5189df1c3a88c", message_id: str | None = None,
               event_name: str = "message.text.received", chat_type: str = "PRIVATE",
               chat: str | None = None, name: str = "Chị Lan") -> dict[str, Any]:
    """An update as getUpdates returns it (its `result`)."""
    message = {
        "message_id": message_id or secrets.token_hex(10),
        "date": int(time.time() * 1000),
        "chat": {"id": chat or user, "chat_type": chat_type},
        "from": {"id": user, "display_name": name, "is_bot": False},
    }
    if event_name == "message.text.received":
        message["text"] = text
    return {"event_name": event_name, "message": message}


def image_event(photo: str, caption: str | None = None, user: str = "e4ea2cd5189df1c3a88c",
                message_id: str | None = None, name: str = "Chị Lan") -> dict[str, Any]:
    """An image a user sent, as the docs show it: the image's URL on Zalo's CDN and a caption."""
    event = text_event("", user=user, message_id=message_id, event_name="message.image.received",
                       name=name)
    event["message"]["photo"] = photo
    if caption is not None:
        event["message"]["caption"] = caption
    return event


async def listen_locally(app: web.Application, **options: Any) -> tuple[web.AppRunner, int]:
    """Serve `app` on a free port of 127.0.0.1; the runner (to clean up) and the port."""
    runner = web.AppRunner(app, **options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@dataclass
class Failure:
    """How sends to one chat are refused: after letting `after` through, `times` of them (None:
    every one until healed)."""

    code: int
    description: str
    parameters: dict[str, Any]
    after: int = 0
    times: int | None = None


@dataclass(frozen=True)
class Attempt:
    """One sendMessage or sendPhoto as the server saw it: when, to whom, and the status answered."""

    at: float
    method: str
    chat_id: str
    status: int


class FakeZalo:
    """Answers like bot-api.zaloplatforms.com for the methods the bot uses."""

    def __init__(self, token: str = ZALO_TOKEN) -> None:
        self.token = token
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.texts: list[dict[str, Any]] = []
        self.failures: dict[str, Failure] = {}
        # Every send attempt, refused or not; `clock` stamps them (a test's fake clock, say).
        self.attempts: list[Attempt] = []
        self.clock: Callable[[], float] = time.monotonic
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self.webhook_set = asyncio.Event()
        # Seconds getUpdates waits at most, whatever the client asks (None: as asked).
        self.max_wait: float | None = None
        self.timeouts = 0
        self.timed_out = asyncio.Event()
        # An error every getUpdates answers with, when set: (code, description).
        self.poll_error: tuple[int, str] | None = None
        self.polled = asyncio.Event()
        # Errors some calls of a method answer with: method → [(code, description), …].
        self.method_errors: dict[str, list[tuple[int, str]]] = {}
        # Zalo's CDN: the images users sent, by name; and the photos sendPhoto fetched, by URL.
        self.images: dict[str, bytes] = {}
        self.photos: dict[str, bytes] = {}
        # A public address of the bot (https://bot.example.vn) → where it listens in the test.
        self.public_bases: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> "FakeZalo":
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/cdn/{name}", self._image)
        # No access log: its request lines would carry the token (a real server's are Zalo's).
        # A long poll whose client went away is dropped, as a real server does.
        self._runner, port = await listen_locally(app, access_log=None, handler_cancellation=True)
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def push(self, event: dict[str, Any]) -> None:
        """Queue an update for a later getUpdates."""
        self.events.put_nowait(event)

    def fail(self, chat_id: str, code: int, description: str, times: int | None = None,
             after: int = 0, **parameters: Any) -> None:
        """Make sends to `chat_id` fail with this error, after letting `after` sends through:
        `times` sends, or all until `heal` (parameters such as retry_after go into the
        error's `parameters`)."""
        self.failures[chat_id] = Failure(code, description, parameters, after, times)

    def fail_method(self, method: str, code: int, description: str, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with this error."""
        self.method_errors.setdefault(method, []).extend([(code, description)] * times)

    def image_url(self, name: str, data: bytes) -> str:
        """Put an image on the fake CDN; its URL, as an image event carries it."""
        self.images[name] = data
        return f"{self.base}/cdn/{name}"

    def heal(self, chat_id: str) -> None:
        self.failures.pop(chat_id, None)

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def texts_to(self, chat_id: str) -> list[str]:
        """The texts (or captions) a chat received, in order."""
        return [sent.get("text") or sent.get("caption") or "" for sent in self.texts
                if sent.get("chat_id") == chat_id]

    async def next_text(self, seconds: float = 10) -> dict[str, Any]:
        """The next text the bot sent, waiting for it."""
        return await asyncio.wait_for(self.sent.get(), seconds)

    async def post_webhook(self, url: str, event: dict[str, Any], secret: str | None) -> int:
        """Deliver an update to a webhook as Zalo does; the HTTP status of the answer."""
        headers = {"X-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with ClientSession() as client:
            async with client.post(url, json=event, headers=headers) as response:
                return response.status

    @staticmethod
    def _answer(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        try:
            params = await request.json() if request.can_read_body else {}
        except ValueError:
            return self._error(400, "Bad Request: body must be JSON")
        if method != "getUpdates":
            self.calls.append((method, params))
        if self.method_errors.get(method):
            return self._error(*self.method_errors[method].pop(0))
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method")
        return await handler(params)

    async def _getMe(self, params):
        return self._answer({"id": BOT_ID, "account_name": "bot.BinhYen", "account_type": "BASIC",
                             "can_join_groups": False})

    async def _getUpdates(self, params):
        self.polled.set()
        if self.poll_error is not None:
            return self._error(*self.poll_error)
        wait = float(params.get("timeout") or 30)
        if self.max_wait is not None:
            wait = min(wait, self.max_wait)
        try:
            event = await asyncio.wait_for(self.events.get(), wait) if wait > 0 \
                else self.events.get_nowait()
        except (TimeoutError, asyncio.QueueEmpty):
            self.timeouts += 1
            self.timed_out.set()
            return self._error(408, "Request timeout")
        return self._answer(event)

    async def _setWebhook(self, params):
        url, secret = params.get("url", ""), params.get("secret_token", "")
        if not url.startswith("https://") or not 8 <= len(secret) <= 256:
            return self._error(400, "Bad Request: url must be https and secret_token 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        self.webhook_set.set()
        return self._answer({"url": url, "updated_at": int(time.time() * 1000)})

    async def _deleteWebhook(self, params):
        self.webhook = {"url": "", "secret_token": None}
        return self._answer({"url": "", "updated_at": int(time.time() * 1000)})

    async def _getWebhookInfo(self, params):
        return self._answer({"url": self.webhook["url"], "updated_at": int(time.time() * 1000)})

    def _refused(self, params) -> web.Response | None:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            return self._error(400, "Bad Request: chat_id is required")
        failure = self.failures.get(chat_id)
        if failure is None:
            return None
        if failure.after > 0:
            failure.after -= 1
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                self.heal(chat_id)
        return self._error(failure.code, failure.description, **failure.parameters)

    def _attempt(self, method: str, params, answer: web.Response) -> web.Response:
        self.attempts.append(Attempt(self.clock(), method, str(params.get("chat_id")), answer.status))
        return answer

    async def _sendMessage(self, params):
        refused = self._refused(params)
        if refused is not None:
            return self._attempt("sendMessage", params, refused)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= text_size(text) <= MAX_TEXT:
            return self._attempt("sendMessage", params,
                                 self._error(400, "Bad Request: text must be 1 to 2000 characters"))
        return self._attempt("sendMessage", params, await self._sent(params))

    async def _sendPhoto(self, params):
        refused = self._refused(params)
        if refused is not None:
            return self._attempt("sendPhoto", params, refused)
        photo = str(params.get("photo", ""))
        if not photo.startswith(("https://", "http://")):
            return self._attempt("sendPhoto", params, self._error(400, "Bad Request: photo must be a URL"))
        for public, local in self.public_bases.items():
            if photo.startswith(public + "/"):
                async with ClientSession() as client:
                    async with client.get(local + photo.removeprefix(public)) as response:
                        if response.status != 200:
                            return self._attempt("sendPhoto", params,
                                                 self._error(400, "Bad Request: photo could not be fetched"))
                        self.photos[photo] = await response.read()
        return self._attempt("sendPhoto", params, await self._sent(params))

    async def _image(self, request: web.Request) -> web.Response:
        data = self.images.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")

    async def _sent(self, params):
        self.texts.append(params)
        await self.sent.put(params)
        return self._answer({"message_id": f"{next(self._ids):020x}", "date": int(time.time() * 1000)})

    async def _sendChatAction(self, params):
        refused = self._refused(params)
        return refused if refused is not None else web.json_response({"ok": True})
