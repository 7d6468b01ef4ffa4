"""The WSGI application: what gunicorn serves pages and the API with in production (WebSockets go to daphne)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batoshelf.settings")

application = get_wsgi_application()
