"""The ASGI `web` process: `/healthz` and each configured channel's webhook on its own path.

The routes and their background work come from the channel registry; each route checks its
request at the edge, on raw bytes, before anything is parsed. This module names no channel,
never reads a body and never logs one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels import registry
from bot.channels.protocol import Running

HEALTH_PATH = "/healthz"


async def health(request: Request) -> Response:
    """Answer that the process is up."""
    return PlainTextResponse("ok")


def create_web_app(routes: Sequence[Route], *, running: Sequence[Running] = ()) -> Starlette:
    """Return the ASGI app serving `routes` and `/healthz`, with `running` around its life.

    Each `running` is entered (in order) before the first request and left after the last;
    the event they share is set when the app stops.
    """

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            for part in running:
                await stack.enter_async_context(part(stop))
            yield
            stop.set()

    return Starlette(routes=[Route(HEALTH_PATH, health), *routes], lifespan=lifespan)


def web_app(app: App, *, with_worker: bool, running: Sequence[Running] = ()) -> Starlette:
    """Return the ASGI app with each configured channel's route and background work.

    `with_worker` makes each channel deliver from this process too (one process); `running`
    is what else runs in it (the scheduler, the counselors' fallback).
    """
    routes: list[Route] = []
    parts: list[Running] = []
    for channel, settings in registry.enabled(app.settings):
        part = channel.web(app, settings, with_worker=with_worker)
        if part is None:
            continue
        if part.route is not None:
            routes.append(part.route)
        if part.running is not None:
            parts.append(part.running)
    return create_web_app(routes, running=[*parts, *running])
