"""Small builders for graphs in tests: steps and edges written the way the canvas sends them."""

from __future__ import annotations


def mapping(sid: str, expression: str, *, name: str | None = None, ignore: bool = False, y: int = 0, **extra) -> dict:
    return {
        "id": sid,
        "kind": "mapping",
        "name": name or sid,
        "instruction": expression,
        "ignore_errors": ignore,
        "position": {"x": 0, "y": y},
        **extra,
    }


def sql(sid: str, connector, instruction: str, *, name: str | None = None, ignore: bool = False, **extra) -> dict:
    return {
        "id": sid,
        "kind": "connector",
        "name": name or sid,
        "connector": getattr(connector, "pk", connector),
        "instruction": instruction,
        "ignore_errors": ignore,
        "position": {"x": 0, "y": 0},
        **extra,
    }


def chain(*ids: str) -> list[dict]:
    return [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)]


def graph(steps: list[dict], edges: list[dict] | None = None) -> dict:
    return {"steps": steps, "edges": edges or []}
