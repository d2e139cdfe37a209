"""Settings of the trivial peer site: no database, no apps, security and common middleware only."""

import os
import secrets

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = secrets.token_urlsafe(50)  # signs nothing: the site has no sessions or forms
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "bench.peer_site.urls"
WSGI_APPLICATION = "bench.peer_site.wsgi.application"
DATABASES: dict = {}
USE_TZ = True
