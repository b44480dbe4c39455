"""The ceiling: a bare aiohttp app that parses the same JSON body and answers the same shape.

Usage: bare_app.py PORT [uvloop|asyncio]: the same event loop as the service in the run
(model_api.__main__.loop_factory) and aiohttp's same HTTP parser (same aiohttp install).
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

from model_api.__main__ import http_parser_name, loop_factory


async def predict(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    body = {
        "model_name": "demo-logreg",
        "model_version": "1.0.0",
        "predictions": [0.5] * len(data["instances"]),
    }
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/predict", predict)
    app.router.add_get("/readyz", readyz)
    loop = loop_factory(sys.argv[2] if len(sys.argv) > 2 else "uvloop")()
    print(f"bare: event_loop={type(loop).__module__} http_parser={http_parser_name()}", flush=True)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, loop=loop
    )


if __name__ == "__main__":
    main()
