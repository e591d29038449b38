"""Gunicorn settings for production; every value can be overridden from the environment."""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = "-"
errorlog = "-"
# The same single setting as Django's (core/proxies.py): gunicorn believes X-Forwarded-Proto
# and friends only from the listed proxies, never from "*" (any client could claim HTTPS).
# With none listed it believes nobody.
forwarded_allow_ips = ",".join(
    proxy.strip() for proxy in os.environ.get("TRUSTED_PROXIES", "").split(",") if proxy.strip()
)
