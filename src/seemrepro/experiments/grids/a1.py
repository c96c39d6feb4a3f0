"""A1 and A2 (Sec. 5.2, Figs. 8 and 9): offline algorithms on X% of the locomotion data, with
and without LayerNorm in the critic. X% is a random subset of the transitions, the same for
every algorithm (``subset_seed`` 0, :func:`seemrepro.datasets.load_subset`). Every algorithm
keeps its paper's MuJoCo defaults; LN is on every hidden layer of every critic.

The paper profile is Fig. 8's grid: TD3+BC, IQL, CQL and Diff-QL × the nine tasks × X ∈ {1,
10, 50, 100} × {none, LN} × 10 seeds × 1M steps. The book profile is what two CPU cores allow,
reduced in tasks before steps: TD3+BC and IQL on the hopper and walker2d medium-replay tasks
at 1% and 100%, 2 seeds, 60,000 steps. CQL (about 12 updates/s on one thread against TD3+BC's
155) was added later, before any of its runs, on hopper/medium-replay only (see the last
paragraph for its precision and seeds). Diff-QL is declared at the paper profile only.

**Version 1 (the grid as it stands).** Every profile reads the ``-v1`` datasets
(:data:`DATASET_VERSION`), whose SAC behaviour experts come near D4RL's, and the book runs
60,000 steps with an evaluation, a SEEM estimate and a checkpoint every 6,000. This was
decided from the version-1 probes below, before any run of this grid: on 1% of
hopper/medium-replay-v1 TD3+BC, IQL and CQL without LN all passed the bound between 27,000 and
33,000 steps, so 60,000 steps leave the last three evaluations (48,000-60,000 steps) well
after it. A probe of TD3+BC on 1% of walker2d/medium-replay-v1 (2,000 transitions, bound
≈ 607; seed 0, no LN, 60,000 steps), finished before this decision was committed, passed the
bound between 15,000 and 20,000 steps and reached max |Q| 2.5e5 by 60,000; its score stayed
near 0 throughout (at most 4.6). Tasks, seeds and thresholds stay as in version 0.

**Version 0 (before).** The book grid read the ``-v0`` datasets for 20,000 steps, with the
same tasks, seeds and thresholds; version 1's results replaced its results. Its steps and
tasks were chosen from probes before the thresholds and runs. TD3+BC on 1% of
hopper/medium-replay (seed 0, 50,000 steps) had max |Q| 161 at 10,000 steps, 499 at 12,500
(past max|r|/(1−γ) ≈ 343) and 3,336 at 20,000, while its score fell from 31 at 5,000 steps to
−3 at 10,000. CQL on the same subset (seed 0, stopped at 8,400 steps for its cost) inflated
downwards: mean Q on X fell to −114 at 6,000 steps while max |Q| passed the bound between
6,000 and 7,000 (256, then 355; 464 at 8,000); its score was −1.9 at 5,000. An earlier probe
of TD3+BC on 1% of hopper/medium (2,000 transitions) saw no inflation by 20,000 steps. Our
medium-replay datasets are small (hopper 35,000 transitions, walker2d 20,000, halfcheetah
50,000; D4RL's hold 200,000-400,000), so 1% of them is 200-500 transitions.

Version 1's hopper medium-replay holds 230,000 transitions. A probe there (TD3+BC, 1%, i.e.
2,300 transitions, seed 0, no LN, 60,000 steps) inflated later than on ``-v0``: max |Q| was 258 at 20,000 steps and passed the subset's bound
(max|r|/(1−γ) ≈ 459) between 30,000 and 33,000; mean Q on X then grew faster and faster
(133 at 30,000, 281 at 45,000, 804 at 60,000) while the score fell from 11.6 at 15,000
steps to 0.5 at 60,000. With LN (same subset and seed) max |Q| levelled off at 214 and mean
Q on X at 145, and the score stayed between 7 and 11 from 15,000 steps on. IQL on the same
subset (seed 0, 60,000 steps): without LN max |Q| passed the bound between 27,000 and 30,000
steps and reached 79,000 by 60,000, mean Q on X turning downwards (−445), yet its score did
not collapse (4.0, 3.7, 9.0 at its last three evaluations; 12.9 at 5,000 steps); with LN max
|Q| stayed below the bound (303 at 60,000) and mean Q on X at about 118, and the score was
10.2, 9.4, 8.0 at the last three. CQL (bfloat16 penalty, no LN, seed 0, 40,000 steps, 35
minutes on a shared core) inflated downwards: mean Q on X fell from 20 at 3,000 steps to −66
at 20,000 and −328 at 40,000, max |Q| passing the bound between 27,000 and 28,000; its score
peaked at 29.4 at 10,000 steps and fell to −0.3 by 35,000. Moving A1/A2 to ``-v1`` therefore
needed book runs of at least 50,000 steps (or fewer tasks), decided before any run.

**CQL in float32, one seed at book (decided before any CQL run of version 1).** The bfloat16
penalty is fast only on CPUs with bfloat16 matrix instructions. On a 2-core AMD EPYC (Zen 2,
AVX2, no bfloat16 instructions), one torch thread, with the grid's TD3+BC runs sharing the
cores: CQL made 7.3 updates/s in float32 and 0.5 in bfloat16, TD3+BC 111; a group of 4 CQL
seeds gave 8.0 run-updates/s. The book's CQL runs would therefore take 15 times longer than
float32 on such a machine, and their numerics would depend on the machine. So CQL now runs in
float32 at every profile, as in the paper, and at the book profile on one seed (4 runs of
about 2.3 hours of one core each), since seeds go before steps: the version-1 probe above saw
CQL's score fall only after 30,000 steps. ``CQLConfig.penalty_dtype`` stays an opt-in of the
library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product

import pandas as pd

from seemrepro.engine.config import MonitorConfig, RunConfig, RunResult
from seemrepro.experiments.scores import run_scores, score_diverged_as, split_variant
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

ENVS = ("hopper", "walker2d", "halfcheetah")
LEVELS = ("medium", "medium-replay", "medium-expert")
TASKS = tuple(f"{env}/{level}" for env, level in product(ENVS, LEVELS))
ALGORITHMS = {"TD3+BC": "td3bc", "IQL": "iql", "CQL": "cql", "Diff-QL": "diffql"}
CRITICS = {"none": {}, "LN": {"critic": {"norm": "layernorm"}}}
FRACTIONS = (0.01, 0.10, 0.50, 1.0)
# D4RL's (v2) transitions per task, rounded, for the comparison of what X% means
D4RL_TRANSITIONS: dict[str, int] = {
    **{f"{env}/medium": 1_000_000 for env in ENVS},
    **{f"{env}/medium-expert": 2_000_000 for env in ENVS},
    "hopper/medium-replay": 402_000, "walker2d/medium-replay": 302_000,
    "halfcheetah/medium-replay": 202_000,
}
# halfcheetah/medium-replay was cut from the book grid for the CPU time of one session (48 runs
# came to about 110 CPU minutes), before any run had finished: tasks go before steps
BOOK_TASKS = ("hopper/medium-replay", "walker2d/medium-replay")
EVALUATIONS = 10
FINAL_EVALUATIONS = 3
DIVERGED_SCORE = 0.0  # a run stopped at divergence: the random policy's normalized score
SEP = " · "
COLUMNS = ("algorithm", "task", "X", "critic")


DATASET_VERSION = "v1"  # the behaviour data the grid reads (seemrepro.datasets.generate)


def dataset(task: str) -> str:
    return f"seemrepro/{task}-{DATASET_VERSION}"


def fraction_label(x: float) -> str:
    return f"{x:.0%}"


def variant_label(algorithm: str, task: str, x: float, critic: str) -> str:
    return SEP.join((algorithm, task, fraction_label(x), critic))


# CQL at book: its tasks and seeds there (its update costs about 15 TD3+BC updates)
CQL_BOOK_TASKS = ("hopper/medium-replay",)
CQL_BOOK_SEEDS = (0,)


def cells(profile: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[float, ...]]:
    """The algorithms, tasks (all of them over all algorithms) and fractions computed at
    ``profile``; :func:`algorithm_tasks` gives each algorithm's own tasks."""
    return by_profile(
        profile,
        smoke=(("TD3+BC", "IQL", "CQL"), ("hopper/medium",), (0.01, 1.0)),
        book=(("TD3+BC", "IQL", "CQL"), BOOK_TASKS, (0.01, 1.0)),
        paper=(tuple(ALGORITHMS), TASKS, FRACTIONS))


