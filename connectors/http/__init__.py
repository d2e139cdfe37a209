"""HTTP/REST calls for the connector types built on them (the generic HTTP type, Acumatica).

The parts, one module each: ``fields`` (the settings every HTTP-based type shares), ``client``
(the httpx client: TLS, limits, the egress guard), ``auth`` (the authentication schemes, with token
cache and session login), ``pool`` (one client per live pool, lent to calls), ``request`` (sending one
rendered request inside the step's deadline), ``response`` (status, masked headers, parsed body)
and ``masking`` (which header and query values never reach a record).
"""
