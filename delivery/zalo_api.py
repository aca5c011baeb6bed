"""Our own small aiohttp client for the Zalo Bot API (the Zalo Bot Platform).

What it relies on, as the platform documents it (bot.zaloplatforms.com/docs, formerly
bot.zapps.me/docs; read through the copies in public repositories, e.g. the
"ZALO_BOT_API.md" of a Vietnamese bot, updated 10/12/2025, and the Go SDK
lucanhost/go-zalo-bot-api):

- Every method is `POST {base}/bot{token}/{method}` with a JSON body. The base is
  `https://bot-api.zaloplatforms.com` (the older host `bot-api.zapps.me` answers too).
  The token has the form `{bot_id}:{access_token}` and is the only credential.
- Every answer is `{"ok": true, "result": ...}` or
  `{"ok": false, "error_code": N, "description": "..."}`, and the HTTP status cannot be relied
  on: a call with a wrong token was seen answered `{"ok": false, "error_code": 401}` with HTTP
  200. So the code is read from `error_code` (the HTTP status only when there is none). The
  docs' error-code page (6/8/2025) lists 400 bad request (wrong path or API name), 401 token
  expired or invalid, 403 "internal server error" (sic: not "forbidden"), 404 not found
  (invalid access request), 408 request timeout and 429 "quota exceeded". No code is
  documented to mean "this user blocked the bot" or "no such chat", and nothing documents a
  `retry_after`, the quota's size or when it resets: we read `parameters.retry_after` or a
  `Retry-After` header when one is there, and otherwise leave the wait to the caller.
- `getMe` → `{"id": "1459…", "account_name": "bot.VDKyGxQvc", "account_type": "BASIC",
  "can_join_groups": false}`.
- `getUpdates` `{"timeout": "30"}` (seconds, as a string) long-polls and returns ONE
  update per call, with no offset: `{"event_name": "message.text.received",
  "message": {"message_id": "16f6…", "date": 1766619597466 (ms), "text": "Xin chào",
  "chat": {"id": "e4ea…", "chat_type": "PRIVATE" | "GROUP"},
  "from": {"id": "e4ea…", "display_name": "…", "is_bot": false}}}` (the docs' samples
  name the sender `display_name`; some name it `first_name` or `name`). Other events:
  `message.image.received` (`photo`: the image's URL on Zalo's CDN, which some copies of
  the docs call `photo_url`; `caption`), `message.sticker.received`,
  `message.voice.received`, `message.unsupported.received`. When nothing arrives in time
  the answer is HTTP 408 / `error_code` 408 ("Request timeout"): not an error, poll again.
  getUpdates does not work while a webhook is set.
- `setWebhook` `{"url": "https://…", "secret_token": "8–256 characters"}` →
  `{"url": …, "updated_at": ms}`; Zalo then POSTs each update (the same object, sometimes
  wrapped as `{"ok": true, "result": {…}}`) with the secret in `X-Bot-Api-Secret-Token`.
  `deleteWebhook` `{}` → `{"url": "", "updated_at": ms}`; `getWebhookInfo` likewise.
- `sendMessage` `{"chat_id", "text"}` (1 to 2,000 characters) and `sendPhoto`
  `{"chat_id", "photo": URL, "caption"}` → `{"message_id": "8259…", "date": ms}`.
  `sendChatAction` `{"chat_id", "action": "typing"}` → `{"ok": true}`.

The token is kept in a SecretStr and is never part of an exception, a log line or a repr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from pydantic import SecretStr

from base.settings import ZALO_API_BASE
from db.text import split_text as split_by_size

MAX_TEXT = 2000
POLL_SECONDS = 30
# Seconds allowed for an ordinary call; a long poll gets its own timeout plus this.
CALL_SECONDS = 20


class ZaloError(Exception):
    """The Zalo Bot API refused a call or could not be reached; never holds the token."""

    def __init__(self, method: str, code: int | None, description: str) -> None:
        self.method = method
        self.code = code
        self.description = description
        super().__init__(f"Zalo {method} failed ({code or 'no answer'}): {description}")


class ZaloBadRequest(ZaloError):
    """400 ("bad request"), or 404 ("not found, invalid access request"): the call as made was
    refused; the same call will be refused again."""


class ZaloUnauthorized(ZaloError):
    """401: the bot token is wrong or was revoked; retrying cannot help."""


class ZaloServerError(ZaloError):
    """403 (which the docs call "internal server error"), or a 5xx: Zalo's fault, for a while;
    the same call may succeed later."""


class ZaloRateLimited(ZaloError):
    """429, "quota exceeded" in the docs: the bot's quota is used up, for a time nobody says
    (`retry_after` only if the API ever gives one)."""

    def __init__(self, method: str, code: int | None, description: str,
                 retry_after: float | None = None) -> None:
        super().__init__(method, code, description)
        self.retry_after = retry_after


class ZaloNetworkError(ZaloError):
    """No usable answer: connection failed, timed out, or the body was not the API's JSON."""


_ERRORS: dict[int, type[ZaloError]] = {
    400: ZaloBadRequest,
    401: ZaloUnauthorized,
    403: ZaloServerError,
    404: ZaloBadRequest,
    429: ZaloRateLimited,
}


