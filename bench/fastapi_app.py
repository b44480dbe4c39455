"""The same endpoint with FastAPI on uvicorn: bearer auth, pydantic validation, the same model.

It gets no metrics and no access log, so the comparison favours it.
Usage: fastapi_app.py PORT [uvloop|asyncio]: uvicorn's loop (uvloop is what uvicorn[standard]
picks) and its C HTTP parser (httptools).
"""

from __future__ import annotations

import hmac
import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field, FiniteFloat

from model_api.model import load_packaged_model

KEYS = (b"bench-key",)
MODEL = load_packaged_model()
app = FastAPI()


class PredictRequest(BaseModel):
    instances: list[list[FiniteFloat]] = Field(min_length=1, max_length=64)


class PredictResponse(BaseModel):
    model_name: str
    model_version: str
    predictions: list[float]


@app.post("/v1/predict")
async def predict(
    body: PredictRequest, authorization: Annotated[str | None, Header()] = None
) -> PredictResponse:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not any(
        hmac.compare_digest(token.encode(), key) for key in KEYS
    ):
        raise HTTPException(401, "unauthorized")
    if any(len(row) != MODEL.n_features for row in body.instances):
        raise HTTPException(422, "wrong feature count")
    return PredictResponse(
        model_name=MODEL.name,
        model_version=MODEL.version,
        predictions=MODEL.predict(body.instances),
    )


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    loop = sys.argv[2] if len(sys.argv) > 2 else "uvloop"
    print(f"fastapi: event_loop={loop} http_parser=httptools", flush=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop=loop,
        http="httptools",
        access_log=False,
        log_level="warning",
    )
