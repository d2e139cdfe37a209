from audit.context import serving


class AuditActorMiddleware:
    """Makes the request the actor of every change recorded while it is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving(request):
            return self.get_response(request)
