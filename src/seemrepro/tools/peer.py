"""The d3rlpy peer: train its TD3+BC, IQL and CQL on our data, evaluate them with our code.

d3rlpy 2.8.1 pins gymnasium 1.0.0 and needs the old ``gym``; this project uses gymnasium 1.x
and Minari. So d3rlpy lives in its own environment, ``.venv-bench`` (``make bench-venv``), and
runs there as a subprocess (:mod:`seemrepro.tools.peer_worker`). Data goes over as an ``.npz`` of
transitions; a trained policy comes back as TorchScript (d3rlpy's ``save_policy``, observation
scaler included), which this environment evaluates with :func:`seemrepro.datasets.resolve.evaluate`,
the same code that scores our own agents.

Trained d3rlpy policies are cached under ``<run store>/d3rlpy/<algorithm>/<key>/`` keyed by their
full config, like our runs: ``config.json``, ``policy.pt``, ``result.json`` (written last: marks
the run done) and one ``eval-<episodes>-<seed>.json`` per evaluation.

The comparison the appendix shows (:class:`ComparisonSpec`, per profile) is also kept as a small
committed results set, ``<results>/PEER/<profile>/peer.json`` (:func:`export_comparison`,
``python -m seemrepro.tools.peer export --profile book``): one row per policy with its key (ours:
:meth:`RunStore.key`, d3rlpy's: :meth:`PeerConfig.key`) and the export's provenance.
:func:`comparison` reads it instead of training while every row's key equals the key the current
code and data give that row (and ``SEEMREPRO_RECOMPUTE`` is unset); otherwise it runs
:func:`compare`. The smoke profile is always computed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seemrepro.datasets.resolve import load_subset
from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.engine.store import RunStore, config_key
from seemrepro.engine.versions import data_fingerprint
from seemrepro.experiments.results import CorruptResultsError, results_root
from seemrepro.rl.agents import make_config
from seemrepro.rl.buffers import TransitionBuffer
from seemrepro.rl.evaluation import evaluate
from seemrepro.runtime import (
    atomic_write,
    by_profile,
    check_profile,
    describe_device,
    environment_variable,
    git_commit,
    project_root,
    set_threads,
    shown_path,
)
from seemrepro.seeds import EVALUATION

D3RLPY_VERSION = "2.8.1"
MAKE_TARGET = "make bench-venv"
WORKER = Path(__file__).with_name("peer_worker.py")
# glibc settings equal to runtime.tune_allocator(), for a subprocess (read at its start).
TUNED_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1073741824",
                    "MALLOC_TRIM_THRESHOLD_": "68719476736",
                    "MALLOC_TOP_PAD_": "268435456"}
# Where the two libraries still differ once the options below are matched.
DIFFERENCES: dict[str, list[str]] = {
    "all": [
        "d3rlpy standardizes states as (s - mean) / (std + 1e-3); ours divides by max(std, 1e-3)",
        ("d3rlpy draws batches with NumPy's global RNG (seeded by d3rlpy.seed); ours uses a torch "
        "generator per seed: same distribution (uniform over transitions), different draws"),
        "network initialization: both PyTorch's default Linear init, from different RNG streams",
    ],
    "td3bc": [
        ("none in the update rule (critic MSE summed over two critics, lambda = alpha / mean|Q1|, "
        "BC term averaged over batch and action dimensions); target noise comes from torch's "
        "global RNG in d3rlpy, from a per-seed generator in ours"),
    ],
    "iql": [
        ("d3rlpy's actor is a Gaussian (state-independent log-std parameter) trained by "
        "weighted log-likelihood; ours is deterministic, weighted squared error (a fixed-"
        "variance Gaussian); both act with the mean (d3rlpy: tanh of it) at evaluation"),
        ("d3rlpy updates the value network and the critics with one optimizer on the summed "
        "loss; ours steps the value network first, then the critics (separate Adams)"),
        "d3rlpy weights the actor's regression with V after that step; ours with V before it",
        ("no cosine learning-rate schedule for the actor and no reward scaling on either side "
        "(the IQL paper and d3rlpy's reproduction script use both)"),
    ],
    "cql": [
        ("d3rlpy's conservative weight is multiplied by a learnable alpha; its learning rate is "
        "set to 0 here (alpha stays 1), as ours has no Lagrangian threshold"),
    ],
}


class PeerUnavailableError(RuntimeError):
    """The d3rlpy environment is missing or broken."""


def bench_venv() -> Path:
    override = os.environ.get("SEEMREPRO_BENCH_VENV")
    return Path(override) if override else project_root() / ".venv-bench"


def bench_python(venv: Path | None = None) -> Path:
    """The d3rlpy environment's interpreter, or an error that names the ``make`` target."""
    venv = venv if venv is not None else bench_venv()
    python = venv / "bin" / "python"
    if not python.exists():
        raise PeerUnavailableError(
            f"the d3rlpy benchmark environment is missing: no {python}. d3rlpy "
            f"{D3RLPY_VERSION} is kept out of the main environment (it pins gymnasium 1.0.0); "
            f"create it with `{MAKE_TARGET}` (also done by make bench, make test and make book)")
    return python


