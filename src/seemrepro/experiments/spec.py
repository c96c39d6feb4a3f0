"""What a claim is: the paper's statement, the thresholds its verdict uses, and its runs.

A :class:`Claim` is data. Its :class:`Threshold` objects are the only place a verdict's numbers
live (the chapter reads them from here, the "Claims at a glance" page prints them beside the
paper's figure), and its grid is a function ``profile -> Grid`` kept in one module per claim
under :mod:`seemrepro.experiments.grids`, so the book, ``seemrepro reproduce`` and a SLURM
cluster all run the same configs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from seemrepro.engine.config import RunConfig
from seemrepro.runtime import check_profile


@dataclass(frozen=True)
class Threshold:
    """One number a verdict asserts with, fixed before the runs it judges.

    ``rule`` says how the verdict uses it, ``paper`` gives the paper's own figure for the same
    quantity. ``changed_after_runs`` is empty for a threshold set before any run was seen;
    otherwise it states what it was before and why it changed.
    """

    name: str
    value: float
    rule: str
    paper: str
    rationale: str
    changed_after_runs: str = ""


@dataclass(frozen=True)
class Grid:
    """A claim's training runs at one profile, by variant (each variant: its runs over seeds)."""

    variants: Mapping[str, tuple[RunConfig, ...]]

    @classmethod
    def over_seeds(cls, variants: Mapping[str, RunConfig], seeds: Sequence[int]) -> Grid:
        """Every variant's config once per seed."""
        return cls({name: tuple(c.with_seed(s) for s in seeds) for name, c in variants.items()})

    def configs(self) -> list[RunConfig]:
        """Every run of the grid, variant by variant, without repeats."""
        seen: dict[str, RunConfig] = {}
        for runs in self.variants.values():
            for c in runs:
                seen.setdefault(repr(c.resolved()), c)
        return list(seen.values())

    def variant_of(self) -> dict[str, str]:
        """``repr`` of each resolved config → its variant's name (for exported tables)."""
        return {repr(c.resolved()): name for name, runs in self.variants.items() for c in runs}

    def __len__(self) -> int:
        return len(self.configs())


@dataclass(frozen=True)
class Claim:
    """One claim of the paper as the book checks it."""

    id: str
    title: str
    paper: str  # where in the paper, and its figure or number
    chapters: tuple[str, ...] = ()  # chapter file stems in book/ that hold its verdict(s)
    thresholds: tuple[Threshold, ...] = ()
    grid: Callable[[str], Grid] | None = field(default=None, compare=False)
    # another claim whose grid this one shares: its committed runs live under that claim only
    runs_of: str | None = None

    def threshold(self, name: str) -> float:
        """The value of threshold ``name`` (a clear error lists the declared ones)."""
        for t in self.thresholds:
            if t.name == name:
                return t.value
        raise KeyError(f"claim {self.id} declares no threshold {name!r}; it has "
                       f"{', '.join(t.name for t in self.thresholds) or 'none'}")

    def runs(self, profile: str) -> Grid:
        """The claim's grid at ``profile`` (an error for a claim that trains nothing)."""
        if self.grid is None:
            raise ValueError(f"claim {self.id} declares no training runs")
        return self.grid(check_profile(profile))
