"""Pages of this app (mounted at the site root by config/urls.py)."""

urlpatterns: list = []
