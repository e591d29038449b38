# Production image: one image for web, worker and beat (the command differs per service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements/base.lock requirements/base.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/base.lock

COPY . .
# Static files are collected at build time so every web container is identical and stateless.
RUN DEBUG=False SECRET_KEY=build-only-not-secret SITE_URL=https://build.invalid python manage.py collectstatic --noinput

RUN useradd --create-home rapport && mkdir -p /app/var && chown rapport /app/var
USER rapport
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]
