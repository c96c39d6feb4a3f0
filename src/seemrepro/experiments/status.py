"""Where each claim stands: its verdicts per profile, and the "Claims at a glance" page.

The book pipeline writes one *verdict record* per chapter and profile when it executes a
chapter (``data/results/verdicts/<profile>/<chapter>.json``: passed or failed, the printed
verdict, commit, device, torch, date). A claim's status at a profile combines the records of
its chapters with its committed results:

* **passed** — every chapter of the claim ran at that profile and its verdict passed;
* **failed** — a chapter's verdict (or its execution) failed;
* **partly computed** — committed results hold some but not all of its grid's runs (whatever
  its chapters' records say: a verdict on part of a grid does not count), or only some of its
  chapters have a record;
* **not run** — no verdict yet (the cell says when all its runs are committed already), and
  every claim without a chapter.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seemrepro.experiments.claims import CLAIMS
from seemrepro.experiments.results import CommittedResults, CorruptResultsError, results_root
from seemrepro.experiments.spec import Claim
from seemrepro.runtime import PROFILES, atomic_write, check_profile

VERDICTS = "verdicts"
PASSED, FAILED, PARTLY, NOT_RUN = "passed", "failed", "partly computed", "not run"


def verdict_path(chapter: str, profile: str, root: Path | str | None = None) -> Path:
    return results_root(root) / VERDICTS / check_profile(profile) / f"{chapter}.json"


_FAILURE = re.compile(r"\bFAIL(ED)?\b|\bnot reproduced\b", re.IGNORECASE)


def verdict_reports_failure(verdict: str) -> bool:
    """Whether a verdict's printed text states that a part of its claim failed.

    A verdict cell asserts what must hold for the chapter to make sense and prints each
    statement of the claim with ``: PASS`` or ``: FAIL``; a chapter that runs to the end but
    prints ``FAIL`` (or "not reproduced") has failed its claim.
    """
    return bool(_FAILURE.search(verdict))


def record_verdict(chapter: str, profile: str, *, passed: bool, verdict: str, commit: str,
                   device: str, torch_version: str, wall_seconds: float,
                   root: Path | str | None = None) -> Path:
    """Write a chapter's verdict record (called by the book pipeline after executing it)."""
    path = verdict_path(chapter, profile, root)
    record = {"chapter": chapter, "profile": profile, "status": PASSED if passed else FAILED,
              "verdict": verdict.strip(), "commit": commit, "device": device,
              "torch": torch_version, "wall_seconds": round(wall_seconds, 1),
              "date": dt.datetime.now(dt.timezone.utc).date().isoformat()}
    atomic_write(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def read_verdict(chapter: str, profile: str, root: Path | str | None = None) -> dict[str, Any] | None:
    path = verdict_path(chapter, profile, root)
    return json.loads(path.read_text()) if path.exists() else None


@dataclass(frozen=True)
class ClaimStatus:
    status: str
    detail: str = ""  # e.g. "4/6 runs"
    commit: str = ""
    device: str = ""
    date: str = ""

    def cell(self) -> str:
        where = " · ".join(x for x in (self.device, f"`{self.commit}`" if self.commit else "",
                                       self.date) if x)
        text = self.status + (f" ({self.detail})" if self.detail else "")
        return f"{text} — {where}" if where else text


def record_failed(record: dict[str, Any], claim_id: str, *, shared: bool = False) -> bool:
    """Whether a chapter's verdict record fails ``claim_id``. A chapter ``shared`` by several
    claims (A1 and A2) prefixes each of their lines with the claim's ID ("A2: ...",
    "A2 verdict: ..."), and only those lines judge the claim; a chapter that failed to run
    printed none of them, and its status decides, as for every other chapter."""
    own = [line for line in str(record.get("verdict", "")).splitlines()
           if line.startswith((f"{claim_id}:", f"{claim_id} verdict"))]
    if shared and own:
        return verdict_reports_failure("\n".join(own))
    return bool(record["status"] == FAILED)


def shared_chapters() -> set[str]:
    """Chapters that check more than one claim."""
    seen: set[str] = set()
    shared: set[str] = set()
    for claim in CLAIMS:
        shared |= seen & set(claim.chapters)
        seen |= set(claim.chapters)
    return shared


def claim_status(claim: Claim, profile: str, root: Path | str | None = None) -> ClaimStatus:
    records = [read_verdict(c, profile, root) for c in claim.chapters]
    present = [r for r in records if r is not None]
    shared = shared_chapters()
    committed = None
    if claim.grid is not None:
        try:
            committed = CommittedResults.load(claim, profile, root)
        except CorruptResultsError:
            committed = None
    runs = f"{len(committed.runs)}/{committed.total_runs} runs committed" if committed else ""
    complete = committed is not None and len(committed.runs) == committed.total_runs
    if present and len(present) == len(records) and (committed is None or complete):
        failed = [r for r in present
                  if record_failed(r, claim.id, shared=r["chapter"] in shared)]
        latest = max(present, key=lambda r: r["date"])
        chosen = failed[0] if failed else latest
        return ClaimStatus(FAILED if failed else PASSED, runs, chosen["commit"],
                           _short_device(chosen["device"]), chosen["date"])
    if present or (committed is not None and committed.runs and not complete):
        detail = ", ".join(x for x in (f"{len(present)}/{len(records)} chapters"
                                       if present else "", runs) if x)
        return ClaimStatus(PARTLY, detail)
    if complete:
        return ClaimStatus(NOT_RUN, f"{runs}; verdict not run yet")
    return ClaimStatus(NOT_RUN, "" if claim.chapters else "no chapter yet")


def _short_device(device: str) -> str:
    return device.split(" (")[0] if device else ""


def status_column(profile: str) -> str:
    return f"status: {profile}"


def claims_frame(root: Path | str | None = None) -> Any:
    """One row per claim: ID, claim, the paper's figure, chapters, and a status column per
    profile (:func:`status_column`)."""
    import pandas as pd

    rows = []
    for claim in CLAIMS:
        row = {"ID": claim.id, "claim": claim.title, "paper's figure": claim.paper,
               "chapters": ", ".join(claim.chapters) or "—"}
        for profile in PROFILES:
            row[status_column(profile)] = claim_status(claim, profile, root).cell()
        rows.append(row)
    return pd.DataFrame(rows)


def thresholds_frame() -> Any:
    """Every verdict threshold of every claim, with the paper's figure beside it."""
    import pandas as pd

    return pd.DataFrame([{"ID": c.id, "threshold": t.name, "value": f"{t.value:g}", "rule": t.rule,
                          "paper's figure": t.paper, "why this value": t.rationale,
                          "changed after runs": t.changed_after_runs or "no"}
                         for c in CLAIMS for t in c.thresholds])


def _markdown_table(frame: Any) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def claims_page(root: Path | str | None = None) -> str:
    """The book's "Claims at a glance" page as MyST markdown."""
    frame = claims_frame(root)
    counts = {p: int(frame[status_column(p)].str.startswith(PASSED).sum()) for p in PROFILES}
    summary = ", ".join(f"**{counts[p]}** at `{p}`" for p in PROFILES)
    intro = ("Every claim of the paper that this book reproduces, and where it stands at each "
             "profile: `smoke` (seconds, what the tests run), `book` (what these pages show, "
             "computed on a 2-core CPU) and `paper` (the paper's scale). A claim counts as "
             "reproduced at a profile only when the verdict cells of its chapters passed "
             "there; each cell names the device, the commit and the date of the run behind "
             f"it. Claims passed: {summary} of {len(frame)}.")
    source = ("This page is generated from the claim registry (`seemrepro.experiments.claims`) "
              "and the verdict records the build writes; `seemrepro claims` prints the same "
              "table.")
    thresholds = ("The numbers each verdict asserts with, fixed in one place (the registry), "
                  "with the paper's own figure beside each. A threshold changed after runs "
                  "were seen says so.")
    lines = ["# Claims at a glance", "", intro, "", source, "", "## Status", "",
             _markdown_table(frame), "", "## Thresholds", "", thresholds, "",
             _markdown_table(thresholds_frame()), ""]
    return "\n".join(lines)
