"""Console entry point `model-api`: validate config, serve, drain on SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable

import aiohttp.http_parser
from aiohttp import web

from .app import STATE_KEY, ModelApiRunner, create_app
from .config import Config, ConfigError
from .logs import configure_logging
from .model import ModelError
from .watched import FileFormatError

log = logging.getLogger("model_api")


async def serve(app: web.Application, config: Config) -> None:
    """Serve until SIGTERM/SIGINT; then fail readiness, keep serving for the drain period, stop.

    A second signal during the drain period stops at once (in-flight requests still finish).
    """
    runner = ModelApiRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=config.shutdown_timeout_seconds,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, backlog=1024, reuse_address=True)
        await site.start()
        loop = asyncio.get_running_loop()
        log.info(
            "listening",
            extra={
                "fields": {
                    "host": config.host,
                    "port": config.port,
                    "event_loop": f"{type(loop).__module__}.{type(loop).__name__}",
                    "http_parser": http_parser_name(),
                }
            },
        )
        signals: asyncio.Queue[signal.Signals] = asyncio.Queue()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, signals.put_nowait, sig)
        received = await signals.get()
        app[STATE_KEY].draining = True
        log.info(
            "draining: readiness now fails; still serving",
            extra={"fields": {"signal": received.name, "drain_seconds": config.drain_seconds}},
        )
        try:
            again = await asyncio.wait_for(signals.get(), timeout=config.drain_seconds)
            log.info(
                "second signal: ending the drain early", extra={"fields": {"signal": again.name}}
            )
        except TimeoutError:
            pass
        log.info("stopping: no new connections; waiting for in-flight requests")
    finally:
        await runner.cleanup()
    log.info("stopped")


def http_parser_name() -> str:
    """aiohttp's request parser in use: the C one (llhttp) unless AIOHTTP_NO_EXTENSIONS is set
    or the extension is missing (aiohttp/http_parser.py falls back to the pure-Python one)."""
    parser = aiohttp.http_parser.HttpRequestParser
    return (
        "llhttp" if parser is getattr(aiohttp.http_parser, "HttpRequestParserC", None) else "python"
    )


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop to serve on: uvloop (libuv; the loop uvicorn[standard] uses) or asyncio's."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"model-api: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    try:
        app = create_app(config)
    except (OSError, UnicodeDecodeError, FileFormatError) as exc:
        what = getattr(exc, "filename", None) or ""
        print(f"model-api: start-up error: {what} {exc}".replace("  ", " "), file=sys.stderr)
        return 2
    if config.fault_error_rate or config.fault_latency_ms or config.fault_file:
        log.warning(
            "fault injection configured",
            extra={
                "fields": {
                    "error_rate": config.fault_error_rate,
                    "latency_ms": config.fault_latency_ms,
                    "fault_file": config.fault_file,
                }
            },
        )
    if not config.auth_enabled:
        log.warning("authentication is disabled (MODEL_API_AUTH_ENABLED=false)")
    try:
        with asyncio.Runner(loop_factory=loop_factory(config.event_loop)) as runner:
            runner.run(serve(app, config))
    except ModelError as exc:
        print(f"model-api: model error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"model-api: cannot serve: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
