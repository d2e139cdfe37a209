"""Pages of flows and executions.

Pages read with the member's rights and change things only for editors and above (admins for
protected flows); every change goes through the same domain modules as the API (never through the
API's views) and comes back to the flow page with a message saying what happened.
"""
