"""The peer site's WSGI application, for ``gunicorn bench.peer_site.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_site.settings")
application = get_wsgi_application()