# -- data ---------------------------------------------------------------------------------------
def episode_ends(buffer: TransitionBuffer) -> np.ndarray:
    """True where an episode ends: terminal, timeout, the last row, or a break in the chain
    ``next_state[t] == state[t + 1]`` (a subset keeps transitions, not episodes)."""
    s, s2 = buffer.states.cpu().numpy(), buffer.next_states.cpu().numpy()
    ends = buffer.terminals.cpu().numpy() > 0
    ends |= buffer.timeouts.cpu().numpy() > 0
    ends[:-1] |= np.any(s2[:-1] != s[1:], axis=1)
    ends[-1] = True
    return ends


def export_transitions(buffer: TransitionBuffer, path: Path) -> Path:
    """Write ``buffer`` (raw states) as the ``.npz`` the worker reads."""
    arrays = {"observations": buffer.states, "actions": buffer.actions,
              "rewards": buffer.rewards, "next_observations": buffer.next_states,
              "terminals": buffer.terminals, "timeouts": buffer.timeouts}
    out = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in arrays.items()}
    out["episode_ends"] = episode_ends(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)  # type: ignore[arg-type]
    return path


@contextlib.contextmanager
def datasets_root(root: Path | str | None) -> Iterator[None]:
    """Make dataset ids resolve under ``root`` (e.g. a temporary 1% copy) for the block."""
    if root is None:
        yield
        return
    with environment_variable("SEEMREPRO_DATASETS_PATH", str(root)):
        yield


# -- configs ------------------------------------------------------------------------------------
def d3rlpy_options(algorithm: str, agent: dict[str, Any] | None = None) -> dict[str, Any]:
    """d3rlpy config fields equal to our agent config's (defaults + ``agent``)."""
    cfg = make_config(algorithm, agent)
    c: dict[str, Any] = cfg.to_dict()
    common = {"actor_learning_rate": c["actor_lr"], "critic_learning_rate": c["critic_lr"],
              "gamma": c["gamma"], "tau": c["tau"], "n_critics": 2}
    if algorithm == "td3bc":
        if not c["double_q"]:
            raise ValueError("d3rlpy's TD3+BC always uses two critics")
        return {**common, "alpha": c["bc_alpha"], "target_smoothing_sigma": c["policy_noise"],
                "target_smoothing_clip": c["noise_clip"],
                "update_actor_interval": c["policy_delay"]}
    if algorithm == "iql":
        return {**common, "expectile": c["expectile"], "weight_temp": c["beta"],
                "max_weight": c["max_weight"]}
    if algorithm == "cql":
        return {**common, "temp_learning_rate": c["temperature_lr"],
                "initial_temperature": c["initial_temperature"],
                "conservative_weight": c["conservative_weight"],
                "n_action_samples": c["n_actions"], "alpha_learning_rate": 0.0,
                "initial_alpha": 1.0}
    raise ValueError(f"no d3rlpy counterpart for {algorithm!r}; choose td3bc, iql or cql")


