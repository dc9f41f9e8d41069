"""The create body's documented limits, enforced as Vast answers them: 400 `invalid_args` (or
`invalid_price` for a bid), `{"success": false, "error", "msg", "ask_id"}`, the offer left on the market.

The numbers come from the wire-level table in `vastjob.vast.limits`; the checks here are the emulator's own.
"""

from __future__ import annotations

from typing import Any

from vastjob.emulator.wire import Reply, error
from vastjob.vast.limits import (
    BID_MAX,
    BID_MIN,
    DISK_MIN_GB,
    ENV_ENTRY_MAX,
    ENV_TOTAL_MAX,
    IMAGE_MAX,
    LABEL_MAX,
    LAUNCH_MAX,
    ONSTART_MAX,
)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if isinstance(value, list):  # `args` is a list of strings: its characters count
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def check_limits(body: dict[str, Any], ask_id: int | None) -> Reply | None:
    """The first documented limit a create body breaks, as the API's error reply; None when within all."""

    def refuse(msg: str, code: str = "invalid_args") -> Reply:
        return error(400, code, f"Invalid args: {msg}" if code == "invalid_args" else msg, ask_id=ask_id)

    image = body.get("image")
    if isinstance(image, str) and len(image) > IMAGE_MAX:
        return refuse(f"image is {len(image)} characters; the limit is {IMAGE_MAX}")
    for name in ("onstart", "args_str"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            return refuse(f"{name} must be a string")
    args = body.get("args")
    if args is not None and not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
        return refuse("args must be a list of strings")
    onstart = _text(body, "onstart")
    if len(onstart) > ONSTART_MAX:
        return refuse(f"onstart is {len(onstart)} characters; the limit is {ONSTART_MAX}")
    launch = len(_text(body, "args")) + len(_text(body, "args_str")) + len(onstart)
    if launch > LAUNCH_MAX:
        return refuse(
            f"args, args_str and onstart are {launch} characters together; the limit is {LAUNCH_MAX}"
        )
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > LABEL_MAX):
        return refuse(f"label must be a string of at most {LABEL_MAX} characters")
    env = body.get("env")
    if isinstance(env, dict):
        total = 0
        for key, value in env.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                return refuse(f"env {key}: the value must be a string")
            size = len(str(key)) + len(str(value))
            if size > ENV_ENTRY_MAX:
                return refuse(
                    f"env {key}: the entry is {size} characters (key and value); the limit is {ENV_ENTRY_MAX}"
                )
            total += size
        if total > ENV_TOTAL_MAX:
            return refuse(f"env is {total} characters in all; the limit is {ENV_TOTAL_MAX}")
    disk = body.get("disk", 10)
    if isinstance(disk, bool) or not isinstance(disk, int | float) or disk < DISK_MIN_GB:
        return refuse(f"disk must be a number of GB, at least {DISK_MIN_GB:g}")
    price = body.get("price")
    if price is not None and (
        isinstance(price, bool) or not isinstance(price, int | float) or not BID_MIN <= price <= BID_MAX
    ):
        return refuse(f"Invalid price: a bid must be between {BID_MIN} and {BID_MAX:g} $/h", "invalid_price")
    return None
