"""Renting at most one instance per apply: the create request's body, the retries that cannot make a
second instance, and the ledger of what an apply has put in play (what a failure or Ctrl-C leaves behind).

Every create of one apply carries the same nonce in its label. When a create's outcome is unknown (a 5xx,
a lost answer, an answer that cannot be read), nothing more is sent until a listing shows the instance
(it is adopted) or has been read `settle_s` after the create without showing it; only then is the same
offer asked again, and a resend that finds the offer gone ends the apply rather than try another offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastjob.compile.transport import DPH_ENV, dph_text
from vastjob.errors import ApiError
from vastjob.spec.model import JobSpec
from vastjob.vast.client import AnswerLost, ContractBesideError, VastClient
from vastjob.vast.instance import Instance
from vastjob.vast.proof import Looker, destroy_sure, nonce_of
from vastjob.vast.query import Candidate

if TYPE_CHECKING:
    from vastjob.compile.transport import Payload


def create_body(job: JobSpec, cand: Candidate, payload: Payload, label: str | None = None) -> dict[str, Any]:
    """The create request: the payload's onstart, and its env (the secrets, as one entry each or in parts,
    the script's parts in the chunked form, the API base URL the script calls back to, and, with `logs:`,
    the offer's $/h, which the script writes into the result it uploads)."""
    env = dict(payload.env)
    # The offer's price is known only here, per candidate (never in the spec or its hash); the budget
    # counted an entry of its fixed width. One too wide to write is left out, never cut.
    dph = dph_text(cand.price_per_hour)
    if dph is not None and any(e.name == DPH_ENV for e in payload.budget.entries):
        env[DPH_ENV] = dph
    return {
        "client_id": "me",
        "image": job.instance.image,
        "disk": job.instance.disk_gb,
        "label": label or job.label,
        "onstart": payload.onstart,
        "env": env,
        "price": cand.bid,
        "runtype": "ssh",
        "cancel_unavail": True,
        "image_login": None,
    }


@dataclass
class Ledger:
    """Instances an apply created and has not destroyed (and whether their price is confirmed), the offer
    of a create whose outcome is unknown, and the old instances `--replace` has not destroyed yet."""

    job_name: str
    label: str = ""  # the label this apply's creates carry (its nonce in it)
    left: list[int] = field(default_factory=list)
    priced: set[int] = field(default_factory=set)
    in_flight: int | None = None
    kept: list[int] = field(default_factory=list)

    def note(self) -> str:
        """What an apply that stops here leaves behind, and how to see or remove it; empty when nothing."""
        name = self.job_name
        notes = []
        for instance_id in self.left:
            price = "" if instance_id in self.priced else ", its price not confirmed (apply checks it)"
            notes.append(
                f"instance {instance_id} was created and is still there, billed{price}: `vastjob status "
                f"{name}` shows it, `vastjob destroy {name}` removes it"
            )
        if self.in_flight is not None:
            notes.append(
                f"a create on offer {self.in_flight} was sent and its outcome is unknown: it may have made "
                f"an instance labelled {self.label}; `vastjob status {name}` shows it once Vast lists it, "
                f"`vastjob destroy {name}` removes it"
            )
        if self.kept:
            notes.append(f"the instance it was to replace, {', '.join(map(str, self.kept))}, was kept")
        return "; ".join(notes)


def offer_specific(err: ApiError) -> bool:
    """Whether a 400 on create is about this offer (its disk, its minimum bid), so another may take it."""
    if err.status != 400:
        return False
    text = f"{err.error or ''} {err.msg or ''}".lower()
    return err.error == "invalid_price" or any(word in text for word in ("disk", "bid", "price"))


