"""Renting one offer at most once: the create request's body, the retries that cannot make two instances,
and the ledger of what an apply has put in play (what a failure or Ctrl-C would leave behind).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vastjob.errors import ApiError
from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.client import AnswerLost, VastClient
from vastjob.vast.instance import Instance
from vastjob.vast.query import Candidate
from vastjob.vast.secrets import Secrets


def create_body(
    job: JobSpec, cand: Candidate, bootstrap: str, secrets: Secrets, base_url: str, label: str | None = None
) -> dict[str, Any]:
    """The create request: secrets only in `env`, beside the API base URL the script calls back to; the
    label is the job's, with the new instance's deadline when given (`vastjob.vast.deadline.label_for`)."""
    return {
        "client_id": "me",
        "image": job.instance.image,
        "disk": job.instance.disk_gb,
        "label": label or job.label,
        "onstart": bootstrap,
        "env": {**secrets.values, "VASTJOB_API_URL": base_url},
        "price": cand.bid,
        "runtype": "ssh",
        "cancel_unavail": True,
        "image_login": None,
    }


@dataclass
class Ledger:
    """Instances an apply created and has not destroyed, the offer of a create whose answer is pending,
    and the old instances `--replace` has not destroyed yet."""

    job_name: str
    left: list[int] = field(default_factory=list)
    in_flight: int | None = None
    kept: list[int] = field(default_factory=list)

    def note(self) -> str:
        """What an apply that stops here leaves behind, and how to see or remove it; empty when nothing."""
        name = self.job_name
        notes = []
        if self.left:
            ids = ", ".join(map(str, self.left))
            notes.append(
                f"instance {ids} was created and is still there, billed: `vastjob status {name}` shows it, "
                f"`vastjob destroy {name}` removes it"
            )
        if self.in_flight is not None:
            notes.append(
                f"a create on offer {self.in_flight} was sent and its answer not read: it may have made "
                f"an instance; `vastjob status {name}` shows it"
            )
        if self.kept:
            notes.append(f"the instance it was to replace, {', '.join(map(str, self.kept))}, was kept")
        return "; ".join(notes)


def labelled(client: VastClient, label: str) -> list[Instance]:
    """The account's instances with exactly this label, oldest first."""
    found = [Instance.from_api(i) for i in client.list_instances({"label": {"eq": label}})]
    return [i for i in found if i.label == label]


def of_spec(client: VastClient, job: JobSpec) -> list[Instance]:
    """The account's instances of this very spec (its label's identity), whatever their label's fields."""
    found = [Instance.from_api(i) for i in labels.of_job(client.list_instances(), job.name)]
    return [i for i in found if labels.identity(i.label) == job.label]


def create_once(
    client: VastClient,
    cand: Candidate,
    body: Mapping[str, Any],
    *,
    ledger: Ledger,
    attempts: int,
    say: Callable[[str], None],
) -> int | None:
    """The new instance's id, or None when the offer is gone; never leaves two instances behind.

    Every retry goes to the same offer, which leaves the market once rented, so a create that did land
    turns a resend into "gone" rather than a second instance; "gone" after an uncertain attempt is
    therefore checked by label before moving on to another offer.
    """
    label = str(body["label"])
    before = {i.id for i in labelled(client, label)}
    uncertain = False
    for attempt in range(attempts):
        if attempt:
            client.backoff(attempt - 1)
        ledger.in_flight = cand.offer.id  # until an answer says what became of it
        lost = False
        try:
            created = client.create_instance(cand.offer.id, body)
        except AnswerLost:
            uncertain = lost = True
            say(f"the answer to the create on offer {cand.offer.id} was lost; checking by label")
        except ApiError as err:
            if not uncertain:
                ledger.in_flight = None  # an answer came and nothing earlier is in doubt
            if err.status in (404, 410) or err.error == "no_such_ask":
                landed = _look(client, label, before, tries=3) if uncertain else None
                ledger.in_flight = None
                if landed is None:
                    say(f"offer {cand.offer.id} is gone ({err.status} {err.error}); trying the next")
                return landed
            if err.status == 429:
                continue  # refused before doing anything: safe to send again
            if err.status is None or err.status < 500:
                raise
            uncertain = True
            ledger.in_flight = cand.offer.id
        else:
            ledger.in_flight = None
            return created
        # After a 5xx or a lost answer the create may have happened: look before sending it again.
        # A lost answer may belong to a create still being carried out, so that look is patient.
        landed = _look(client, label, before, tries=3 if lost else 1)
        if landed is not None:
            ledger.in_flight = None
            return landed
    raise ApiError(f"create on offer {cand.offer.id} failed {attempts} times", error="create_failed")


def _look(client: VastClient, label: str, before: set[int], tries: int = 1) -> int | None:
    """A new instance with the label (one not in `before`), looking up to `tries` times."""
    for attempt in range(tries):
        if attempt:
            client.backoff(attempt - 1)
        for inst in labelled(client, label):
            if inst.id not in before:
                return inst.id
    return None
