"""The WSGI application gunicorn serves.

The URL configuration (and with it every view, serializer and the DRF machinery it imports) is
loaded here, while a worker starts, not by the first request it serves: that request would
otherwise wait a third of a second, in every worker after each (re)start.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - the property imports the URL configuration
