from rest_framework.routers import SimpleRouter

from audit import api

router = SimpleRouter(trailing_slash="/?")
router.register("audit", api.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
