"""A TCP proxy on 127.0.0.1 that a test can cut: the database "goes away" and comes back."""

import asyncio
import contextlib
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url


class TcpProxy:
    """Forwards connections on a port of 127.0.0.1 to `target`.

    `cut()` closes every open connection and stops listening, so new ones are refused, as
    when the database server is down; `blackhole()` keeps everything open but lets nothing
    through (packets dropped: connections hear nothing, new ones are accepted and hear
    nothing); `restore()` serves again on the same port (the connections of a blackhole lost
    bytes and are closed).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._piping: set[asyncio.Task] = set()
        self.accepted = 0
        self.requests = 0  # chunks sent by clients to the database
        self._watch: tuple[int, asyncio.Event] | None = None
        self.blackholed = False

    @classmethod
    def to_database(cls, url: str) -> "TcpProxy":
        """A proxy to the server of a PostgreSQL URL."""
        parsed = make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    def database_url(self, url: str) -> str:
        """`url` going through this proxy."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    @classmethod
    def to_redis(cls, url: str) -> "TcpProxy":
        """A proxy to the server of a redis:// URL."""
        parsed = urlsplit(url)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 6379)

    def redis_url(self, url: str) -> str:
        """`url` (redis://, without a password) going through this proxy."""
        return urlsplit(url)._replace(netloc=f"127.0.0.1:{self.port}").geturl()

    async def start(self) -> "TcpProxy":
        """Listen (on a free port the first time, then on the same one)."""
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def restore(self) -> None:
        """The database is back."""
        if self.blackholed:
            self.blackholed = False
            self._abort_open()
        if self._server is None:
            await self.start()

    async def blackhole(self) -> None:
        """The database stops answering, without refusing or closing anything."""
        self.blackholed = True

    async def cut(self) -> None:
        """The database is gone: open connections drop, new ones are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._abort_open()

    def _abort_open(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def traffic(self, requests: int) -> None:
        """Wait until clients have sent `requests` more chunks to the database (to cut it
        while transactions are under way)."""
        reached = asyncio.Event()
        self._watch = (self.requests + requests, reached)
        await reached.wait()

    async def stop(self) -> None:
        """Close everything."""
        await self.cut()
        await asyncio.gather(*self._piping, return_exceptions=True)

    async def _connect(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        self._piping.add(task)
        try:
            if self.blackholed:
                await self._swallow(client_reader, client)
            else:
                await self._forward(client_reader, client)
        finally:
            self._piping.discard(task)

    async def _swallow(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        """Hold a connection made into the blackhole open, reading and dropping what it sends."""
        self._open.add(client)
        try:
            with contextlib.suppress(ConnectionError, OSError):
                while await client_reader.read(65536):
                    pass
        finally:
            client.transport.abort()
            self._open.discard(client)

    async def _forward(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            server_reader, server = await asyncio.open_connection(*self.target)
        except OSError:
            client.transport.abort()
            return
        pair = {client, server}
        self._open |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, server, self._count),
                                 self._pipe(server_reader, client, lambda: None))
        finally:
            for writer in pair:
                writer.transport.abort()
            self._open -= pair

    def _count(self) -> None:
        self.requests += 1
        if self._watch is not None and self.requests >= self._watch[0]:
            self._watch[1].set()
            self._watch = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_data) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.blackholed:
                    continue  # dropped on the way
                on_data()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
