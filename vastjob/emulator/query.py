"""The query language of offer search and instance lists: `{field: {op: value}}`, ordering, search prices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]

OPS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"})
# Short names the official CLI accepts, resolved server-side too so either spelling works.
ALIASES = {
    "dph": "dph_total",
    "cuda_vers": "cuda_max_good",
    "dlperf_usd": "dlperf_per_dphtotal",
    "flops_usd": "flops_per_dphtotal",
    "display_active": "gpu_display_active",
}
# Filters the server applies when a search does not mention them.
DEFAULT_FILTERS: dict[str, dict[str, Any]] = {
    "verified": {"eq": True},
    "rentable": {"eq": True},
    "rented": {"eq": False},
}
HOURS_PER_MONTH = 730.0  # storage_cost is $/GB/month; prices are per hour
DEFAULT_STORAGE_GIB = 8.0
DEFAULT_LIMIT = 64
MAX_LIMIT = 1000
# Top-level search keys that are not field filters.
SEARCH_OPTIONS = frozenset(
    {
        "order",
        "limit",
        "type",
        "allocated_storage",
        "disable_bundling",
        "select_cols",
        "extra_ids",
        "show_reserved",
    }
)


class QueryError(ValueError):
    """A malformed query: the server answers 400."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _coerce(sample: Any, value: Any) -> Any:
    """Give a query value the type of the field it is compared with: numbers sent as text become numbers."""
    if isinstance(sample, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value) if isinstance(value, int | float) else value
    if isinstance(sample, int | float) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _pair(row: Mapping[str, Any], field: str, value: Any) -> tuple[Any, Any]:
    """The row's side and the query's side of one comparison, both normalised."""
    if field == "datacenter":
        return row.get("hosting_type") == 1, _coerce(True, value)
    actual = row.get(field)
    if field == "gpu_name" and isinstance(value, str):
        # The API takes both "RTX_4090" (CLI style) and "RTX 4090".
        return actual, value.replace("_", " ")
    if field == "geolocation" and isinstance(actual, str) and isinstance(value, str) and len(value) == 2:
        return actual.rsplit(",", 1)[-1].strip(), value  # a bare country code matches the code at the end
    if field == "driver_version" and isinstance(actual, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return row.get("driver_vers"), value  # the CLI sends versions as zero-padded integers
        if isinstance(value, str):
            return _version(actual), _version(value)
    if actual is None:
        return None, value
    return actual, _coerce(actual, value)


def _test(row: Mapping[str, Any], field: str, op: str, value: Any) -> bool:
    if op in ("in", "notin"):
        values = value if isinstance(value, list | tuple) else [value]
        found = any(a == b for a, b in (_pair(row, field, v) for v in values))
        return found if op == "in" else not found
    actual, wanted = _pair(row, field, value)
    if op == "eq":
        return bool(actual == wanted)
    if op == "neq":
        return bool(actual != wanted)
    if actual is None or wanted is None:
        return False
    try:
        if op == "gt":
            return bool(actual > wanted)
        if op == "gte":
            return bool(actual >= wanted)
        if op == "lt":
            return bool(actual < wanted)
        return bool(actual <= wanted)
    except TypeError:
        return False


def check_filters(filters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate `{field: {op: value}}`, resolving aliases; a bare value means `eq`."""
    checked: dict[str, dict[str, Any]] = {}
    for field, cond in filters.items():
        if not isinstance(field, str) or not field:
            raise QueryError(f"invalid field name {field!r}")
        conditions = cond if isinstance(cond, dict) else {"eq": cond}
        for op in conditions:
            if op not in OPS:
                raise QueryError(f"unknown operator {op!r} for field {field!r}")
        checked[ALIASES.get(field, field)] = dict(conditions)
    return checked


def matches(row: Mapping[str, Any], filters: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a row passes every condition of checked filters."""
    return all(_test(row, field, op, value) for field, cond in filters.items() for op, value in cond.items())


def _sort_value(value: Any) -> tuple[int, Any]:
    # Numbers and text never compare with each other; keep each kind in its own band.
    if isinstance(value, int | float):
        return (0, float(value))
    return (1, str(value))


def order_rows(rows: Iterable[Row], order: Sequence[tuple[str, bool]]) -> list[Row]:
    """Rows sorted by (field, descending) pairs, missing values last, then by id."""
    result = sorted(rows, key=lambda r: _sort_value(r.get("id")))
    for field, descending in reversed(order):
        present = [r for r in result if r.get(field) is not None]
        missing = [r for r in result if r.get(field) is None]
        present.sort(key=lambda r, f=field: _sort_value(r.get(f)), reverse=descending)  # type: ignore[misc]
        result = present + missing
    return result


def parse_order(order: Any) -> list[tuple[str, bool]]:
    """`[["dph_total", "asc"], ...]` (or `[{"col": ..., "dir": ...}]`) as (field, descending) pairs."""
    if order is None:
        return []
    if not isinstance(order, list):
        raise QueryError("order must be a list of [field, direction] pairs")
    pairs: list[tuple[str, bool]] = []
    for item in order:
        if isinstance(item, dict):
            field, direction = item.get("col"), item.get("dir", "asc")
        elif isinstance(item, list | tuple) and len(item) in (1, 2):
            field, direction = item[0], (item[1] if len(item) == 2 else "asc")
        elif isinstance(item, str):
            field, direction = item.lstrip("-+"), "desc" if item.startswith("-") else "asc"
        else:
            raise QueryError(f"invalid order entry {item!r}")
        if not isinstance(field, str) or not field:
            raise QueryError(f"invalid order entry {item!r}")
        pairs.append((ALIASES.get(field, field), str(direction).lower() == "desc"))
    return pairs


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise QueryError(f"{name} must be a number, got {value!r}") from None


def priced(offer: Mapping[str, Any], storage_gib: float, bid: bool) -> Row:
    """A copy of an offer with the prices a search for `storage_gib` of disk reports."""
    row = dict(offer)
    base = float(offer.get("min_bid") or 0.0) if bid else float(offer.get("dph_base") or 0.0)
    disk_hour = float(offer.get("storage_cost") or 0.0) * storage_gib / HOURS_PER_MONTH
    total = base + disk_hour
    row.update(
        {
            "dph_base": round(base, 6),
            "dph_total": round(total, 6),
            "dph_total_adj": round(total, 6),
            "storage_total_cost": round(disk_hour, 6),
            "is_bid": bid,
            "dlperf_per_dphtotal": round(float(offer.get("dlperf") or 0.0) / total, 4) if total else 0.0,
            "flops_per_dphtotal": round(float(offer.get("total_flops") or 0.0) / total, 4) if total else 0.0,
            "search": {
                "gpuCostPerHour": round(base, 6),
                "diskHour": round(disk_hour, 6),
                "totalHour": round(total, 6),
                "discountTotalHour": 0.0,
                "discountedTotalPerHour": round(total, 6),
            },
            "time_remaining": "",
            "time_remaining_isbid": "",
            "rn": None,
        }
    )
    return row


def search(offers: Iterable[Mapping[str, Any]], query: Mapping[str, Any]) -> list[Row]:
    """Answer an offer search the way `POST /api/v0/bundles/` does."""
    kind = str(query.get("type") or "on-demand").lower()
    if kind not in ("on-demand", "ondemand", "reserved", "bid", "interruptible"):
        raise QueryError(f"invalid type {kind!r}")
    bid = kind in ("bid", "interruptible")
    storage = _number(query.get("allocated_storage", DEFAULT_STORAGE_GIB), "allocated_storage")
    limit = int(_number(query.get("limit", DEFAULT_LIMIT), "limit"))
    limit = DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
    order = parse_order(query.get("order", [["score", "desc"]]))
    raw = {k: v for k, v in query.items() if k not in SEARCH_OPTIONS}
    filters = check_filters({**DEFAULT_FILTERS, **raw})
    rows = [priced(o, storage, bid) for o in offers]
    found = [r for r in rows if matches(r, filters) and float(r.get("disk_space") or 0.0) >= storage]
    result = order_rows(found, order)[:limit]
    for index, row in enumerate(result, start=1):
        row["rn"] = index
    return result
