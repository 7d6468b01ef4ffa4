"""gunicorn's settings for serving pages and the API in production (`gunicorn -c python:batoshelf.gunicorn`).

Pages are Django sync views: gunicorn's sync workers serve them with no thread
hand-off per request, faster per process than its threaded workers or an ASGI
server (benchmarks/page_speed.py measures all of them). Sync workers want a
proxy in front that buffers slow clients; compose.yaml puts Caddy there, which
also sends /ws/ to daphne. WEB_BIND and WEB_WORKERS change the defaults.
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
# A process per core and one more, as gunicorn advises; three suits a two-core machine.
workers = int(os.environ.get("WEB_WORKERS", "3"))
worker_class = "sync"
# Under SIGTERM a request in flight has this long to finish.
graceful_timeout = 20
timeout = 30
accesslog = None
errorlog = "-"
