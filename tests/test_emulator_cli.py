"""`vastjob emulator` as a user runs it: a real process that serves until Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from vastai import VastAI

from vastjob.emulator import generate_offers

VASTJOB = [sys.executable, "-c", "from vastjob.cli import main; main()"]


def wait_status(sdk: VastAI, instance_id: int, wanted: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (sdk.show_instance(instance_id) or {}).get("actual_status") == wanted:
            return True
        time.sleep(0.05)
    return False


def read_json_block(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("}"):
            break
    result: dict[str, object] = json.loads("".join(lines))
    return result


def test_serves_the_sdk_until_interrupted(tmp_path: Path) -> None:
    offers = tmp_path / "offers.json"
    offers.write_text(json.dumps({"offers": generate_offers(3, 40)}))
    proc = subprocess.Popen(
        [
            *VASTJOB,
            "emulator",
            "--offers",
            str(offers),
            "--sandbox",
            str(tmp_path / "sb"),
            "--api-key",
            "k",
            "--faults",
            "rate_limit=1,route=search",
            "--step-seconds",
            "0.05",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = read_json_block(proc)
        assert info["api_key"] == "k" and info["offers"] == 40 and info["sandbox"] == str(tmp_path / "sb")
        url = str(info["url"])
        headers = {"Authorization": "Bearer k"}
        first = httpx.post(f"{url}/api/v0/bundles/", json={"limit": 100}, headers=headers)
        assert first.status_code == 429, "the --faults knob is set"
        found = httpx.post(
            f"{url}/api/v0/bundles/", json={"limit": 100, "verified": {"in": [True, False]}}, headers=headers
        ).json()["offers"]
        assert len(found) == 40
        sdk = VastAI(api_key="k", server_url=url, retry=1)
        offer = sdk.search_offers("num_gpus>=1", order="dph_total", limit=1)[0]
        instance_id = sdk.create_instance(offer["id"], image="x", disk=10, onstart_cmd="true")["new_contract"]
        assert wait_status(sdk, instance_id, "running")
        assert sdk.stop_instance(instance_id) == sdk.start_instance(instance_id) == {"success": True}
        assert wait_status(sdk, instance_id, "running")
        assert sdk.destroy_instance(instance_id)["success"] is True
        assert sdk.show_instance(instance_id) is None
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_bad_options_are_user_errors(tmp_path: Path) -> None:
    bad_faults = subprocess.run(
        [*VASTJOB, "emulator", "--faults", "explode=1"], capture_output=True, text=True, timeout=60
    )
    assert bad_faults.returncode == 1 and "unknown fault 'explode'" in bad_faults.stderr
    assert "Traceback" not in bad_faults.stderr
    offers = tmp_path / "offers.json"
    offers.write_text("[1, 2]")
    bad_offers = subprocess.run(
        [*VASTJOB, "emulator", "--offers", str(offers)], capture_output=True, text=True, timeout=60
    )
    assert bad_offers.returncode == 1 and "--offers" in bad_offers.stderr
