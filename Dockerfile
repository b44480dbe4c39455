# model-api: the aiohttp model-serving API (service/). Multi-stage: build a wheel, install it into a
# venv, copy the venv into a clean runtime stage (no compilers, no pip, non-root, read-only root).
#
# BASE_IMAGE must be a Debian-family image with python3 and the venv module (python3 -m venv);
# both stages use it so the venv's interpreter path matches. The default is pinned by digest;
# offline machines pass an image built by scripts/build-base-image.sh instead.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${BASE_IMAGE} AS build
# pip settings for proxied or offline builds (unset unless passed with --build-arg).
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ARG PIP_TRUSTED_HOST
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Runtime dependencies first, pinned, so code changes reuse this layer.
COPY service/constraints.txt ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r constraints.txt

COPY service/pyproject.toml service/README.md ./
COPY service/src ./src
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir setuptools==80.9.0 wheel==0.45.1 \
    && /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /wheels/*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG GIT_SHA=""
ARG CREATED=""
LABEL org.opencontainers.image.title="model-api" \
      org.opencontainers.image.description="aiohttp model-serving API (logistic regression) for the ML platform" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Proprietary" \
      org.opencontainers.image.vendor="ML platform team"
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    GIT_SHA="${GIT_SHA}" \
    MODEL_API_HOST=0.0.0.0 \
    MODEL_API_PORT=8080
COPY --from=build /opt/venv /opt/venv
# Numeric user and group: no /etc/passwd entry needed, and runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["/opt/venv/bin/model-api"]