def hidden_sizes(algorithm: str, agent: dict[str, Any] | None = None) -> list[int]:
    """One hidden size list for every d3rlpy network: ours must agree between actor and critic."""
    c = make_config(algorithm, agent)
    if tuple(c.actor_hidden) != tuple(c.critic.hidden) or c.critic.norm != "none":
        raise ValueError("the peer comparison needs plain MLPs with equal actor and critic sizes")
    return list(c.actor_hidden)


@dataclass(frozen=True)
class PeerConfig:
    """Everything that determines a d3rlpy run; its hash is the run's key in the store."""

    algorithm: str
    dataset: str
    seed: int = 0
    steps: int = 10_000
    batch_size: int = 256
    subset: float = 1.0
    subset_seed: int = 0
    normalize_states: bool = True
    agent: dict[str, Any] = field(default_factory=dict)
    d3rlpy: str = D3RLPY_VERSION

    def options(self) -> dict[str, Any]:
        return {**d3rlpy_options(self.algorithm, self.agent), "batch_size": self.batch_size}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["options"] = self.options()
        d["hidden"] = hidden_sizes(self.algorithm, self.agent)
        return d

    def key(self) -> str:
        """Its config and the data's fingerprint (a regenerated dataset is new data)."""
        return config_key({**self.to_dict(), "data_fingerprint": data_fingerprint(self.dataset)})


def run_dir(config: PeerConfig, store: RunStore) -> Path:
    return store.root / "d3rlpy" / config.algorithm / config.key()


# -- running the worker -------------------------------------------------------------------------
def run_worker(spec: dict[str, Any], *, tuned_allocator: bool = False, threads: int = 1,
               venv: Path | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Run the worker on ``spec`` in the d3rlpy environment and return its JSON answer.

    ``-I`` keeps the script's own folder (this package) off the worker's ``sys.path``.
    """
    python = bench_python(venv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if tuned_allocator:
        env.update(TUNED_MALLOC_ENV)
    with tempfile.TemporaryDirectory(prefix="seemrepro-peer-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps({**spec, "threads": threads}))
        done = subprocess.run([str(python), "-I", str(WORKER), str(spec_path)],
                              capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    if done.returncode != 0:
        raise RuntimeError(f"d3rlpy worker ({spec.get('mode')}) failed with exit code "
                           f"{done.returncode}:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def training_data(config: PeerConfig) -> TransitionBuffer:
    return load_subset(config.dataset, config.subset, config.subset_seed)


def train_d3rlpy(config: PeerConfig, store: RunStore, *, data: Path | None = None,
                 threads: int = 1, venv: Path | None = None) -> dict[str, Any]:
    """Train (or load from the store) one d3rlpy run; returns its ``result.json``."""
    final = run_dir(config, store)
    if (final / "result.json").exists():
        return dict(json.loads((final / "result.json").read_text()))
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{config.key()}-", dir=final.parent) as tmp:
        if data is None:
            data = export_transitions(training_data(config), Path(tmp) / "data.npz")
        spec = {"mode": "train", "algorithm": config.algorithm, "seed": config.seed,
                "steps": config.steps, "options": config.options(),
                "hidden": hidden_sizes(config.algorithm, config.agent),
                "normalize_states": config.normalize_states, "data": str(data),
                "out_dir": str(Path(tmp) / "out")}
        result = run_worker(spec, threads=threads, venv=venv)
        atomic_write(final / "config.json", json.dumps(config.to_dict(), indent=1).encode())
        atomic_write(final / "policy.pt", (Path(tmp) / "out" / "policy.pt").read_bytes())
    atomic_write(final / "result.json", json.dumps(result, indent=1).encode())
    return result


def load_policy(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A TorchScript policy (raw observation in, action out) as a NumPy function."""
    with warnings.catch_warnings():  # torch.jit.load's deprecation notice: d3rlpy saves TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu")
    module.eval()

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, dtype=np.float32)).unsqueeze(0)
            return module(x)[0].numpy()  # type: ignore[no-any-return]

    return act


