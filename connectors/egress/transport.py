"""An httpx transport whose every TCP connection is checked by the egress policy.

httpcore opens connections through a network backend (``connect_tcp(host, port, ...)``). The
backend here asks the policy for the host's checked addresses and connects to one of them; httpcore
then starts TLS on that socket with the URL's host name, so SNI and certificate checking stay on
the name, and the Host header is the request's. A redirect to another host is a new request and a
new connection, so every hop is checked.

httpx 0.28 offers no public way to hand ``HTTPTransport`` a network backend (encode/httpx#3749 adds
one), so ``GuardedTransport`` replaces the transport's httpcore pool with one built the same way
plus the backend. Build the client with ``trust_env=False`` (or without proxy variables in the
environment): httpx mounts proxy transports of its own for ``HTTP(S)_PROXY``, which would bypass
this one.
"""

from __future__ import annotations

import httpcore
import httpx

from connectors.egress.policy import Policy

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own defaults


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's synchronous backend, connecting only to addresses the policy has checked."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last: Exception | None = None
        for address in self.policy.check_host(host, port):
            try:
                return super().connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:  # try the next address; a timeout ends the attempt
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("connectors may not use Unix sockets")


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (same keyword arguments, except ``proxy`` and ``uds``) behind the policy."""

    def __init__(
        self,
        policy: Policy,
        *,
        verify=True,
        cert=None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options=None,
    ):
        limits = limits or DEFAULT_LIMITS
        super().__init__(verify=False, trust_env=False, http1=http1, http2=http2, limits=limits)
        self.policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            local_address=local_address,
            retries=retries,
            socket_options=socket_options,
            network_backend=GuardedBackend(policy),
        )
