"""A small typed client for the parts of the Vast.ai REST API that vastjob uses.

The key travels only in the `Authorization` header, never in a URL, and is scrubbed from every error text.
Idempotent calls retry 429, 5xx, connection errors and answers that are not the documented JSON with
exponential backoff and jitter; a create is sent once, and the caller decides what a lost or unreadable
answer means (see `vastjob.vast.create`). What a success answer means is decided in `vastjob.vast.shapes`.
Requests to Vast itself are paced to its documented per-endpoint intervals (`vastjob.vast.pacing`).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from vastjob.errors import ApiError
from vastjob.vast import shapes
from vastjob.vast.account import DEFAULT_URL, ApiKey, refused_key_hint
from vastjob.vast.answers import error_fields, opt_str, reset_text, transport_problem
from vastjob.vast.pacing import Pacer
from vastjob.vast.shapes import AnswerLost, BadAnswer, ContractBesideError

__all__ = ["AnswerLost", "BadAnswer", "ContractBesideError", "RetryPolicy", "VastClient"]

_PAGE = 25  # the v1 list's largest page
MAX_PAGES = 40  # 1000 instances: a list longer than that is not an answer vastjob can decide on
CONNECT_TIMEOUT = 5.0  # a host that answers at all answers a connect within this; no network fails fast


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently idempotent calls are retried."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0


class VastClient:
    """The Vast API over httpx; pass `sleep`, `rng` or `transport` to make tests fast and deterministic.

    Each retry after a failure with no answer is announced through `notify` (stderr by default), so a missing
    network shows within seconds. `key_origin` (else an `ApiKey`'s own) names the key in a 401/403 message.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
        log_poll_delay: float = 1.0,
        notify: Callable[[str], None] = _to_stderr,
        key_origin: str | None = None,
        pacing: Mapping[str, float] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.key_origin = key_origin or (api_key.origin if isinstance(api_key, ApiKey) else None)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng
        self._log_poll_delay = log_poll_delay
        self._notify = notify
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self._http = httpx.Client(timeout=self.timeout, transport=transport, follow_redirects=False)
        self._pacer = Pacer.for_url(self.base_url, pacing, sleep)

    def __enter__(self) -> VastClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- the endpoints ---------------------------------------------------------------------------------

    def search_offers(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Offers matching a query in the API's own units (`POST /api/v0/bundles/`)."""
        body = self._call("POST", "/api/v0/bundles/", json_body=dict(query))
        return shapes.rows(body, "offers", "the offer search")

    def create_instance(self, offer_id: int, body: Mapping[str, Any]) -> int:
        """Rent an offer once (no retry); returns the new instance id.

        A lost answer, or one that cannot be read, raises `AnswerLost` (an instance may exist); an error
        that names an instance anyway raises `ContractBesideError`.
        """
        answer = self._call("PUT", f"/api/v0/asks/{int(offer_id)}/", json_body=dict(body), idempotent=False)
        contract = shapes.contract(answer)
        if contract is not None and answer.get("success") is not False:
            return contract
        error, msg = opt_str(answer.get("error")), self._scrub(opt_str(answer.get("msg")))
        if contract is not None:
            raise ContractBesideError(
                f"create on offer {offer_id} said it failed ({error or 'no reason'}) and yet named instance "
                f"{contract}",
                contract=contract,
                error=error,
                msg=msg,
            )
        if answer.get("success") is False and error:
            raise ApiError(
                f"create on offer {offer_id} was refused: {error} {msg or ''}".strip(), error=error, msg=msg
            )
        raise AnswerLost(
            f"create on offer {offer_id} answered without an instance id: it may have made one",
            error="bad_answer",
            msg=msg,
        )

    def list_instances(self, select_filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every instance of the account matching the filters, following the v1 list's pages."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            params = {
                "select_filters": json.dumps(dict(select_filters or {})),
                "order_by": json.dumps([{"col": "id", "dir": "asc"}]),
                "limit": str(_PAGE),
            }
            if token:
                params["after_token"] = token
            body = self._call("GET", "/api/v1/instances/", params=params)
            found.extend(shapes.rows(body, "instances", "the instance list"))
            token = shapes.next_token(body, seen)
            if not token:
                return found
        raise BadAnswer(
            f"the instance list had more than {MAX_PAGES} pages ({len(found)} instances so far)",
            error="bad_answer",
            msg="too many pages",
        )

    def show_instance(self, instance_id: int) -> dict[str, Any] | None:
        """One instance, or None once it is destroyed."""
        body = self._call("GET", f"/api/v0/instances/{int(instance_id)}/", params={"owner": "me"})
        return shapes.shown(body, int(instance_id), f"show instance {instance_id}")

    def set_state(self, instance_id: int, state: str) -> None:
        """Stop (`stopped`) or start (`running`) an instance."""
        body = self._call("PUT", f"/api/v0/instances/{int(instance_id)}/", json_body={"state": state})
        shapes.done(body, f"set instance {instance_id} {state}")

    def relabel(self, instance_id: int, label: str) -> None:
        """Set an instance's label."""
        body = self._call("PUT", f"/api/v0/instances/{int(instance_id)}/", json_body={"label": label})
        shapes.done(body, f"relabel instance {instance_id}")

    def destroy_instance(self, instance_id: int) -> None:
        """Destroy an instance, ending all its charges; destroying a gone one is not an error."""
        try:
            body = self._call("DELETE", f"/api/v0/instances/{int(instance_id)}/", json_body={})
        except ApiError as err:
            if err.status != 404:
                raise
            return
        shapes.done(body, f"destroy instance {instance_id}")

    def instance_logs(self, instance_id: int, tail: int = 100, *, polls: int = 30) -> str:
        """The last `tail` lines of an instance's output: ask for an upload, then fetch its URL."""
        body = self._call(
            "PUT", f"/api/v0/instances/request_logs/{int(instance_id)}/", json_body={"tail": str(tail)}
        )
        url = body.get("result_url")
        if not isinstance(url, str) or not url:
            raise ApiError(
                f"logs of instance {instance_id}: no result_url in the answer",
                msg=self._scrub(opt_str(body.get("msg"))),
            )
        for attempt in range(max(polls, 1)):
            try:
                # The upload URL is not the API: it gets no Authorization header.
                resp = self._http.get(url)
            except httpx.TransportError:
                resp = None
            if resp is not None and resp.status_code == 200:
                return resp.text
            # Uploads are usually ready within a second: poll quickly first, then settle.
            self._sleep(min(self._log_poll_delay, 0.1 * 2**attempt))
        raise ApiError(f"logs of instance {instance_id} were not ready after {polls} tries")

    # -- plumbing --------------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Sleep before retry `attempt` (0-based): exponential, capped, jittered within its upper half."""
        ceiling = min(self.retry.max_delay, self.retry.base_delay * (2**attempt))
        delay = float(ceiling * (0.5 + self._rng() / 2))
        self._sleep(delay)
        return delay

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        attempts = self.retry.attempts if idempotent else 1
        last: ApiError | None = None
        for attempt in range(attempts):
            if attempt:
                self.backoff(attempt - 1)
            self._pacer.wait(method, path)
            try:
                resp = self._http.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json_body,
                    headers={"Authorization": f"Bearer {self._key}"},
                )
            except httpx.TransportError as exc:
                kind = type(exc).__name__
                if not idempotent:
                    raise AnswerLost(
                        f"{method} {path}: the answer was lost ({kind})", error="answer_lost", msg=kind
                    ) from None
                problem = transport_problem(exc, self.timeout)
                text = f"{method} {path}: could not reach {self.base_url}: {problem}"
                last = ApiError(text, error="connection", msg=kind)
                if attempt + 1 < attempts:
                    tries = f"{attempt + 2} of {attempts}"
                    self._notify(f"could not reach {self.base_url}: {problem}; trying again ({tries})")
                continue
            if resp.status_code < 400:
                try:
                    return shapes.json_object(resp, f"{method} {path}")
                except BadAnswer as bad:
                    if not idempotent:
                        raise AnswerLost(
                            f"{bad}: it may have taken effect",
                            status=bad.status,
                            error=bad.error,
                            msg=bad.msg,
                        ) from None
                    last = bad
                    if attempt + 1 < attempts:
                        self._notify(f"{bad}; trying again ({attempt + 2} of {attempts})")
                    continue
            last = self._error(method, path, resp)
            if (
                not (resp.status_code == 429 or resp.status_code >= 500)
                or last.error == "search_quota_exceeded"
            ):
                raise last
        assert last is not None
        if idempotent and attempts > 1:
            hint = "; check the network (and VAST_URL, if set)" if last.error == "connection" else ""
            text = f"{last} (gave up after {attempts} tries){hint}"
            raise ApiError(text, status=last.status, error=last.error, msg=last.msg)
        raise last

    def _error(self, method: str, path: str, resp: httpx.Response) -> ApiError:
        error, msg = error_fields(resp)
        msg = self._scrub(msg)
        if resp.status_code == 429 and error == "search_quota_exceeded":
            reset = reset_text(resp.headers.get("X-RateLimit-Reset"))
            msg = f"{msg or 'daily search quota exceeded'}; {reset}"
        text = f"Vast API {method} {path} failed: {resp.status_code}"
        text += "".join(f" {part}" for part in (error, msg) if part)
        if resp.status_code in (401, 403):
            text += f"\n{refused_key_hint(resp.status_code, self.key_origin)}"
        contract = shapes.contract(shapes.error_body(resp))
        if contract is not None:
            text += f"; yet it named instance {contract}"
            return ContractBesideError(text, contract=contract, status=resp.status_code, error=error, msg=msg)
        return ApiError(text, status=resp.status_code, error=error, msg=msg)

    def _scrub(self, text: str | None) -> str | None:
        if text is None or not self._key:
            return text
        return text.replace(self._key, "***")
