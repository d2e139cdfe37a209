"""Why SAP refused a logon, said once, as what to do about it, for both transports.

SAP words a refusal the same way over RFC (``LogonError``) and in the body of a SOAP 401 or 400:
"Name or password is incorrect", "User is locked", "Client 200 is not available in this system".
A person testing a connector needs which setting to fix, not the same advice twice.
"""

from __future__ import annotations


def in_words(reason: str, *, user: str, client: str) -> str:
    """The refusal as one sentence naming what to check, with SAP's own text after it."""
    text = reason.lower()
    if "locked" in text or "gesperrt" in text:
        words = f"the SAP user {user} is locked; an SAP administrator can unlock it (transaction SU01)"
    elif "client" in text and ("not available" in text or "does not exist" in text):
        words = f"client {client} does not exist in this SAP system; check the SAP client"
    else:
        words = "the logon was refused; check the logon user, password and client"
    said = " ".join(reason.split())[:300]
    return f"{words} (SAP answered: {said})" if said else words
