# Madoguchi: one image for every process of the Procfile (docs/deploy.md).
#   docker run IMAGE madoguchi db upgrade   # the release step, once per release
#   docker run IMAGE madoguchi web          # any number, behind the TLS reverse proxy
#   docker run IMAGE madoguchi worker       # exactly one
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MADOGUCHI_DATA_DIR=/var/lib/madoguchi \
    MADOGUCHI_LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
COPY locales ./locales
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/madoguchi --create-home madoguchi

USER madoguchi
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)" || exit 1
CMD ["madoguchi", "web"]
