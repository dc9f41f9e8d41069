"""Emulated instances: the state machine, onstart running for real in its sandbox, shims, billing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator import StartEmulator, client_of
from vastjob.emulator import Emulator

KEY = "user-key"


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll until the condition holds; False if it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


pytestmark = pytest.mark.emulator(n_offers=300, api_key=KEY, auto_advance=False, kill_delay=0.3)


def rent(api: httpx.Client, onstart: str, num_gpus: int = 1, **body: Any) -> tuple[int, dict[str, Any]]:
    query = {"num_gpus": {"eq": num_gpus}, "order": [["dph_total", "asc"]], "limit": 1}
    offer = api.post("/api/v0/bundles/", json=query).json()["offers"][0]
    body = {"image": "img", "disk": 10, "onstart": onstart, **body}
    answer = api.put(f"/api/v0/asks/{offer['id']}/", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["new_contract"]), offer


def status(api: httpx.Client, instance_id: int) -> Any:
    return api.get(f"/api/v0/instances/{instance_id}/").json()["instances"]["actual_status"]


def test_the_state_machine_moves_by_hand(emu: Emulator, api: httpx.Client) -> None:
    instance_id, _ = rent(api, "true")
    assert status(api, instance_id) is None
    for step in ("created", "loading", "running", "stopped", "running"):
        emu.advance(instance_id, step)
        assert status(api, instance_id) == step
    with pytest.raises(ValueError, match="unknown status"):
        emu.advance(instance_id, "sleeping")
    emu.advance(instance_id, "destroyed")
    assert api.get(f"/api/v0/instances/{instance_id}/").json() == {"instances": None}


def test_instances_walk_to_running_on_their_own(start_emulator: StartEmulator) -> None:
    emu = start_emulator(n_offers=50, api_key=KEY, step_seconds=0.05)
    with client_of(emu, timeout=5) as api:
        instance_id, _ = rent(api, 'echo up > "$VASTJOB_ROOT/up"')
        seen = {status(api, instance_id)}
        assert wait_for(lambda: seen.add(status(api, instance_id)) or "running" in seen)
        assert seen <= {None, "created", "loading", "running"}
        assert wait_for(lambda: (emu.sandbox / str(instance_id) / "up").exists())
        api.put(f"/api/v0/instances/{instance_id}/", json={"state": "stopped"})
        api.put(f"/api/v0/instances/{instance_id}/", json={"state": "running"})
        assert wait_for(lambda: status(api, instance_id) == "running")


ENV_DUMP = """printf '%s' "${PATH%%:*}" > "$VASTJOB_ROOT/path0"
python3 - <<'EOF'
import json, os
names = ["VASTJOB_ROOT", "VASTJOB_API_URL", "CONTAINER_ID", "CONTAINER_API_KEY", "VAST_CONTAINERLABEL",
         "GPU_COUNT", "PUBLIC_IPADDR", "HOME", "GREETING", "TRICKY"]
info = {n: os.environ.get(n) for n in names}
info["cwd"] = os.getcwd()
path = os.path.join(os.environ["VASTJOB_ROOT"], "env.json")
with open(path + ".part", "w") as out:  # renamed when complete: the test waits for the name
    out.write(json.dumps(info))
os.replace(path + ".part", path)
EOF
"""


def test_onstart_runs_in_its_sandbox_with_the_container_environment(emu: Emulator, api: httpx.Client) -> None:
    env = {"GREETING": "hello there", "TRICKY": "a'b\"c $HOME `x`"}
    instance_id, _ = rent(api, ENV_DUMP, num_gpus=2, env=env)
    emu.advance(instance_id, "running")
    root = emu.sandbox / str(instance_id)
    assert wait_for(lambda: (root / "env.json").exists())
    info = json.loads((root / "env.json").read_text())
    assert info == {
        "VASTJOB_ROOT": str(root),
        "VASTJOB_API_URL": emu.url,
        "CONTAINER_ID": str(instance_id),
        "CONTAINER_API_KEY": emu.instances[instance_id].api_key,
        "VAST_CONTAINERLABEL": f"C.{instance_id}",
        "GPU_COUNT": "2",
        "PUBLIC_IPADDR": "127.0.0.1",
        "HOME": str(root / "root"),
        "GREETING": "hello there",
        "TRICKY": env["TRICKY"],
        "cwd": str(root),
    }
    assert (root / "path0").read_text() == str(root / "bin"), "the shims come first on PATH"
    assert (root / "root" / "onstart.sh").read_text() == ENV_DUMP


SHIMS = """set -e
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits > "$VASTJOB_ROOT/gpus.txt"
nvidia-smi > "$VASTJOB_ROOT/table.txt"
for pkg in git rclone; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing="$missing $pkg"
done
apt-get update
apt-get install -y $missing
dpkg-query -W -f='${Status}' git > "$VASTJOB_ROOT/after.txt"
echo done > "$VASTJOB_ROOT/finished"
"""


def test_shims_report_the_offer_and_record_apt(emu: Emulator, api: httpx.Client) -> None:
    instance_id, offer = rent(api, SHIMS, num_gpus=2)
    emu.advance(instance_id, "running")
    root = emu.sandbox / str(instance_id)
    assert wait_for(lambda: (root / "finished").exists()), emu.instances[instance_id].container.tail(None)
    line = f"NVIDIA {offer['gpu_name']}, {offer['gpu_ram']}"
    assert (root / "gpus.txt").read_text() == f"{line}\n{line}\n"
    assert offer["gpu_name"] in (root / "table.txt").read_text()
    assert (root / ".emulator" / "apt-get.log").read_text() == "update\ninstall -y git rclone\n"
    assert (root / "after.txt").read_text() == "install ok installed"


LOOP = """echo start >> "$VASTJOB_ROOT/starts"
nohup bash -c 'while :; do echo beat >> "$VASTJOB_ROOT/beats"; sleep 0.02; done' >/dev/null 2>&1 &
echo "onstart running as $$"
wait
"""


def beats(root: Path) -> int:
    path = root / "beats"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_stop_kills_the_process_group_and_start_reruns_onstart(emu: Emulator, api: httpx.Client) -> None:
    instance_id, _ = rent(api, LOOP)
    root = emu.sandbox / str(instance_id)
    emu.advance(instance_id, "running")
    assert wait_for(lambda: beats(root) > 3)
    assert api.put(f"/api/v0/instances/{instance_id}/", json={"state": "stopped"}).json()["success"]
    stopped_at = beats(root)
    time.sleep(0.2)
    assert beats(root) == stopped_at, "the background loop died with its container"
    assert not emu.instances[instance_id].container.is_alive()
    api.put(f"/api/v0/instances/{instance_id}/", json={"state": "running"})
    emu.advance(instance_id, "running")
    assert wait_for(lambda: beats(root) > stopped_at + 3)
    assert (root / "starts").read_text() == "start\nstart\n"
    assert emu.instances[instance_id].starts == 2
    api.request("DELETE", f"/api/v0/instances/{instance_id}/", json={})
    destroyed_at = beats(root)
    time.sleep(0.2)
    assert beats(root) == destroyed_at
    assert "onstart running as" in emu.instances[instance_id].container.tail(None)


SELF_STOP = """curl -s -X PUT -H "Authorization: Bearer $CONTAINER_API_KEY" \\
  -H 'Content-Type: application/json' \\
  -d '{"state": "stopped"}' "$VASTJOB_API_URL/api/v0/instances/$CONTAINER_ID/" > "$VASTJOB_ROOT/answer.json"