def evaluate_d3rlpy(config: PeerConfig, store: RunStore, env_id: str, episodes: int,
                    source: TransitionBuffer) -> dict[str, Any]:
    """Returns and normalized scores of a trained d3rlpy policy (cached next to it)."""
    from seemrepro.datasets import normalized_score

    d = run_dir(config, store)
    seed = EVALUATION(config.steps)  # the engine's evaluation monitor: same start states
    path = d / f"eval-{episodes}-{seed}.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    returns = evaluate(load_policy(d / "policy.pt"), env_id, episodes, seed)
    ret = float(np.mean(returns))
    out = {"returns": returns, "return": ret,
           "normalized_score": float(normalized_score(ret, source))}
    atomic_write(path, json.dumps(out).encode())
    return out


# -- the comparison -----------------------------------------------------------------------------
OURS, THEIRS = "seemrepro", "d3rlpy"
COLUMNS = ("algorithm", "library", "seed", "return", "normalized_score", "train_seconds",
           "diverged")
RowId = tuple[str, str, int]  # (algorithm, library, seed)


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison: both libraries train each algorithm for each seed on one dataset."""

    algorithms: tuple[str, ...]
    dataset: str
    steps: int
    seeds: tuple[int, ...]
    episodes: int
    subset: float = 1.0

    @classmethod
    def for_profile(cls, profile: str) -> ComparisonSpec:
        """The appendix's comparison at ``profile`` (at smoke the dataset is a 1% copy)."""
        return cls(("td3bc", "iql"), "seemrepro/hopper/medium-v0",
                   steps=by_profile(profile, smoke=200, book=5000, paper=100_000),
                   seeds=tuple(by_profile(profile, smoke=[0, 1], book=[0, 1, 2],
                                          paper=list(range(5)))),
                   episodes=by_profile(profile, smoke=2, book=10, paper=10))

    def our_config(self, algorithm: str) -> RunConfig:
        """Our run of ``algorithm`` (seed 0): scored by the evaluation monitor at the end."""
        monitors = MonitorConfig(q_every=self.steps, seem_every=0, eval_every=self.steps,
                                 eval_episodes=self.episodes,
                                 checkpoint_every=max(self.steps // 2, 1))
        return RunConfig(algorithm, self.dataset, steps=self.steps, subset=self.subset,
                         monitors=monitors)

    def peer_configs(self) -> list[PeerConfig]:
        return [PeerConfig(a, self.dataset, seed=s, steps=self.steps, subset=self.subset)
                for a in self.algorithms for s in self.seeds]

    def keys(self, store: RunStore | None = None) -> dict[RowId, str]:
        """Each policy's key as the current code and data give it (datasets must resolve)."""
        store = store or RunStore()
        keys = {(a, OURS, s): store.key(self.our_config(a).with_seed(s))
                for a in self.algorithms for s in self.seeds}
        keys.update({(c.algorithm, THEIRS, c.seed): c.key() for c in self.peer_configs()})
        return keys

    def sources(self, store: RunStore) -> Counter[str]:
        """How many of its policies ``store`` holds trained already, and how many it lacks."""
        from seemrepro.experiments.runner import COMPUTED, STORE

        done = [store.is_done(self.our_config(a).with_seed(s))
                for a in self.algorithms for s in self.seeds]
        done += [(run_dir(c, store) / "result.json").exists() for c in self.peer_configs()]
        return +Counter({STORE: sum(done), COMPUTED: len(done) - sum(done)})  # no zeros


def compare(algorithms: Sequence[str], dataset: str, *, steps: int, seeds: Sequence[int],
            episodes: int, store: RunStore, subset: float = 1.0, root: Path | str | None = None,
            parallel: int = 1, threads: int = 1, venv: Path | None = None) -> Any:
    """Per-seed final scores of our agents and d3rlpy's on one dataset, as a tidy DataFrame.

    Ours train through :func:`seemrepro.engine.train` (batched seeds, run store, final
    evaluation by the evaluation monitor); d3rlpy's run meanwhile in ``parallel`` worker
    processes and are evaluated afterwards with the same episodes' seeds. ``root`` points
    dataset ids at another datasets folder (e.g. a temporary small copy).
    """
    import pandas as pd

    from seemrepro.engine import train

    bench_python(venv)  # fail before any training when d3rlpy is unavailable
    spec = ComparisonSpec(tuple(algorithms), dataset, steps, tuple(seeds), episodes, subset)
    peer_configs = spec.peer_configs()
    rows: list[dict[str, Any]] = []
    with datasets_root(root), tempfile.TemporaryDirectory(prefix="seemrepro-peer-") as tmp:
        source = training_data(peer_configs[0])
        data = export_transitions(source, Path(tmp) / "data.npz")
        with ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
            futures = [pool.submit(train_d3rlpy, c, store, data=data, threads=threads, venv=venv)
                       for c in peer_configs]
            for algorithm in algorithms:
                for r in train(spec.our_config(algorithm), list(seeds), store=store,
                               progress=False):
                    final = {m: v for s, _, m, v in r.rows if s == steps}
                    rows.append({"algorithm": algorithm, "library": "seemrepro",
                                 "seed": r.config.seed, "return": final.get("return", math.nan),
                                 "normalized_score": final.get("normalized_score", math.nan),
                                 "train_seconds": r.seconds, "diverged": r.diverged_at})
            trained = [f.result() for f in futures]
        env_id = str(source.metadata["env_id"])
        for c, result in zip(peer_configs, trained, strict=True):
            scores = evaluate_d3rlpy(c, store, env_id, episodes, source)
            rows.append({"algorithm": c.algorithm, "library": "d3rlpy", "seed": c.seed,
                         "return": scores["return"],
                         "normalized_score": scores["normalized_score"],
                         "train_seconds": result["seconds"], "diverged": None})
    return pd.DataFrame(rows)


def agreement(table: Any, *, spread: float = 2.0) -> Any:
    """Per algorithm: mean score per library, the pooled seed std and whether they agree.

    Rule: ``|mean_ours − mean_d3rlpy| <= spread · s_pooled`` with
    ``s_pooled = sqrt((s_ours² + s_d3rlpy²) / 2)`` over the seeds' final normalized scores.
    """
    import pandas as pd

    out = []
    for algorithm, part in table.groupby("algorithm", sort=False):
        ours = part[part.library == "seemrepro"].normalized_score.to_numpy(float)
        theirs = part[part.library == "d3rlpy"].normalized_score.to_numpy(float)
        pooled = math.sqrt((np.var(ours, ddof=1) + np.var(theirs, ddof=1)) / 2) if min(
            len(ours), len(theirs)) > 1 else math.nan
        diff = float(ours.mean() - theirs.mean())
        out.append({"algorithm": algorithm, "seemrepro mean": float(ours.mean()),
                    "d3rlpy mean": float(theirs.mean()), "difference": diff,
                    "pooled seed std": pooled,
                    "agree": bool(abs(diff) <= spread * pooled)})
    return pd.DataFrame(out)



# -- committed comparison -----------------------------------------------------------------------
PEER_RESULTS, PEER_FILE = "PEER", "peer.json"
COMMITTED_PROFILES = ("book", "paper")  # the smoke profile is always computed


def export_command(profile: str) -> str:
    return f"python -m seemrepro.tools.peer export --profile {profile}"


def comparison_file(profile: str, root: Path | str | None = None) -> Path:
    """``<results>/PEER/<profile>/peer.json`` (results root: ``$SEEMREPRO_RESULTS`` or
    ``data/results``). The peer comparison is an appendix, not a claim of the paper."""
    return results_root(root) / PEER_RESULTS / check_profile(profile) / PEER_FILE


def _row_id(row: dict[str, Any]) -> RowId:
    return (str(row["algorithm"]), str(row["library"]), int(row["seed"]))


def _plain(value: Any) -> Any:
    """A table cell as JSON: NumPy scalars as Python numbers, missing values as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def export_comparison(table: Any, spec: ComparisonSpec, keys: dict[RowId, str], *,
                      profile: str, wall_seconds: float,
                      sources: dict[str, int] | None = None,
                      root: Path | str | None = None) -> Path:
    """Write ``table`` (from :func:`compare`) as the committed comparison at ``profile``.

    Every row is stored with its key from ``keys`` (:meth:`ComparisonSpec.keys`); the file
    records where and how it was made: commit, device, torch and d3rlpy versions, date, wall
    seconds, evaluation episodes, and how many policies were trained during the export
    (``sources``) rather than read from the local run store.
    """
    if check_profile(profile) not in COMMITTED_PROFILES:
        raise ValueError(f"the {profile} profile is always computed; export book or paper")
    rows = []
    for record in table.to_dict("records"):
        row = {c: _plain(record[c]) for c in COLUMNS}
        row["seed"] = int(row["seed"])
        if _row_id(row) not in keys:
            raise ValueError(f"row {_row_id(row)} is not part of the comparison {spec}")
        rows.append({**row, "key": keys[_row_id(row)]})
    if {_row_id(r) for r in rows} != set(keys) or len(rows) != len(keys):
        raise ValueError(f"the table has {len(rows)} rows; the comparison has {len(keys)}")
    data = {
        "comparison": {**dataclasses.asdict(spec), "algorithms": list(spec.algorithms),
                       "seeds": list(spec.seeds)},
        "profile": profile,
        "provenance": {
            "commit": git_commit(), "device": describe_device(), "torch": torch.__version__,
            "d3rlpy": D3RLPY_VERSION,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(float(wall_seconds), 1), "episodes": spec.episodes,
            "sources": dict(sources or {})},
        "rows": rows,
    }
    path = comparison_file(profile, root)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


@dataclass
class CommittedComparison:
    """A committed comparison whose every row's key matches the current code and data."""

    path: Path
    table: Any
    provenance: dict[str, Any]


def committed_comparison(profile: str, keys: dict[RowId, str], *, episodes: int | None = None,
                         root: Path | str | None = None) -> CommittedComparison | None:
    """The committed comparison at ``profile``, or None when there is none or when it is not
    this comparison any more: a row's key differs from ``keys`` (code, config or data
    changed), a row is missing or extra, or it was evaluated on another number of episodes.
    A file that cannot be read raises :class:`CorruptResultsError` naming it."""
    import pandas as pd

    path = comparison_file(profile, root)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        provenance = dict(data["provenance"])
        rows = [{**{c: row[c] for c in COLUMNS}, "key": str(row["key"])} for row in data["rows"]]
        stored = {_row_id(r): r["key"] for r in rows}
        recorded_episodes = int(provenance["episodes"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CorruptResultsError(f"the committed peer comparison {path} cannot be read "
                                  f"({type(error).__name__}: {error}); export it again with "
                                  f"`{export_command(profile)}`") from error
    if stored != keys or len(rows) != len(keys) or \
            (episodes is not None and recorded_episodes != episodes):
        return None
    table = pd.DataFrame([{c: (math.nan if r[c] is None and c in ("return", "normalized_score")
                               else r[c]) for c in COLUMNS} for r in rows])
    return CommittedComparison(path, table, provenance)


@dataclass
class Comparison:
    """The comparison's table with where its policies came from (for the chapter)."""

    table: Any
    profile: str
    sources: Counter[str]
    committed: CommittedComparison | None = None

    def provenance_markdown(self) -> str:
        """A short note in the style of :meth:`GridRuns.provenance_markdown`."""
        from seemrepro.experiments.runner import COMMITTED, COMPUTED, sources_note

        where = ""
        if self.sources[COMMITTED] and self.committed is not None:
            p = self.committed.provenance
            folder = shown_path(self.committed.path.parent)
            at = (f"commit `{p.get('commit', 'unknown')}` on {p.get('device', 'unknown')}, "
                  f"d3rlpy {p.get('d3rlpy', '?')}, torch {p.get('torch', '?')}, "
                  f"{str(p.get('date', 'unknown date'))[:10]}")
            recorded = p.get("sources")  # how the export got its policies
            trained = int(recorded.get(COMPUTED, 0)) if recorded else None
            if trained is not None and trained < self.sources[COMMITTED]:
                at = (f"exported at {at}; {trained} of them trained in that export, the "
                      f"others read from its run store")
            else:
                at = f"computed at {at}"
            where = f"`{folder}`, {at}"
        return sources_note("trained policies", self.sources, where)


def comparison(spec: ComparisonSpec, profile: str, *, store: RunStore,
               root: Path | str | None = None, recompute: bool | None = None,
               parallel: int = 1, threads: int = 1, venv: Path | None = None) -> Comparison:
    """The comparison at ``profile``: from committed results when every key matches (never
    at smoke, nor with ``SEEMREPRO_RECOMPUTE=1``), else all of it through :func:`compare`
    (which reads what ``store`` holds and trains the rest)."""
    from seemrepro.experiments.runner import COMMITTED, recompute_requested

    recompute = recompute_requested() if recompute is None else recompute
    committed = None
    if not recompute and check_profile(profile) in COMMITTED_PROFILES:
        with datasets_root(root):
            keys = spec.keys(store)
        committed = committed_comparison(profile, keys, episodes=spec.episodes)
    if committed is not None:
        return Comparison(committed.table, profile, Counter({COMMITTED: len(committed.table)}),
                          committed)
    with datasets_root(root):
        sources = spec.sources(store)
    table = compare(spec.algorithms, spec.dataset, steps=spec.steps, seeds=spec.seeds,
                    episodes=spec.episodes, store=store, subset=spec.subset, root=root,
                    parallel=parallel, threads=threads, venv=venv)
    return Comparison(table, profile, sources)


def export(profile: str, *, store: RunStore | None = None, parallel: int = 2, threads: int = 1,
           root: Path | str | None = None) -> tuple[Path, Comparison, float]:
    """Run (or read from the run store) the comparison at ``profile`` and commit it; returns
    the file, the comparison and the wall seconds. Committed results are never read here."""
    if check_profile(profile) not in COMMITTED_PROFILES:
        raise ValueError(f"the {profile} profile is always computed; export book or paper")
    spec = ComparisonSpec.for_profile(profile)
    store = store or RunStore()
    start = time.perf_counter()
    result = comparison(spec, profile, store=store, recompute=True, parallel=parallel,
                        threads=threads)
    wall = time.perf_counter() - start
    path = export_comparison(result.table, spec, spec.keys(store), profile=profile,
                             wall_seconds=wall, sources=dict(result.sources), root=root)
    return path, result, wall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seemrepro.tools.peer",
                                     description="The d3rlpy peer comparison's committed results.")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("export", help="run or read the comparison and write "
                              "data/results/PEER/<profile>/peer.json")
    cmd.add_argument("--profile", default="book", choices=COMMITTED_PROFILES)
    cmd.add_argument("--parallel", type=int, default=2, help="d3rlpy worker processes")
    cmd.add_argument("--threads", type=int, default=1, help="torch threads per d3rlpy worker")
    args = parser.parse_args(argv)
    set_threads()
    path, result, wall = export(args.profile, parallel=args.parallel, threads=args.threads)
    from_where = ", ".join(f"{n} {source}" for source, n in result.sources.items() if n)
    print(f"wrote {path} ({path.stat().st_size} bytes): {len(result.table)} policies "
          f"({from_where}) in {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
