"""A hostile HTTP server on 127.0.0.1 (raw asyncio in a thread): faults a real server cannot be
made to produce on demand. ``server.mode`` picks how the next requests are answered."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
import zlib
from collections.abc import Iterator

#: What each mode answers (None: handled in :meth:`HostileServer._answer`).
_CANNED = {
    "500": b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n"
    b"content-length: 4\r\n\r\noops",
    "502": b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n",
    "malformed": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: 9\r\n\r\n{not json",
    "wrong-schema": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b'content-length: 13\r\n\r\n{"data": 42}\n',
    "not-json": b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
    b"content-length: 13\r\n\r\n<html>?</html>",
    "redirect": b"HTTP/1.1 302 Found\r\nlocation: https://elsewhere.example/\r\n"
    b"content-length: 0\r\n\r\n",
    "503-retry-1": b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n"
    b"content-length: 0\r\n\r\n",
    "503-retry-3600": b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 3600\r\n"
    b"content-length: 0\r\n\r\n",
    "429": b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n",
    "truncated": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b'content-length: 100\r\n\r\n{"data": [',
    "deep": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: 200000\r\n\r\n" + b"[" * 100000 + b"]" * 100000,
    "non-utf8": b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
    b"content-length: 4\r\n\r\n\xff\xfe\xfd\xfc",
}
#: The size of the "huge" answer, and what the "bomb" answer inflates to.
HUGE = 500 * 1024 * 1024
_STATUS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 30\r\n\r\n"
    b'{"data": {"api_version": "1"}}'
)
#: A page of one codebase, the first of 100, whatever offset was asked for.
_SAME_PAGE = json.dumps(
    {
        "data": [
            {
                "name": "some-codebase",
                **dict.fromkeys(("url", "branch", "branch_url", "subpath", "web_url"), None),
                **dict.fromkeys(("vcs_last_revision", "last_scanned", "hostname"), None),
                "vcs_type": "git",
                "value": 1,
                "inactive": False,
            }
        ],
        "pagination": {"total": 100, "offset": 0, "limit": 1, "has_more": True},
    }
).encode()
_CANNED["same-page"] = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_SAME_PAGE), _SAME_PAGE)
)
#: Pages of 5000 codebases (one on each) for the first list requests of these modes; then
#: the answer each mode names, then hanging.
_PAGED = {"two-pages-then-hang": (2, "hang"), "one-page-then-500": (1, "500")}


def _page_at(head: bytes) -> bytes:
    """A one-codebase page of 5000 at the offset the request line asks for."""
    offset = int(head.split(b"offset=", 1)[1].split(b"&", 1)[0].split(b" ", 1)[0])
    body = _SAME_PAGE.replace(b'"total": 100', b'"total": 5000')
    body = body.replace(b'"offset": 0', b'"offset": %d' % offset)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


MODES = (*_CANNED, "hang", "reset", "trickle", "trickle-headers", "huge", "bomb")


@functools.cache
def _bomb() -> bytes:
    """About 0.5 MiB of gzip that inflates to :data:`HUGE` bytes of JSON whitespace."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b" " * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(HUGE // len(block))) + packer.flush()


class HostileServer:
    def __init__(self) -> None:
        self.mode = "500"
        self.requests: list[bytes] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                if head.startswith(b"GET /api/status "):  # a v1 server: POSTs may be sent
                    writer.write(_STATUS)
                    await writer.drain()
                    continue
                await self._answer(writer)
        writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode in _PAGED:
            lists = [r for r in self.requests if r.startswith(b"GET /api/codebases?")]
            pages, mode = _PAGED[mode]
            if len(lists) <= pages:
                writer.write(_page_at(lists[-1]))
                await writer.drain()
                return
            mode = mode if len(lists) == pages + 1 else "hang"
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "reset":
            writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{"data": [')
            await writer.drain()
            writer.transport.abort()
            raise ConnectionResetError
        if mode == "trickle":  # a byte a second, never done
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(1)
        if mode == "trickle-export":  # an export's headers, then a line a second
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ntransfer-encoding: chunked\r\n"
                b"content-disposition: attachment; filename=runs.csv\r\n\r\n"
            )
            while True:
                writer.write(b"4\r\na,b\n\r\n")
                await writer.drain()
                await asyncio.sleep(1)
        if mode == "trickle-headers":
            for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 100000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        if mode == "huge":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            writer.write(b"content-length: %d\r\n\r\n" % HUGE)
            block = b" " * (1024 * 1024)
            for _ in range(HUGE // len(block)):
                writer.write(block)
                await writer.drain()
            return
        if mode == "bomb":
            bomb = _bomb()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            writer.write(b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(bomb))
            writer.write(bomb)
            await writer.drain()
            return
        writer.write(_CANNED[mode])
        await writer.drain()
        if mode == "truncated":  # then a clean end of the connection, short of the length
            writer.close()
            raise ConnectionResetError

    def start(self) -> HostileServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    async def _cancel_connections(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cancel_connections(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer().start()
    try:
        yield server
    finally:
        server.stop()
