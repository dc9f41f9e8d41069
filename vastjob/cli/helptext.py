"""The end of every command's `--help`: examples to copy, and what each exit code means for that command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# What each code means everywhere; a command adds what it means there (which errors, what was left).
EXIT_CODES: Mapping[int, str] = {
    0: "done",
    1: "the spec or your input is wrong (nothing was rented)",
    2: "command-line usage",
    3: "the Vast API failed or could not be reached",
    130: "interrupted (Ctrl-C)",
}


def footer(examples: Sequence[str], exits: Mapping[int, str | None], *, interruptible: bool = True) -> str:
    """An epilog: the examples, then the exit codes in `exits` (None: the usual meaning), with 2 (usage)
    and, unless the command handles Ctrl-C itself, 130."""
    codes = {**exits, 2: exits.get(2), **({130: exits.get(130)} if interruptible else {})}
    lines = ["\b", "Examples:", *(f"  {e}" for e in examples), "", "\b", "Exit codes:"]
    lines += [f"  {c:<3}  {codes[c] or EXIT_CODES[c]}" for c in sorted(codes)]
    return "\n".join(lines)