def algorithm_tasks(profile: str, algorithm: str) -> tuple[str, ...]:
    """The tasks ``algorithm`` runs on at ``profile`` (its totals sum over these)."""
    tasks = cells(profile)[1]
    if algorithm == "CQL" and profile == "book":
        return tuple(t for t in tasks if t in CQL_BOOK_TASKS)
    return tasks


def algorithm_seeds(profile: str, algorithm: str) -> list[int]:
    """The seeds ``algorithm`` runs at ``profile``."""
    if algorithm == "CQL" and profile == "book":
        return list(CQL_BOOK_SEEDS)
    return seeds(profile)


def steps(profile: str) -> int:
    return by_profile(profile, smoke=400, book=60_000, paper=1_000_000)


def seeds(profile: str) -> list[int]:
    return by_profile(profile, smoke=[0], book=[0, 1], paper=list(range(10)))


def monitors(profile: str) -> MonitorConfig:
    n = steps(profile)
    return MonitorConfig(q_every=by_profile(profile, smoke=50, book=250, paper=5000),
                         seem_every=by_profile(profile, smoke=200, book=6000, paper=50_000),
                         seem_samples=256, eval_every=n // EVALUATIONS,
                         eval_episodes=by_profile(profile, smoke=1, book=5, paper=10),
                         checkpoint_every=by_profile(profile, smoke=200, book=6000,
                                                     paper=50_000))


