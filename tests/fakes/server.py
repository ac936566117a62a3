"""Serve an ASGI app on 127.0.0.1 at a free port, stopped at once: in the running event loop
(`serving`, `async with fake`, for async tests) or in a daemon thread (`with fake`, for
benchmarks). The base of the fake Telegram, Slack and LINE servers; it never talks to
anything but the loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn


class QuickServer(uvicorn.Server):
    """A uvicorn server that stops at once when asked, not at its next 0.1 s tick.

    Only the main loop and the shutdown differ from uvicorn's (no fixed 0.1 s pause before
    connections are drained), so a test's teardown is quick; and it never installs signal
    handlers, so a server in the test runner's own loop leaves Ctrl-C to the runner.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wakeup: asyncio.Event | None = None

    def wake(self) -> None:
        """Make the main loop look at ``should_exit`` now (call it in the server's loop)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def main_loop(self) -> None:
        self._wakeup = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            try:
                await asyncio.wait_for(self._wakeup.wait(), 0.1)
            except TimeoutError:
                pass

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 5
        state = self.server_state
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await self.lifespan.shutdown()  # a no-op with lifespan="off"

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _loopback_socket() -> socket.socket:
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def _server(app: Any, *, lifespan: Literal["auto", "on", "off"]) -> QuickServer:
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        loop="asyncio",
        http="h11",
        ws="none",
    )
    return QuickServer(config)


@contextlib.asynccontextmanager
async def serving(
    app: Any, *, lifespan: Literal["auto", "on", "off"] = "auto", name: str = "app"
) -> AsyncIterator[str]:
    """Serve an ASGI app in the running event loop while the block runs; yield its base URL.

    Returns once the app answers (its lifespan startup done); on leaving, the server stops
    accepting, finishes what it serves, and runs the lifespan shutdown.
    """
    sock = _loopback_socket()
    port = sock.getsockname()[1]
    server = _server(app, lifespan=lifespan)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=name)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} server did not start")
            await asyncio.sleep(0.002)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.wake()
        await asyncio.wait_for(task, 15)
        sock.close()


class ServedApp:
    """Start/stop and the event loop of a fake server; subclasses set `_app` and `_name`."""

    _app: Any
    _name = "fake"
    port = 0
    _server: QuickServer | None = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _served: contextlib.AbstractAsyncContextManager[str] | None = None

    async def _on_serving(self) -> None:
        """Run in the server's loop before it serves (e.g. create its events)."""

    def _on_stopping(self) -> None:
        """Run before the server is told to stop (e.g. release long polls)."""

    def start(self) -> Self:
        """Serve on 127.0.0.1 at a free port in a daemon thread; return once it answers."""
        if self._thread is not None or self._served is not None:
            raise RuntimeError(f"the {self._name} server is already running")
        sock = _loopback_socket()
        self.port = sock.getsockname()[1]
        server = _server(self._app, lifespan="off")
        self._server = server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(server, sock)), name=self._name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self._name} server did not start")
            time.sleep(0.002)
        return self

    async def _serve(self, server: QuickServer, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        await self._on_serving()
        await server.serve(sockets=[sock])

    def stop(self) -> None:
        """Stop serving; what was recorded is kept."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._on_stopping()
        server.should_exit = True
        self._call_in_loop(server.wake)
        thread.join(timeout=10)
        self._server = self._thread = None
        self._loop = None

    def _call_in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:  # the loop closed meanwhile
                pass

    async def __aenter__(self) -> Self:
        """Serve in the running event loop (the test's own) until the `async with` ends."""
        if self._thread is not None or self._served is not None:
            raise RuntimeError(f"the {self._name} server is already running")
        self._loop = asyncio.get_running_loop()
        await self._on_serving()
        served = serving(self._app, lifespan="off", name=self._name)
        base_url = await served.__aenter__()
        self._served = served
        self.port = int(base_url.rsplit(":", 1)[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        served, self._served = self._served, None
        if served is None:
            return
        self._on_stopping()
        try:
            await served.__aexit__(exc_type, exc, tb)
        finally:
            self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
