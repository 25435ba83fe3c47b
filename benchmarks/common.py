"""What every benchmark returns, and the table `run.py` prints.

A result compares a measurement with a baseline taken in the same run (machines are noisy,
so only the ratio means anything) and states the goal as the largest acceptable ratio.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Result(TypedDict):
    name: str
    measured: float
    baseline: float
    ratio: float
    goal: float
    unit: str
    ok: bool
    note: str


def result(name: str, measured: float, baseline: float, goal: float, unit: str, note: str = "") -> Result:
    ratio = measured / baseline if baseline else float("inf")
    return Result(name=name, measured=measured, baseline=baseline, ratio=ratio, goal=goal,
                  unit=unit, ok=ratio <= goal, note=note)


def cells(row: dict[str, Any]) -> list[str]:
    """One table row; tolerates the smaller dicts other benchmarks return (no unit/ok/note)."""
    if "skipped" in row:
        return [row["name"], "-", "-", "-", "-", f"skipped: {row['skipped']}"]
    unit = f" {row['unit']}" if row.get("unit") else ""
    ok = row.get("ok", row["ratio"] <= row["goal"])
    return [
        row["name"],
        f"{row['measured']:.4g}{unit}",
        f"{row['baseline']:.4g}{unit}",
        f"{row['ratio']:.2f}",
        f"≤ {row['goal']:.2f}",
        "yes" if ok else "NO",
    ]


HEADER = ["name", "measured", "baseline", "ratio", "goal", "ok"]


def table(rows: list[dict[str, Any]], *, markdown: bool = False) -> str:
    body = [cells(row) for row in rows]
    if markdown:
        lines = [HEADER, ["---"] * len(HEADER), *body]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in [HEADER, *body])
