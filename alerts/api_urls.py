from rest_framework.routers import SimpleRouter

from alerts import api

router = SimpleRouter(trailing_slash="/?")
router.register("alert-rules", api.AlertRuleViewSet, basename="alert-rule")
router.register("alerts", api.AlertDeliveryViewSet, basename="alert")

urlpatterns = router.urls