sleep 3
echo survived > "$VASTJOB_ROOT/survived"
"""


def test_an_instance_stops_itself_and_gets_the_answer_first(emu: Emulator, api: httpx.Client) -> None:
    instance_id, _ = rent(api, SELF_STOP)
    root = emu.sandbox / str(instance_id)
    emu.advance(instance_id, "running")
    assert wait_for(lambda: (root / "answer.json").exists() and (root / "answer.json").read_text() != "")
    assert json.loads((root / "answer.json").read_text()) == {"success": True}
    assert status(api, instance_id) == "stopped"
    assert wait_for(lambda: not emu.instances[instance_id].container.is_alive())
    assert not (root / "survived").exists()


def test_billing_counts_gpu_time_when_running_and_disk_time_always(emu: Emulator, api: httpx.Client) -> None:
    instance_id, _ = rent(api, "true", num_gpus=2)
    emu.advance(instance_id, "running")
    time.sleep(0.15)
    running = emu.billing(instance_id)
    assert running["running_seconds"] > 0 and running["gpu_seconds"] == pytest.approx(
        running["running_seconds"] * 2, abs=0.01
    )
    api.put(f"/api/v0/instances/{instance_id}/", json={"state": "stopped"})
    first = emu.billing(instance_id)
    time.sleep(0.15)
    second = emu.billing(instance_id)
    assert second["running_seconds"] == first["running_seconds"], "no GPU billing while stopped"
    assert second["storage_seconds"] > first["storage_seconds"], "the disk still bills"
    assert second["cost"] > first["cost"]
    api.request("DELETE", f"/api/v0/instances/{instance_id}/", json={})
    ended = emu.billing(instance_id)
    time.sleep(0.1)
    assert emu.billing(instance_id) == ended, "destroy ends every charge"
    meter = httpx.get(f"{emu.url}/_emulator/billing").json()["instances"]
    assert meter == [ended]


def test_stopping_the_emulator_kills_running_onstarts(tmp_path: Path) -> None:
    emu = Emulator(n_offers=20, sandbox=tmp_path, api_key=KEY, auto_advance=False).start()
    with client_of(emu, timeout=5) as api:
        instance_id, _ = rent(api, LOOP)
    emu.advance(instance_id, "running")
    root = tmp_path / str(instance_id)
    assert wait_for(lambda: beats(root) > 2)
    emu.stop()
    stopped_at = beats(root)
    time.sleep(0.2)
    assert beats(root) == stopped_at


SELF_DESTROY = """curl -s -X DELETE -H "Authorization: Bearer $CONTAINER_API_KEY" \\
  "$VASTJOB_API_URL/api/v0/instances/$CONTAINER_ID/" > "$VASTJOB_ROOT/answer.json"
while :; do echo beat >> "$VASTJOB_ROOT/beats"; sleep 0.02; done
"""


def test_no_process_outlives_the_emulator_even_a_pending_self_destroy(tmp_path: Path) -> None:
    emu = Emulator(n_offers=20, sandbox=tmp_path, api_key=KEY, auto_advance=False, kill_delay=60).start()
    with client_of(emu, timeout=5) as api:
        instance_id, _ = rent(api, SELF_DESTROY)
        emu.advance(instance_id, "running")
        root = tmp_path / str(instance_id)
        assert wait_for(lambda: beats(root) > 2)
        assert json.loads((root / "answer.json").read_text())["success"] is True
        assert emu.instances[instance_id].actual_status == "destroyed"
    emu.stop()
    stopped_at = beats(root)
    time.sleep(0.2)
    assert beats(root) == stopped_at
