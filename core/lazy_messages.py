"""Django's message middleware with the message storage made when a request first uses it.

Django's ``MessageMiddleware`` builds the storage on every request: a cookie storage and a session
storage, each with a signer made from the secret key. Only pages show messages; an API call never
does, and on a waited trigger that construction cost about as much as resolving its URL. Here the
storage is made on first use (adding, reading or iterating messages), and a response whose request
never used it has nothing to store. The admin's check for ``MessageMiddleware`` accepts a subclass.
"""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never used: nothing was added or read
        return super().process_response(request, response)