@dataclass
class Creator:
    """Sends the creates of one apply, at most `budget` requests in all and `attempts` on one offer."""

    client: VastClient
    looker: Looker
    ledger: Ledger
    say: Callable[[str], None]
    sleep: Callable[[float], None]
    budget: int = 10
    attempts: int = 6
    sent: int = 0

    def create(self, cand: Candidate, body: Mapping[str, Any]) -> int | None:
        """The new instance's id, or None when this offer cannot be had (gone, or refused for itself).

        Raises when the outcome of a create cannot be known: the ledger then names what may exist.
        """
        offer = cand.offer.id
        doubt = False  # a create on this offer may have acted without a listing showing it
        for attempt in range(1, self.attempts + 1):
            if self.sent >= self.budget:
                raise ApiError(
                    f"gave up after {self.sent} create requests (at most {self.budget} an apply)",
                    error="create_budget",
                )
            self.sent += 1
            self.ledger.in_flight = offer  # until an answer says what became of it
            try:
                return self._settled(self.client.create_instance(offer, body))
            except ContractBesideError as err:
                self.ledger.in_flight = None if not doubt else offer
                self._discard(err.contract, f"the create on offer {offer} failed ({err.error})")
                if doubt:
                    return self._proven(offer, "after a failed create beside an earlier unknown one")
                return None
            except AnswerLost as err:
                problem = f"the answer to the create on offer {offer} was lost or unreadable ({err.msg})"
            except ApiError as err:
                if err.status == 429 and err.error != "search_quota_exceeded":
                    self.ledger.in_flight = offer if doubt else None
                    self._retry(f"the create on offer {offer} was refused (429 {err.error})", attempt)
                    continue
                gone = err.status in (404, 410) or err.error == "no_such_ask"
                if doubt and (gone or offer_specific(err)):
                    # The earlier create may be what took the offer: never move on to another one blind.
                    return self._proven(offer, f"offer {offer} answered {err.status} {err.error} to a resend")
                if gone or offer_specific(err):
                    self.ledger.in_flight = None
                    why = "is gone" if gone else "refused this create"
                    self.say(f"offer {offer} {why} ({err.status} {err.error}); trying the next")
                    return None
                if err.status is None or err.status < 500:
                    self.ledger.in_flight = None if not doubt else offer
                    raise
                problem = f"the create on offer {offer} answered {err.status} {err.error}"
            # The outcome is unknown: find the instance by the nonce before anything is sent again.
            found = self._find(problem)
            if found is not None:
                return found
            doubt = True
            self._retry(f"{problem}; no instance of this apply was listed", attempt)
        raise ApiError(f"create on offer {offer} failed {self.attempts} times", error="create_failed")

    def _retry(self, what: str, attempt: int) -> None:
        """Announce a resend (what failed, the attempt, the wait) and wait."""
        policy = self.client.retry
        delay = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        self.say(f"{what}; create attempt {attempt + 1} of {self.attempts} in {delay:.1f} s")
        self.sleep(delay)

    def _find(self, problem: str) -> int | None:
        """This apply's instance once a listing shows it (within settle_s), else None."""
        self.say(f"{problem}: looking for an instance of this apply by its label before anything else")
        listed = self.looker.until(lambda found: bool(self._mine(found)), "the instance of this apply")
        if listed is None:
            return None
        kept, *extra = sorted(self._mine(listed))
        for other in extra:  # never expected (resends go to one offer), and never left billing if seen
            self._discard(other, "a second create of this apply")
        return self._settled(kept)

    def _proven(self, offer: int, why: str) -> int:
        """After a doubt: the instance a listing shows, or an error that names what may be billing."""
        found = self._find(why)
        if found is not None:
            return found
        self.ledger.in_flight = offer
        raise ApiError(
            f"{why}, and no listing shows the instance an earlier create may have made: stopped without "
            "trying another offer",
            error="create_unconfirmed",
        )

    def _mine(self, listed: list[Instance]) -> list[int]:
        return [i.id for i in listed if nonce_of(i) == self.looker.nonce]

    def _settled(self, instance_id: int) -> int:
        self.ledger.in_flight = None
        return instance_id

    def _discard(self, instance_id: int, why: str) -> None:
        """Destroy an instance the apply does not want, for sure; it stays in the ledger until then."""
        self.ledger.left.append(instance_id)
        destroy_sure(self.client, instance_id)
        self.ledger.left.remove(instance_id)
        self.say(f"{why} yet made instance {instance_id}: destroyed it")
