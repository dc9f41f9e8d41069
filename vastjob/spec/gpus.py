"""The GPU models vastjob knows, as Vast names them: memory per GPU and a typical hourly price per GPU.

Used to catch a misspelt model (Vast matches names exactly, so `RTX4090` finds no offer at all), a memory
floor no named model can meet, and a price cap far above anything a GPU costs (`250` written for `2.50`).
A model missing here is still allowed: Vast adds models faster than any table.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    """One model: memory per GPU in GB (None where Vast's name covers several sizes) and $/h per GPU."""

    vram_gb: float | None
    typical_price: float


GPUS: dict[str, Gpu] = {
    "B200": Gpu(180, 5.00),
    "H200": Gpu(141, 2.90),
    "H200 NVL": Gpu(141, 2.40),
    "GH200 SXM": Gpu(96, 2.20),
    "H100 SXM": Gpu(80, 2.30),
    "H100 NVL": Gpu(94, 2.20),
    "H100 PCIE": Gpu(80, 1.90),
    "A100 SXM4": Gpu(80, 1.20),
    "A100 PCIE": Gpu(80, 1.05),
    "A100X": Gpu(80, 1.10),
    "A800 PCIE": Gpu(80, 1.00),
    "L40S": Gpu(48, 0.85),
    "L40": Gpu(48, 0.75),
    "L4": Gpu(24, 0.28),
    "A40": Gpu(48, 0.45),
    "A30": Gpu(24, 0.30),
    "A10": Gpu(24, 0.30),
    "RTX 6000Ada": Gpu(48, 0.75),
    "RTX 5000Ada": Gpu(32, 0.55),
    "RTX 4000Ada": Gpu(20, 0.25),
    "RTX A6000": Gpu(48, 0.45),
    "RTX A5000": Gpu(24, 0.25),
    "RTX A4500": Gpu(20, 0.22),
    "RTX A4000": Gpu(16, 0.15),
    "RTX A2000": Gpu(None, 0.10),
    "Q RTX 8000": Gpu(48, 0.35),
    "Q RTX 6000": Gpu(24, 0.25),
    "Titan RTX": Gpu(24, 0.20),
    "Titan V": Gpu(12, 0.15),
    "RTX 5090": Gpu(32, 0.65),
    "RTX 5080": Gpu(16, 0.35),
    "RTX 5070 Ti": Gpu(16, 0.25),
    "RTX 5070": Gpu(12, 0.18),
    "RTX 4090": Gpu(24, 0.38),
    "RTX 4090D": Gpu(24, 0.33),
    "RTX 4080S": Gpu(16, 0.25),
    "RTX 4080": Gpu(16, 0.22),
    "RTX 4070 Ti": Gpu(12, 0.16),
    "RTX 4070S": Gpu(12, 0.15),
    "RTX 4070": Gpu(12, 0.13),
    "RTX 4060 Ti": Gpu(None, 0.10),
    "RTX 3090 Ti": Gpu(24, 0.22),
    "RTX 3090": Gpu(24, 0.20),
    "RTX 3080 Ti": Gpu(12, 0.14),
    "RTX 3080": Gpu(None, 0.12),
    "RTX 3070 Ti": Gpu(8, 0.09),
    "RTX 3070": Gpu(8, 0.08),
    "RTX 3060 Ti": Gpu(8, 0.07),
    "RTX 3060": Gpu(12, 0.06),
    "GTX 1080 Ti": Gpu(11, 0.06),
    "Tesla T4": Gpu(16, 0.15),
    "Tesla V100": Gpu(32, 0.25),
    "Tesla P100": Gpu(16, 0.12),
    "Tesla P40": Gpu(24, 0.12),
}

# A cap this many times the dearest model's typical price (per GPU asked for) is almost surely a slip.
PRICE_SLIP_FACTOR = 10


def _folded(name: str) -> str:
    """A name without case, spaces, dashes and underscores: what tells `rtx_4090` from `RTX 4090` apart."""
    return re.sub(r"[\s_-]+", "", name).casefold()


_BY_FOLDED = {_folded(n): n for n in GPUS}


def same_model(name: str) -> str | None:
    """The known name that `name` spells differently (case, spaces, `_`, `-`), or None."""
    known = _BY_FOLDED.get(_folded(name))
    return known if known is not None and known != name else None


def close_models(name: str) -> list[str]:
    """Known names that look like `name`, closest first."""
    return difflib.get_close_matches(name, list(GPUS), n=2, cutoff=0.6)


def slip_threshold(count: int) -> float:
    """The $/h from which a cap for `count` GPUs looks like a slip."""
    dearest = max(g.typical_price for g in GPUS.values())
    return PRICE_SLIP_FACTOR * dearest * max(count, 1)
