"""A seedable market of realistic Vast.ai offers, in the API's own units and field names."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vastjob.emulator.overlay import assign_clusters

Offer = dict[str, Any]


@dataclass(frozen=True)
class GpuModel:
    """One GPU model of the catalogue: what nvidia-smi reports and what hosts ask for it."""

    name: str
    vram_mib: int
    price: float  # typical on-demand $/h for one GPU
    compute_cap: int
    dlperf: float  # per GPU
    tflops: float  # fp32, per GPU
    mem_bw: float  # GB/s
    power: int  # W
    weight: int  # relative frequency in the market
    datacenter_class: bool
    min_cuda: float


CATALOGUE: tuple[GpuModel, ...] = (
    GpuModel("RTX 3090", 24576, 0.20, 860, 21.0, 35.6, 936.0, 350, 14, False, 11.8),
    GpuModel("RTX 4090", 24564, 0.38, 890, 42.0, 82.6, 1008.0, 450, 18, False, 12.0),
    GpuModel("RTX 5090", 32607, 0.65, 1200, 61.0, 104.8, 1792.0, 575, 8, False, 12.8),
    GpuModel("RTX A6000", 49140, 0.45, 860, 26.0, 38.7, 768.0, 300, 5, False, 11.8),
    GpuModel("RTX 6000Ada", 49140, 0.75, 890, 45.0, 91.1, 960.0, 300, 4, True, 12.0),
    GpuModel("L4", 23034, 0.28, 890, 16.0, 30.3, 300.0, 72, 2, True, 12.0),
    GpuModel("L40S", 46068, 0.85, 890, 48.0, 91.6, 864.0, 350, 5, True, 12.0),
    GpuModel("A100 PCIE", 81920, 1.05, 800, 52.0, 19.5, 1935.0, 300, 5, True, 11.8),
    GpuModel("A100 SXM4", 81920, 1.20, 800, 60.0, 19.5, 2039.0, 400, 6, True, 11.8),
    GpuModel("H100 PCIE", 81559, 1.90, 900, 90.0, 51.2, 2000.0, 350, 5, True, 12.2),
    GpuModel("H100 SXM", 81559, 2.30, 900, 110.0, 66.9, 3350.0, 700, 8, True, 12.2),
    GpuModel("H100 NVL", 95830, 2.20, 900, 100.0, 60.0, 3900.0, 400, 3, True, 12.2),
    GpuModel("H200", 143771, 2.90, 900, 120.0, 66.9, 4800.0, 700, 4, True, 12.4),
    GpuModel("H200 NVL", 143771, 2.40, 900, 115.0, 60.0, 4800.0, 600, 4, True, 12.4),
)

# CUDA version -> the driver that ships it (what hosts report as driver_version).
DRIVERS: dict[float, str] = {
    11.8: "520.61.05",
    12.0: "525.147.05",
    12.2: "535.183.01",
    12.4: "550.127.05",
    12.6: "560.35.03",
    12.8: "570.133.07",
    13.0: "580.82.07",
}

# (region, weight); the country code is last, as in the real API.
LOCATIONS: tuple[tuple[str, int], ...] = (
    ("Texas, US", 9),
    ("California, US", 8),
    ("Oregon, US", 4),
    ("Virginia, US", 5),
    ("Nevada, US", 2),
    ("Quebec, CA", 4),
    ("Ontario, CA", 2),
    ("Bavaria, DE", 3),
    ("Hesse, DE", 2),
    ("North Holland, NL", 3),
    ("Stockholm, SE", 2),
    ("Uusimaa, FI", 2),
    ("England, GB", 3),
    ("Ile-de-France, FR", 2),
    ("Masovia, PL", 2),
    ("Tokyo, JP", 2),
    ("Seoul, KR", 1),
    ("Taipei, TW", 2),
    ("Sao Paulo, BR", 1),
    ("New South Wales, AU", 1),
    ("Maharashtra, IN", 1),
)

CPUS = (
    "AMD EPYC 7543 32-Core Processor",
    "AMD EPYC 9354 32-Core Processor",
    "Intel Xeon Gold 6338",
    "AMD Ryzen 9 7950X 16-Core Processor",
    "Intel Core i9-13900K",
    "AMD EPYC 7B13 64-Core Processor",
)
BOARDS = ("ROMED8-2T", "H12SSL-i", "X13DEI", "PRO WS WRX80E-SAGE SE", "MZ73-LM0", "ProArt X670E")

FIRST_OFFER_ID = 4_000_000


def _pick_count(rng: random.Random, model: GpuModel) -> int:
    weights = (30, 20, 20, 30) if model.datacenter_class else (50, 25, 15, 10)
    return rng.choices((1, 2, 4, 8), weights=weights)[0]


def _pick_cuda(rng: random.Random, model: GpuModel) -> float:
    versions = [v for v in DRIVERS if v >= model.min_cuda]
    # Newer drivers are more common on newer hosts; weight towards the recent end.
    return rng.choices(versions, weights=[1 + i * 2 for i in range(len(versions))])[0]


def _offer(rng: random.Random, offer_id: int, model: GpuModel, now: float) -> Offer:
    n = _pick_count(rng, model)
    datacenter = model.datacenter_class and rng.random() < 0.45
    verified = datacenter or rng.random() < 0.82
    per_gpu = model.price * min(2.0, max(0.55, rng.lognormvariate(0.0, 0.22)))
    dph_base = round(per_gpu * n, 4)
    reliability = round(min(0.9999, rng.betavariate(60, 1.2)), 4)
    if datacenter:
        reliability = round(max(reliability, 0.99), 4)
    cuda = _pick_cuda(rng, model)
    location = rng.choices([loc for loc, _ in LOCATIONS], weights=[w for _, w in LOCATIONS])[0]
    big = n > 1 or datacenter
    cores = rng.choice((16, 24, 32, 48, 64, 96, 128)) if big else rng.choice((8, 12, 16, 24, 32))
    cpu_ram = int(rng.choice((32, 64, 128, 256, 512, 1024, 2048)) * 1024 * max(1, n // 2))
    inet_down = round(rng.uniform(2000, 10000) if datacenter else rng.lognormvariate(6.3, 0.8), 1)
    inet_up = round(inet_down * rng.uniform(0.3, 1.0), 1)
    dlperf = round(model.dlperf * n * rng.uniform(0.85, 1.05), 2)
    machine_id = 10_000 + offer_id % 100_000 + rng.randrange(0, 7)
    duration = round(rng.uniform(2, 120) * 86_400, 1)
    return {
        "id": offer_id,
        "ask_contract_id": offer_id,
        "bundle_id": offer_id * 7 + 3,
        "machine_id": machine_id,
        "host_id": 100_000 + rng.randrange(0, 60_000),
        "gpu_name": model.name,
        "gpu_arch": "nvidia",
        "num_gpus": n,
        "gpu_ram": model.vram_mib,
        "gpu_total_ram": model.vram_mib * n,
        "gpu_frac": 1.0,
        "gpu_ids": [rng.randrange(100_000, 999_999) for _ in range(n)],
        "gpu_mem_bw": model.mem_bw,
        "gpu_max_power": model.power,
        "gpu_max_temp": 83 if model.datacenter_class else 90,
        "gpu_lanes": 16,
        "gpu_display_active": False,
        "bw_nvlink": round(rng.choice((0.0, 0.0, 450.0)) if n > 1 and datacenter else 0.0, 1),
        "compute_cap": model.compute_cap,
        "cuda_max_good": cuda,
        "driver_version": DRIVERS[cuda],
        "driver_vers": int("".join(part.zfill(3) for part in DRIVERS[cuda].split("."))),
        "cpu_arch": "amd64",
        "cpu_name": rng.choice(CPUS),
        "cpu_cores": cores,
        "cpu_cores_effective": float(cores),
        "cpu_ghz": round(rng.uniform(2.2, 4.5), 2),
        "cpu_ram": cpu_ram,
        "has_avx": 1,
        "mobo_name": rng.choice(BOARDS),
        "pci_gen": rng.choice((3.0, 4.0, 4.0, 5.0)),
        "pcie_bw": round(rng.uniform(10, 52), 1),
        "disk_name": rng.choice(("Samsung SSD 990 PRO", "Micron 7450", "WD_BLACK SN850X", "KIOXIA CD6")),
        "disk_space": round(rng.choice((150, 250, 500, 1000, 2000, 4000)) * rng.uniform(0.6, 1.0), 1),
        "disk_bw": round(rng.uniform(800, 6500), 1),
        "inet_down": inet_down,
        "inet_up": inet_up,
        "inet_down_cost": round(rng.uniform(0.0, 0.01), 4),
        "inet_up_cost": round(rng.uniform(0.0, 0.01), 4),
        "direct_port_count": rng.choice((0, 8, 20, 50, 100)),
        "static_ip": datacenter or rng.random() < 0.5,
        "public_ipaddr": f"198.51.100.{offer_id % 250 + 1}",
        "geolocation": location,
        "geolocode": rng.randrange(10_000_000, 99_999_999),
        "hosting_type": 1 if datacenter else 0,
        "os_version": rng.choice(("20.04", "22.04", "22.04", "24.04")),
        "reliability": reliability,
        "reliability2": reliability,
        "reliability_mult": round(reliability**2, 4),
        "verified": verified,
        "verification": "verified" if verified else "unverified",
        "vericode": 1 if verified else 0,
        "external": False,
        "rentable": True,
        "rented": False,
        "is_bid": False,
        "vms_enabled": False,
        "resource_type": "gpu",
        "dph_base": dph_base,
        "min_bid": round(dph_base * rng.uniform(0.35, 0.7), 4),
        "storage_cost": round(rng.uniform(0.05, 0.30), 4),
        "credit_discount_max": 0.4 if datacenter else 0.2,
        "dlperf": dlperf,
        "total_flops": round(model.tflops * n, 1),
        "score": round(dlperf / max(dph_base, 0.01) * reliability, 2),
        "duration": duration,
        "start_date": round(now - rng.uniform(0, 30) * 86_400, 1),
        "end_date": round(now + duration, 1),
        "hostname": None,
        "webpage": None,
        "cluster_id": None,
    }


def generate_offers(seed: int = 0, n: int = 2000) -> list[Offer]:
    """A deterministic list of `n` offers for `seed` (timestamps are relative to a fixed epoch)."""
    rng = random.Random(seed)
    models = list(CATALOGUE)
    weights = [m.weight for m in models]
    now = 1_800_000_000.0
    offers = [_offer(rng, FIRST_OFFER_ID + i, rng.choices(models, weights=weights)[0], now) for i in range(n)]
    return assign_clusters(offers)


def load_offers(path: Path) -> list[Offer]:
    """Offers from a JSON file holding a list of offers, or `{"offers": [...]}` as the search answers."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("offers")
    if not isinstance(data, list) or not all(isinstance(o, dict) and "id" in o for o in data):
        raise ValueError(f"{path}: expected a list of offers (objects with an id) or {{'offers': [...]}}")
    return [dict(o) for o in data]