def grid(profile: str) -> Grid:
    algorithms, _, fractions = cells(profile)
    n, watch = steps(profile), monitors(profile)
    return Grid({variant_label(name, task, x, critic): tuple(
        RunConfig(ALGORITHMS[name], dataset(task), steps=n, subset=x, monitors=watch,
                  agent=dict(options)).with_seed(seed) for seed in algorithm_seeds(profile, name))
        for name in algorithms for task in algorithm_tasks(profile, name) for x in fractions
        for critic, options in CRITICS.items()})


def data_table(tasks: tuple[str, ...], fractions: tuple[float, ...]) -> pd.DataFrame:
    """Per task: our dataset's transitions, how many X% of it keeps, D4RL's transitions at
    the same X, and the data's own normalized score (the mean over its complete episodes)."""
    from seemrepro.datasets import load, load_subset
    from seemrepro.datasets.summary import summary_row

    rows = []
    for task in tasks:
        full = load(dataset(task))
        row: dict[str, object] = {"task": task, "transitions": len(full)}
        for x in fractions:
            row[f"ours at {fraction_label(x)}"] = len(load_subset(dataset(task), x, 0).rewards)
            row[f"D4RL at {fraction_label(x)}"] = round(D4RL_TRANSITIONS[task] * x)
        row["data score"] = summary_row(full)["normalized_score"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("task")


def scored_runs(variants: Mapping[str, Sequence[RunResult]],
                columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """The runs of a claim about totals (A1, A2, A5): each run's final score over its last
    ``FINAL_EVALUATIONS`` evaluations, a run stopped at divergence scoring ``DIVERGED_SCORE``,
    the variant split into ``columns``."""
    runs = run_scores(variants, last=FINAL_EVALUATIONS)
    return score_diverged_as(split_variant(runs, list(columns)), DIVERGED_SCORE)
