"""Which two graphs a diff compares when the caller names one or neither: the API and the diff page agree."""

from __future__ import annotations


def diff_refs(numbers: list[int], from_ref: str | None, to_ref: str | None) -> tuple[str, str]:
    """What a diff compares when ``from`` or ``to`` is left out: ``to`` defaults to the latest version (the
    draft before any is published), ``from`` to the version before ``to``; ``numbers`` newest first.
    ``from`` is empty when nothing comes before ``to``."""
    to_ref = to_ref or (str(numbers[0]) if numbers else "draft")
    earlier = numbers if to_ref == "draft" else [n for n in numbers if to_ref.isdigit() and n < int(to_ref)]
    return from_ref or (str(earlier[0]) if earlier else ""), to_ref
