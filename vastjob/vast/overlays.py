"""The overlay endpoints (`/api/v0/overlay/`) as vastjob uses them: list, find, create once, delete, and
the overlays of a job once no instance is on them. The answers' shapes were not seen on a real account
(docs/multinode.md): an answer in another shape stops an apply before any node runs."""

from __future__ import annotations

from typing import Any

from vastjob.errors import ApiError, UserError
from vastjob.vast.client import VastClient


def list_overlays(client: VastClient) -> list[dict[str, Any]]:
    """The account's overlays (`GET /api/v0/overlay/`): each with its name, cluster, subnet, instances."""
    answer = client._call("GET", "/api/v0/overlay/")
    found = answer.get("overlays", [])
    return [o for o in found if isinstance(o, dict)] if isinstance(found, list) else []


def find_overlay(client: VastClient, name: str) -> dict[str, Any] | None:
    """The overlay of this name, or None."""
    return next((o for o in list_overlays(client) if o.get("name") == name), None)


def ensure_overlay(client: VastClient, cluster_id: int, name: str) -> dict[str, Any]:
    """The overlay `name` on `cluster_id`, created unless it exists; ApiError when its subnet is unknown."""
    found = find_overlay(client, name)
    if found is not None and found.get("cluster_id") not in (None, cluster_id):
        raise UserError(
            f"overlay {name} exists on cluster {found.get('cluster_id')}, not {cluster_id}: "
            f"delete it (`vastjob destroy`) and apply again"
        )
    if found is None:
        client._call(
            "POST", "/api/v0/overlay/", json_body={"cluster_id": cluster_id, "name": name}, idempotent=False
        )
        found = find_overlay(client, name)
    if found is None or not isinstance(found.get("subnet"), str):
        raise ApiError(f"overlay {name} was asked for, but the list shows no subnet for it", error="overlay")
    return found


def delete_overlay(client: VastClient, name: str) -> None:
    """Delete the overlay (gone already is not an error)."""
    try:
        client._call("DELETE", "/api/v0/overlay/", json_body={"overlay_name": name})
    except ApiError as err:
        if err.status != 404:
            raise


def delete_job_overlays(client: VastClient, name: str) -> list[str]:
    """Delete the overlays of job `name` (any spec of it) that no instance is on any more; their names."""
    prefix = f"vastjob-{name}-"
    gone = []
    for net in list_overlays(client):
        net_name = str(net.get("name") or "")
        # The hash after the prefix has no dash: another job's name that merely starts alike does.
        if net_name.startswith(prefix) and "-" not in net_name[len(prefix) :] and not net.get("instances"):
            delete_overlay(client, net_name)
            gone.append(net_name)
    return gone
