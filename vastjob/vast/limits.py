"""Vast's documented limits on the create body, as one table: what vastjob's budget checks before sending
and what the local emulator enforces, so nothing passes here that the service would refuse.

Wire-level constants only (no client, no emulator): both sides import it. Where Vast's docs allow two
readings, the strict one is written here: `onstart` 4048 (not 16 KB), a label of 256 (not 1024), and an
env entry's 256 characters counting its key as well as its value.
"""

from __future__ import annotations

from typing import Final

ONSTART_MAX: Final = 4048  # characters of `onstart` (the OpenAPI's top text)
LAUNCH_MAX: Final = 4096  # characters of `args` + `args_str` + `onstart` together
ENV_ENTRY_MAX: Final = 256  # characters of one env entry: its key plus its value
ENV_TOTAL_MAX: Final = 32768  # characters of every env entry together (each counted as above)
LABEL_MAX: Final = 256  # characters of the label at create (manage allows 1024)
IMAGE_MAX: Final = 1024  # characters of the image reference
DISK_MIN_GB: Final = 8.0  # GB of disk at least
BID_MIN: Final = 0.001  # $/h, a bid (`price`) at least
BID_MAX: Final = 128.0  # $/h, a bid at most

LIMITS: Final[dict[str, float]] = {
    "onstart": ONSTART_MAX,
    "args+args_str+onstart": LAUNCH_MAX,
    "env entry": ENV_ENTRY_MAX,
    "env total": ENV_TOTAL_MAX,
    "label": LABEL_MAX,
    "image": IMAGE_MAX,
    "disk (min GB)": DISK_MIN_GB,
    "price (min $/h)": BID_MIN,
    "price (max $/h)": BID_MAX,
}
"""The table above by name, for docs and reports."""


def entry_size(key: str, value: str) -> int:
    """How much of the env budget one entry takes: its key and its value, nothing for the syntax."""
    return len(key) + len(value)


def env_size(env: dict[str, str]) -> int:
    """How much of the 32768 total an env object takes: the sum of its entries."""
    return sum(entry_size(k, v) for k, v in env.items())
