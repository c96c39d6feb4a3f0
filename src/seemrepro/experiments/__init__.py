"""The experiments layer: each claim of the paper as data, its grid of runs per profile, and
where those runs come from (committed results, the run store, or training here or on SLURM).

``seemrepro claims`` shows every claim's status; ``seemrepro reproduce <CLAIM>`` runs its grid;
``seemrepro results export|verify`` commits and re-checks results.
"""

from seemrepro.experiments.claims import CLAIMS, get_claim
from seemrepro.experiments.results import CommittedResults, export_results
from seemrepro.experiments.runner import GridRuns, grid_runs, plan, reproduce, submit
from seemrepro.experiments.spec import Claim, Grid, Threshold

__all__ = ["CLAIMS", "Claim", "CommittedResults", "Grid", "GridRuns", "Threshold",
           "export_results", "get_claim", "grid_runs", "plan", "reproduce", "submit"]
