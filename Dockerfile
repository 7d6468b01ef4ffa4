# batoshelf: one image for the pages (gunicorn), the WebSockets (daphne) and the task worker (manage.py worker).
#   docker build -t batoshelf .      (compose.yaml builds and runs it with MariaDB and Redis)

# Build the wheels where the compiler and the MariaDB headers are; the image keeps neither.
FROM python:3.11-slim-bookworm AS wheels
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
# requirements.txt ends with the test tools; the image needs only what runs.
RUN sed '/^# Tests/,$d' requirements.txt > runtime.txt \
 && pip wheel --no-cache-dir --wheel-dir /wheels -r runtime.txt

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_ROOT=/app/static-collected
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --shell /usr/sbin/nologin batoshelf
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/* && rm -rf /wheels
WORKDIR /app
COPY manage.py ./
COPY batoshelf batoshelf
COPY scraping scraping
COPY readers readers
COPY notifications notifications
COPY library library
COPY templates templates
COPY static static
# Static files are collected into the image; WhiteNoise serves them. The key is for this step only.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0
USER batoshelf
EXPOSE 8000
# Pages and the API. The ws service runs daphne for the WebSockets instead, and the worker service
# `python manage.py worker`: as PID 1 it alone gets `docker stop`'s SIGTERM, so the check in flight
# finishes (see README, "worker").
CMD ["gunicorn", "-c", "python:batoshelf.gunicorn", "batoshelf.wsgi:application"]