def text_size(text: str) -> int:
    """Length as the API counts it: UTF-16 code units (an emoji counts twice), to be safe."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units that keep paragraphs, then lines, then words
    together (see db.text.split_text). Blank parts are dropped."""
    return split_by_size(text, limit, text_size)


class ZaloClient:
    """The Zalo Bot API methods the bot uses, over one aiohttp session."""

    def __init__(self, token: SecretStr, api_base: str = ZALO_API_BASE,
                 session: aiohttp.ClientSession | None = None) -> None:
        self._token = token
        self.api_base = api_base.rstrip("/")
        self._session = session
        self._own_session = session is None

    def __repr__(self) -> str:
        return f"ZaloClient(api_base={self.api_base!r})"

    @property
    def bot_id(self) -> str:
        """The bot's id: the part of the token before the colon (not secret, like Telegram's)."""
        return self._token.get_secret_value().partition(":")[0]

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    def _scrub(self, text: str) -> str:
        """The text with the token blanked out, whatever produced it."""
        return text.replace(self._token.get_secret_value(), "<token>")

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   timeout: float = CALL_SECONDS) -> Any:
        """Call one API method and return its `result`, or raise the matching ZaloError."""
        url = f"{self.api_base}/bot{self._token.get_secret_value()}/{method}"
        body = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            async with self._http().post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                status, headers = response.status, response.headers
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except (aiohttp.ClientError, TimeoutError) as error:
            # aiohttp's messages may carry the URL, hence the token: keep the type only.
            raise ZaloNetworkError(method, None, type(error).__name__) from None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        raise self._error(method, status, headers, answer)

    def _error(self, method: str, status: int, headers: Any, answer: Any) -> ZaloError:
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("error_code") if isinstance(answer.get("error_code"), int) else status
        description = self._scrub(str(answer.get("description") or f"HTTP {status}"))[:300]
        if not answer and status == 200:
            return ZaloNetworkError(method, None, "the answer was not the API's JSON")
        kind = _ERRORS.get(code) or (ZaloServerError if code >= 500 else ZaloError)
        if kind is ZaloRateLimited:
            return ZaloRateLimited(method, code, description, _retry_after(answer, headers))
        return kind(method, code, description)

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account: id, account_name, account_type."""
        return await self.call("getMe")

    async def get_updates(self, timeout: int = POLL_SECONDS) -> list[dict[str, Any]]:
        """Wait up to `timeout` seconds for the next update; [] when nothing came (HTTP 408).

        The API hands out one update per call and takes no offset: an update returned
        here is gone from Zalo's side."""
        try:
            result = await self.call("getUpdates", {"timeout": str(timeout)}, timeout + CALL_SECONDS)
        except ZaloError as error:
            if error.code == 408:
                return []
            raise
        if isinstance(result, list):
            return [update for update in result if isinstance(update, dict) and update]
        return [result] if isinstance(result, dict) and result else []

    async def set_webhook(self, url: str, secret_token: SecretStr) -> dict[str, Any]:
        """Have Zalo POST updates to `url`, proving each with `secret_token`."""
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token.get_secret_value()})

    async def delete_webhook(self) -> dict[str, Any]:
        """Stop the webhook, so that getUpdates works again."""
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        """The registered webhook URL (empty when none)."""
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """One sendMessage call; the text must already fit in 2,000 characters."""
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_text(self, chat_id: str, text: str) -> list[str]:
        """Send a text of any length as one or more messages; returns their message ids.

        Raises ZaloRateLimited (the quota), ZaloServerError, ZaloUnauthorized, ZaloBadRequest,
        ZaloNetworkError or ZaloError. When a later part fails, the earlier parts have been
        sent."""
        sent = []
        for part in split_text(text):
            result = await self.send_message(chat_id, part)
            sent.append(str((result or {}).get("message_id", "")))
        return sent

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> list[str]:
        """Send a photo by its URL; a caption too long for the photo follows as text."""
        fits = text_size(caption) <= MAX_TEXT
        result = await self.call("sendPhoto", {
            "chat_id": chat_id, "photo": photo_url, "caption": caption if caption and fits else None,
        })
        sent = [str((result or {}).get("message_id", ""))]
        if caption and not fits:
            sent += await self.send_text(chat_id, caption)
        return sent

    async def download(self, url: str, limit: int, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        """The file at `url` (an image a user sent, on Zalo's CDN) in chunks; ZaloNetworkError
        when it cannot be fetched or is larger than `limit` bytes."""
        if not url.startswith(("https://", "http://")):
            raise ZaloNetworkError("download", None, "not an http(s) URL")
        received = 0
        try:
            async with self._http().get(url, timeout=aiohttp.ClientTimeout(total=CALL_SECONDS)) as response:
                if response.status != 200:
                    raise ZaloNetworkError("download", response.status, f"HTTP {response.status}")
                async for chunk in response.content.iter_chunked(chunk_size):
                    received += len(chunk)
                    if received > limit:
                        raise ZaloNetworkError("download", None, f"larger than {limit} bytes")
                    yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ZaloNetworkError("download", None, type(error).__name__) from None

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """Show "typing…" in the chat for a moment."""
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def _retry_after(answer: dict[str, Any], headers: Any) -> float | None:
    parameters = answer.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if value is None and headers is not None:
        value = headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None

