# stabgraph served by gunicorn over a results folder mounted read-only at /data.
#   docker build -t stabgraph .
#   docker run --rm -p 8050:8050 -v "$PWD/results:/data:ro" stabgraph
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium (and its headless shell) renders static exports through kaleido; the fonts give
# figures real glyphs. Debian replaces old Chromium builds with security updates, so an
# exact version pin would stop the image from building within weeks.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        chromium chromium-headless-shell fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/stabgraph
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY stabgraph_core/ stabgraph_core/
COPY app/ app/
COPY assets/ assets/
COPY gunicorn.conf.py ./

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/stabgraph stabgraph \
    && mkdir -p /data /var/cache/stabgraph \
    && chown stabgraph:stabgraph /var/cache/stabgraph

ENV PYTHONPATH=/srv/stabgraph \
    STABGRAPH_RESULTS_ROOT=/data \
    STABGRAPH_CACHE_DIR=/var/cache/stabgraph \
    HOST=0.0.0.0 \
    PORT=8050

USER 10001:10001
VOLUME ["/var/cache/stabgraph"]
EXPOSE 8050

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8050\")}/healthz', timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:server"]
