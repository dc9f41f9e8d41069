"""How outputs show values: durations in one form, rows as aligned tables."""

from __future__ import annotations

from collections.abc import Sequence


def format_duration(seconds: int | float) -> str:
    """A duration as every output shows it: `45s`, `30m`, `1h`, `1h30m`, `2h5m10s` (what specs accept)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows (the first is the header) as left-aligned columns two spaces apart, no trailing spaces."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
