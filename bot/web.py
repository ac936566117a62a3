"""The ASGI `web` process: `/healthz` (the database and the worker's heartbeat) and each
configured channel's webhook on its own path.

The routes and their background work come from the channel registry; each route checks its
request at the edge, on raw bytes, before anything is parsed. This module names no channel,
never reads a body and never logs one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels import registry
from bot.channels.protocol import Running
from storage import worker_lease

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


async def alive(request: Request) -> Response:
    """Answer that the process is up (an app without a database: tests, fakes)."""
    return PlainTextResponse("ok")


def health_report(app: App) -> tuple[bool, dict[str, object]]:
    """Return whether the deployment is healthy, and why: the database answers, and the
    worker's heartbeat is at most `LEASE_SECONDS` old."""
    report: dict[str, object] = {}
    try:
        with app.db.transaction() as session:
            session.execute(text("SELECT 1"))
            last = worker_lease.last_heartbeat(session)
    except Exception as exc:  # noqa: BLE001 - unhealthy is the answer, not a 500
        report["database"] = f"error: {type(exc).__name__}"
        report["worker"] = "unknown"
        return False, report
    report["database"] = "ok"
    if last is None:
        report["worker"] = "no heartbeat: no worker holds the scheduler's lease"
        return False, report
    age = (app.clock() - last).total_seconds()
    report["worker_heartbeat_seconds_ago"] = round(age, 1)
    fresh = age <= worker_lease.LEASE_SECONDS
    report["worker"] = "ok" if fresh else f"silent for more than {worker_lease.LEASE_SECONDS} s"
    return fresh, report


def health_endpoint(app: App) -> Callable[[Request], Awaitable[Response]]:
    """Return `/healthz` for `app`: 200 when healthy, 503 otherwise, with a JSON report."""

    async def health(request: Request) -> Response:
        healthy, report = await asyncio.to_thread(health_report, app)
        report["status"] = "ok" if healthy else "unhealthy"
        return JSONResponse(report, status_code=200 if healthy else 503)

    return health


def metrics_endpoint(app: App) -> Callable[[Request], Awaitable[Response]]:
    """Return `/metrics` for `app`: Prometheus's text format (bot.metrics)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from bot import metrics

    async def serve(request: Request) -> Response:
        body = await asyncio.to_thread(metrics.render, app.db, app.clock)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return serve


def create_web_app(
    routes: Sequence[Route],
    *,
    running: Sequence[Running] = (),
    health: Callable[[Request], Awaitable[Response]] = alive,
) -> Starlette:
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


def counted(route: Route, channel: str) -> Route:
    """`route`, its answers counted in `/metrics` by channel and status."""
    from bot import metrics

    endpoint = route.endpoint

    async def counting(request: Request) -> Response:
        response = await endpoint(request)
        metrics.webhook_answered(channel, response.status_code)
        return response

    return Route(route.path, counting, methods=list(route.methods or ()), name=route.name)


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
            routes.append(counted(part.route, channel.name))
        if part.running is not None:
            parts.append(part.running)
    routes.append(Route(METRICS_PATH, metrics_endpoint(app)))
    return create_web_app(routes, running=[*parts, *running], health=health_endpoint(app))
