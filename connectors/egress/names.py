"""Host names for the egress policy: one canonical ASCII form, and the connector's allowlist of domains.

A name is compared and resolved in one form only (lower case, IDNA A-labels, no trailing dot), so
``API.Example.com.``, ``api.example.com`` and a Unicode spelling are the same host for the allowlist
and for the lookup. Unicode compatibility forms map first: fullwidth ``１２７.０.０.１`` becomes an
address, which the policy then judges as one.
"""

from __future__ import annotations

import re

import idna

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_ASCII_LETTERS = re.compile(r"^[\x21-\x7e]+$")

# Names that reach a cloud provider's metadata service whatever they resolve to here.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "metadata.tencentyun.com",
    }
)


class BadName(ValueError):
    """The text is not a usable host name; the message says why."""


def canonical(name: str) -> str:
    """The ASCII form of a host name, lower case, without a trailing dot; BadName when it is not one."""
    text = name.strip()
    if not text or text != name or any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in text):
        raise BadName(f"'{name}' is not a valid host name")
    if not _ASCII_LETTERS.match(text):
        try:
            text = idna.encode(text, uts46=True, transitional=False).decode("ascii")
        except idna.IDNAError as exc:
            raise BadName(f"'{name}' is not a valid international host name ({exc})") from None
    text = text.lower()
    if text.endswith("."):
        text = text[:-1]
    if len(text) > 253 or not all(_LABEL.match(label) for label in text.split(".")):
        raise BadName(f"'{name}' is not a valid host name")
    return text


def parse_patterns(text: str | None) -> tuple[tuple[str, ...], list[str]]:
    """Allowed-host entries one per line: exact names or ``*.example.com``; and a message per bad line.

    A wildcard must have at least two labels after it, so ``*.com`` cannot open a whole top-level
    domain. It covers any name below the domain, not the domain itself.
    """
    patterns, problems = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        wildcard = entry.startswith("*.")
        if "*" in (entry[2:] if wildcard else entry):
            problems.append(f"line {number}: '{entry}' may use '*' only as its first label ('*.example.com')")
            continue
        try:
            name = canonical(entry[2:] if wildcard else entry)
        except BadName as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if wildcard and name.count(".") < 1:
            problems.append(f"line {number}: '{entry}' is too wide; name at least two labels after '*.'")
            continue
        patterns.append(f"*.{name}" if wildcard else name)
    return tuple(patterns), problems


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a canonical name is allowed by one of the patterns."""
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == pattern:
            return True
    return False
