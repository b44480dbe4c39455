"""The ceiling: a bare aiohttp app that parses the same JSON body and answers the same shape."""

from __future__ import annotations

import json
import sys

from aiohttp import web


async def predict(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    body = {
        "model_name": "demo-logreg",
        "model_version": "1.0.0",
        "predictions": [0.5] * len(data["instances"]),
    }
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/predict", predict)
    app.router.add_get("/readyz", lambda request: web.json_response({"status": "ready"}))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
