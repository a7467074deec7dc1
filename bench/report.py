"""The results table: one row per figure, printed and written to bench/results.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: its median over the runs, its floor, its target and whether it meets it."""

    figure: str
    median: str
    runs: int
    floor: str
    target: str
    verdict: str  # "meets", "misses" or "info"


def median(values: list[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def seconds(value: float) -> str:
    """0.123 -> '0.123 s'."""
    return f"{value:.3f} s"


def verdict(ok: bool) -> str:
    """'meets' or 'misses'."""
    return "meets" if ok else "misses"


HEADER = ("figure", "median (runs)", "floor", "target", "verdict")


def cells(row: Row) -> tuple[str, ...]:
    """The row as table cells."""
    return row.figure, f"{row.median} ({row.runs})", row.floor, row.target, row.verdict


def text_table(rows: list[Row]) -> str:
    """The table aligned for a terminal."""
    lines = [HEADER, *map(cells, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            out.append("-+-".join("-" * width for width in widths))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    """The table in Markdown."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def markdown(rows: list[Row], facts: list[tuple[str, str]], notes: list[str], raw: dict[str, list[float]]) -> str:
    """The whole bench/results.md."""
    parts = ["# `make bench` results", "",
             "Written by `bench/run.py`; every figure is the median of the runs in brackets, measured in the "
             "same run as its floor. Do not edit by hand: run `make bench` again.", ""]
    parts += [f"- {name}: {value}" for name, value in facts]
    parts += ["", markdown_table(rows), "", "## Notes", ""]
    parts += [f"- {note}" for note in notes]
    parts += ["", "## Raw samples", ""]
    parts += [f"- {name}: {', '.join(f'{v:.3f}' for v in values)}" for name, values in raw.items()]
    return "\n".join(parts) + "\n"
