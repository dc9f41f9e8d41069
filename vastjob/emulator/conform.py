"""Where the emulator holds requests to the letter of Vast's OpenAPI description: the enums of the create
body, the label limit at create, search keys and `order` pairs, the list's filterable and sortable
columns, and the current user. Each check answers the error the OpenAPI gives, or None."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vastjob.emulator.wire import Reply, error

RUNTYPES = ("ssh", "jupyter", "args", "ssh_proxy", "ssh_direct", "jupyter_proxy", "jupyter_direct")
TARGET_STATES = ("running", "stopped")
CREATE_LABEL_LIMIT = 256  # `label` in create_instance's x-input-validation (manage allows 1024)
# Search keys that are not offer fields but the server understands.
SEARCH_EXTRAS = frozenset(
    {
        "datacenter",
        "dph",
        "cuda_vers",
        "dlperf_usd",
        "flops_usd",
        "display_active",
        "flops_per_dphtotal",
        "dlperf_per_dphtotal",
        "dph_total_adj",
    }
)
ORDER_DIRECTIONS = ("asc", "desc")
# List columns the server computes per request: shown, but neither filtered nor sorted on.
COMPUTED_COLUMNS = frozenset(
    {
        "dph_total",
        "dph_base",
        "storage_total_cost",
        "uptime_mins",
        "time_remaining",
        "client_run_time",
        "status_msg",
        "is_bid",
    }
)


def _bad_key(key: str) -> Reply:
    return error(400, "invalid_request", f"Error in query parameters: {key} is not a valid search key")


def create_body(body: Mapping[str, Any], ask_id: int) -> Reply | None:
    """`runtype` and `target_state` within their enums, the label within 256 characters."""
    runtype = body.get("runtype")
    if runtype is not None and runtype not in RUNTYPES:
        return error(
            400, "invalid_args", f"Invalid args: runtype must be one of {', '.join(RUNTYPES)}", ask_id=ask_id
        )
    state = body.get("target_state")
    if state is not None and state not in TARGET_STATES:
        return error(
            400, "invalid_args", "Invalid args: target_state must be running or stopped", ask_id=ask_id
        )
    label = body.get("label")
    if isinstance(label, str) and len(label) > CREATE_LABEL_LIMIT:
        return error(
            400,
            "invalid_args",
            f"Invalid args: label is {len(label)} characters; the limit is {CREATE_LABEL_LIMIT}",
            ask_id=ask_id,
        )
    return None


def search_query(query: Mapping[str, Any], fields: Iterable[str], options: Iterable[str]) -> Reply | None:
    """Every filter key a known offer field, and `order` a list of [field, asc|desc] pairs."""
    known = set(fields) | SEARCH_EXTRAS | set(options)
    for key in query:
        if key not in known:
            return _bad_key(str(key))
    order = query.get("order")
    if order is not None:
        pairs = isinstance(order, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[1] in ORDER_DIRECTIONS
            for p in order
        )
        if not pairs:
            return error(400, "invalid_request", 'order must be a list of [field, "asc"|"desc"] pairs')
        for field, _direction in order:
            if field not in known:
                return _bad_key(field)
    return None


def list_columns(
    filters: Mapping[str, Any], order: Iterable[tuple[str, bool]], columns: Iterable[str]
) -> Reply | None:
    """Filters and `order_by` only on stored columns: a computed or unknown one answers 400."""
    stored = set(columns) - COMPUTED_COLUMNS
    for key in filters:
        if key not in stored:
            return _bad_key(key)
    for field, _descending in order:
        if field not in stored:
            return error(
                400, "invalid_request", f"Error in query parameters: {field} is not a valid order_by column"
            )
    return None


def current_user(api_key: str) -> Reply:
    """`GET /api/v0/users/current`: the account, without its key."""
    return Reply(
        200,
        {
            "id": 1,
            "key_id": 1,
            "email": "emulator@127.0.0.1",
            "balance": 100.0,
            "ssh_key": "",
            "sid": "emulator",
            "username": "emulator",
            "api_key_name": "emulator" if api_key else "",
        },
    )
