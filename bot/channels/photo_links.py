"""Photos the bot sends on Zalo, served for a few minutes at addresses nobody can guess.

Zalo's sendPhoto takes a photo by URL only; a chart drawn for /stats (or a tip's cleaned photo
for the officers' group) exists only in memory. When the deployment has a Zalo webhook, the
webhook server is reachable from the internet: the photo is put there under a random path
below the webhook's (`…/zalo/hook/photos/<random>.png`, so a proxy forwarding the webhook
forwards these too), Zalo fetches it, and it expires after `ttl` seconds. With Redis every
instance serves every photo (Zalo's fetch may reach another instance than the sender).
"""

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web
from redis.asyncio import Redis

PHOTO_TTL = 15 * 60
# Photos kept in memory at most (without Redis); the oldest go first.
MAX_KEPT = 64
REDIS_PREFIX = "binhyen:zalo-photo:"
_TYPES = {".png": "image/png", ".jpg": "image/jpeg"}


def _suffix(data: bytes) -> str:
    return ".png" if data.startswith(b"\x89PNG") else ".jpg"


class PhotoLinks:
    """Publishes photos at short-lived random URLs under `base_url` and serves them."""

    def __init__(self, base_url: str, redis: Redis | None = None, ttl: float = PHOTO_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/") + "/photos"
        self.redis = redis
        self.ttl = ttl
        self.clock = clock
        self._kept: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def publish(self, data: bytes) -> str:
        """Keep `data` for `ttl` seconds; the public URL it is served at meanwhile."""
        name = secrets.token_urlsafe(24) + _suffix(data)
        if self.redis is not None:
            await self.redis.set(REDIS_PREFIX + name, data, ex=max(1, round(self.ttl)))
        else:
            self._forget_expired()
            self._kept[name] = (self.clock() + self.ttl, data)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
        return f"{self.base_url}/{name}"

    async def fetch(self, name: str) -> bytes | None:
        """The photo published under `name`, or None once it expired (or never was)."""
        if self.redis is not None:
            return await self.redis.get(REDIS_PREFIX + name)
        self._forget_expired()
        kept = self._kept.get(name)
        return kept[1] if kept else None

    def _forget_expired(self) -> None:
        now = self.clock()
        for name in [name for name, (until, _) in self._kept.items() if until <= now]:
            del self._kept[name]

    def add_route(self, web_app: web.Application, webhook_path: str) -> None:
        """Serve the photos on GET {webhook_path}/photos/{name}."""

        async def photo(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            data = await self.fetch(name) if name[-4:] in _TYPES else None
            if data is None:
                return web.Response(status=404, text="Not Found")
            return web.Response(body=data, content_type=_TYPES[name[-4:]],
                                headers={"Cache-Control": "no-store"})

        web_app.router.add_get(webhook_path.rstrip("/") + "/photos/{name}", photo)
