"""The HTTP client against the real emulator: auth, retries and their limits, errors, logs, key handling."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.support.wire import Recorder, fast_client
from vastjob.emulator import Emulator
from vastjob.errors import ApiError, UserError
from vastjob.vast.account import resolve_api_key, resolve_base_url
from vastjob.vast.client import AnswerLost, RetryPolicy, VastClient

QUERY = {"gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": 1}, "limit": 5, "order": [["dph_total", "asc"]]}


pytestmark = pytest.mark.emulator(n_offers=300, auto_advance=False, log_delay=0.1)


def test_key_resolution_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "vastai").mkdir(parents=True)
    env = {"HOME": str(home)}
    with pytest.raises(UserError, match="no Vast API key"):
        resolve_api_key(None, env)
    (home / ".vast_api_key").write_text("from-legacy-file\n")
    assert resolve_api_key(None, env) == "from-legacy-file"
    (home / ".config" / "vastai" / "vast_api_key").write_text("from-config\n")
    assert resolve_api_key(None, env) == "from-config"
    assert resolve_api_key(None, {**env, "VAST_API_KEY": "from-env"}) == "from-env"
    assert resolve_api_key("from-flag", {**env, "VAST_API_KEY": "from-env"}) == "from-flag"
    assert resolve_base_url({}) == "https://console.vast.ai"
    assert resolve_base_url({"VAST_URL": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9"
    with pytest.raises(UserError, match="use https"):
        resolve_base_url({"VAST_URL": "http://vast.example.invalid"})
    with pytest.raises(UserError, match="not an http"):
        resolve_base_url({"VAST_URL": "console.vast.ai"})


@pytest.mark.parametrize("key", ["cl\u00e9-7a1f", "two\nlines", "with space"])
def test_a_malformed_key_is_a_user_error_that_does_not_show_it(tmp_path: Path, key: str) -> None:
    with pytest.raises(UserError, match="VAST_API_KEY contains") as info:
        resolve_api_key(None, {"HOME": str(tmp_path), "VAST_API_KEY": key})
    assert key not in str(info.value)
    keyfile = tmp_path / ".vast_api_key"
    keyfile.write_text(key)
    with pytest.raises(UserError, match="contains"):
        resolve_api_key(None, {"HOME": str(tmp_path)})


def test_search_sends_the_key_only_as_a_bearer_header(emu: Emulator) -> None:
    rec = Recorder()
    with fast_client(emu.url, emu.api_key, rec) as client:
        offers = client.search_offers(QUERY)
    assert offers and all(o["gpu_name"] == "RTX 4090" for o in offers)
    (sent,) = rec.sent
    assert sent.headers["authorization"] == f"Bearer {emu.api_key}"
    assert emu.api_key not in sent.url and "api_key" not in sent.url


def test_a_wrong_key_is_an_api_error_without_the_key(emu: Emulator) -> None:
    with fast_client(emu.url, "wrong-key-abc") as client, pytest.raises(ApiError) as info:
        client.search_offers(QUERY)
    assert info.value.status == 401 and info.value.error == "auth_error"
    assert "wrong-key-abc" not in str(info.value) and "wrong-key-abc" not in str(info.value.to_json())


@pytest.mark.parametrize("body", ["text", "detail", "error"])
def test_each_429_form_is_retried_with_backoff(emu: Emulator, body: str) -> None:
    emu.faults.update({"rate_limit": 3, "rate_limit_body": body})
    sleeps: list[float] = []
    with fast_client(emu.url, emu.api_key, sleeps=sleeps) as client:
        assert client.search_offers(QUERY)
    assert len(sleeps) == 3
    assert sleeps[0] <= sleeps[2]  # the ceiling doubles; jitter keeps each within [ceiling/2, ceiling]


def test_5xx_is_retried_and_gives_up_with_the_status(emu: Emulator) -> None:
    emu.faults.update({"server_errors": 2, "server_error_status": 503})
    with fast_client(emu.url, emu.api_key) as client:
        assert client.list_instances() == []
    emu.faults.update({"server_errors": 10})
    with fast_client(emu.url, emu.api_key, attempts=3) as client, pytest.raises(ApiError) as info:
        client.list_instances()
    assert info.value.status == 503 and "gave up after 3 tries" in str(info.value)
    assert emu.faults.server_errors == 7


def test_the_daily_search_quota_is_not_retried_and_says_when_it_resets(emu: Emulator) -> None:
    emu.faults.update({"search_quota": True})
    sleeps: list[float] = []
    with fast_client(emu.url, emu.api_key, sleeps=sleeps) as client, pytest.raises(ApiError) as info:
        client.search_offers(QUERY)
    assert sleeps == []
    assert info.value.status == 429 and info.value.error == "search_quota_exceeded"
    assert "resets at" in str(info.value) and "UTC" in str(info.value)


def test_a_lost_create_answer_is_reported_not_resent(emu: Emulator) -> None:
    emu.faults.update({"lose_create": 1})
    rec = Recorder()
    with fast_client(emu.url, emu.api_key, rec) as client:
        offer = client.search_offers(QUERY)[0]
        with pytest.raises(AnswerLost):
            client.create_instance(offer["id"], {"client_id": "me", "image": "x", "disk": 10, "label": "l"})
    assert rec.paths("PUT").count(f"/api/v0/asks/{offer['id']}/") == 1
    assert len([i for i in emu.instances.values() if not i.destroyed]) == 1


def test_instance_round_trip_and_logs(emu: Emulator) -> None:
    with fast_client(emu.url, emu.api_key) as client:
        offer = client.search_offers(QUERY)[0]
        iid = client.create_instance(
            offer["id"],
            {
                "client_id": "me",
                "image": "x",
                "disk": 10,
                "label": "a",
                "onstart": "echo hello from the container; sleep 30",
            },
        )
        assert client.show_instance(iid)["label"] == "a"  # type: ignore[index]
        # Relabelled over the wire, as the Vast CLI does it (vastjob itself never relabels).
        httpx.put(
            f"{emu.url}/api/v0/instances/{iid}/",
            json={"label": "b"},
            headers={"Authorization": f"Bearer {emu.api_key}"},
        ).raise_for_status()
        assert [i["id"] for i in client.list_instances({"label": {"eq": "b"}})] == [iid]
        emu.advance(iid, "running")
        text = ""
        for _ in range(50):
            text = client.instance_logs(iid, tail=10)
            if "hello" in text:
                break
        assert "hello from the container" in text
        client.set_state(iid, "stopped")
        assert client.show_instance(iid)["actual_status"] == "stopped"  # type: ignore[index]
        client.destroy_instance(iid)
        assert client.show_instance(iid) is None
        client.destroy_instance(iid)  # already gone: not an error


def test_paging_follows_next_token(emu: Emulator) -> None:
    with fast_client(emu.url, emu.api_key) as client:
        offers = client.search_offers({**QUERY, "limit": 30, "num_gpus": {"gte": 1}})
        ids = [
            client.create_instance(o["id"], {"client_id": "me", "image": "x", "disk": 10, "label": "p"})
            for o in offers[:27]
        ]
        assert [i["id"] for i in client.list_instances()] == sorted(ids)


def test_an_unreachable_server_is_an_api_error(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with (
        fast_client("http://127.0.0.1:9", "k", sleeps=sleeps, attempts=2) as client,
        pytest.raises(ApiError, match="could not reach"),
    ):
        client.list_instances()
    assert len(sleeps) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_announced_at_each_try_and_named_in_the_error() -> None:
    notices: list[str] = []
    url = f"http://127.0.0.1:{_closed_port()}"
    # `notify` is what prints each try on stderr; here it gathers them.
    client = VastClient("k", url, retry=RetryPolicy(attempts=3, base_delay=0.001), notify=notices.append)
    with client, pytest.raises(ApiError) as info:
        client.search_offers(QUERY)
    assert [n.rsplit("(", 1)[-1] for n in notices] == ["2 of 3)", "3 of 3)"]
    assert all(n.startswith(f"could not reach {url}: cannot connect (") for n in notices)
    text = str(info.value)
    assert "cannot connect" in text and "gave up after 3 tries" in text and "check the network" in text


def test_a_server_that_never_answers_is_a_timeout_said_as_such() -> None:
    notices: list[str] = []
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = VastClient(
            "k", url, timeout=0.2, retry=RetryPolicy(attempts=2, base_delay=0.001), notify=notices.append
        )
        with client, pytest.raises(ApiError) as info:
            client.list_instances()
    assert notices == [f"could not reach {url}: no answer within 0.2 s; trying again (2 of 2)"]
    assert "no answer within 0.2 s (gave up after 2 tries)" in str(info.value)


@pytest.mark.parametrize(
    ("flag", "env", "named"),
    [("wrong-flag-key", {}, "--api-key"), (None, {"VAST_API_KEY": "wrong-env-key"}, "$VAST_API_KEY")],
)
def test_a_refused_key_names_its_source_and_points_to_local(
    emu: Emulator, tmp_path: Path, flag: str | None, env: dict[str, str], named: str
) -> None:
    key = resolve_api_key(flag, {"HOME": str(tmp_path), **env})
    with fast_client(emu.url, key) as client, pytest.raises(ApiError) as info:
        client.search_offers(QUERY)
    text = str(info.value)
    assert info.value.status == 401 and f"the API key from {named} was refused" in text
    assert "vastjob apply JOB --local" in text and key not in text and key not in repr(key)


def test_a_refused_key_from_a_file_names_the_file_and_a_container_key_gets_403(
    emu: Emulator, tmp_path: Path
) -> None:
    keyfile = tmp_path / ".config" / "vastai" / "vast_api_key"
    keyfile.parent.mkdir(parents=True)
    keyfile.write_text("wrong-file-key\n")
    from_file = resolve_api_key(None, {"HOME": str(tmp_path)})
    with (
        fast_client(emu.url, from_file) as client,
        pytest.raises(ApiError, match=f"the API key from {keyfile} was refused"),
    ):
        client.list_instances()
    with fast_client(emu.url, emu.api_key) as client:
        offer = client.search_offers(QUERY)[0]
        iid = client.create_instance(offer["id"], {"client_id": "me", "image": "x", "disk": 10, "label": "c"})
    container_key = emu.instances[iid].api_key
    with fast_client(emu.url, container_key) as client, pytest.raises(ApiError) as info:
        client.list_instances()
    assert info.value.status == 403 and "the API key may not do this" in str(info.value)
    assert "--local" in str(info.value) and container_key not in str(info.value)
