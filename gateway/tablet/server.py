"""The tablet pages' HTTP server: uvicorn in the gateway's own event loop, stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the gateway's stop (Ctrl-C, SIGTERM) ends it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``host``:``port`` until ``stop`` is set."""
    server = _Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
    )

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits when it cannot listen (the port is taken)
            log.error(
                "the tablet pages are not served: cannot listen on %s:%d (is the port taken? "
                "set DHO_GATEWAY_TABLET_PORT); the gateway goes on without them",
                host,
                port,
            )

    task = asyncio.create_task(run(), name="tablet-http")
    log.info("tablet pages on http://%s:%d/", host, port)
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        await asyncio.wait([task], timeout=5)
