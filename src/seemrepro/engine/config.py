"""What a run is: its config (the run store's key), its monitor intervals and its result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seemrepro.rl.agents import ONLINE, agent_class, make_config
from seemrepro.rl.buffers import REWARD_TRANSFORMS, SAMPLERS

Row = tuple[int, int, str, float]
ROW_COLUMNS = ("step", "seed", "metric", "value")


@dataclass(frozen=True)
class MonitorConfig:
    """Monitor intervals in gradient steps (0 turns a monitor off) and their options.

    Each built-in monitor reads ``<name>_every``; a monitor registered by a user reads its
    interval from ``extra[name]``. ``checkpoint_every=0`` picks an interval relative to the
    run's length (:meth:`checkpoint_interval`), so a short run that is killed still resumes.

    ``seem_samples`` is M, the size of the fixed monitoring set X: that many distinct
    transitions of the training data (all of them, with a warning, when it holds fewer).
    The SEEM monitor stores ``seem`` with the NTK divided by the number of critic parameters
    P (see :func:`seemrepro.core.seem.seem`, ``normalize_by_parameters=True``) and
    ``seem_normalized`` = ``seem / ‖A‖_F``, which is the same with or without that division.
    """

    q_every: int = 1000
    seem_every: int = 10000
    seem_samples: int = 2560
    eval_every: int = 0
    eval_episodes: int = 10
    snapshot_every: int = 0
    checkpoint_every: int = 0
    divergence_threshold: float = 1e6
    extra: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.q_every <= 0:
            raise ValueError(f"q_every must be positive (it detects divergence), got {self.q_every}")
        for name in ("seem_every", "eval_every", "snapshot_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.seem_samples <= 0 or self.eval_episodes <= 0:
            raise ValueError("seem_samples and eval_episodes must be positive")

    def checkpoint_interval(self, steps: int) -> int:
        """``checkpoint_every``, or when 0: a twentieth of the run, at most 10,000 steps."""
        return self.checkpoint_every or max(1, min(10_000, steps // 20))

    def interval(self, name: str) -> int:
        """The interval of monitor ``name`` (0: off)."""
        value = getattr(self, f"{name}_every", None)
        return int(value) if value is not None else int(self.extra.get(name, 0))


# Fields that change how a run is carried out but never its numbers: not part of its key.
NOT_IN_KEY = {"monitors": ("checkpoint_every",)}

# Fields added after runs had been stored, with the value every earlier run had: they enter a
# run's key only when they differ from it, so every key computed before they existed (the run
# store's folders, the committed results in data/results) stays valid.
KEY_DEFAULTS: dict[str, Any] = {"reward_transform": "none", "sampler": "uniform"}


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's results (with the code version and the data's
    fingerprint, it is the run's key in :class:`~seemrepro.engine.store.RunStore`).

    ``agent`` holds options over the algorithm's defaults; :meth:`resolved` fills in the rest so
    that two spellings of one config share one key. For SAC, ``dataset`` is ``online/<EnvId>``.

    Offline runs only: ``reward_transform`` names a reward shaping of the training data
    (:data:`seemrepro.rl.buffers.REWARD_TRANSFORMS`, e.g. ``"antmaze"``: +10 on success), and
    ``sampler`` the minibatch sampler (:data:`seemrepro.rl.buffers.SAMPLERS`: ``"uniform"`` or
    ``"oper-r"``, return-based prioritized sampling); both are applied when the data is
    prepared, never to the stored dataset, and enter the key only when not at their defaults
    (:data:`KEY_DEFAULTS`).
    """

    algorithm: str
    dataset: str
    seed: int = 0
    steps: int = 100_000
    batch_size: int = 256
    subset: float = 1.0
    subset_seed: int = 0
    normalize_states: bool = True
    agent: dict[str, Any] = field(default_factory=dict)
    monitors: MonitorConfig = field(default_factory=MonitorConfig)
    start_steps: int = 5000  # online: uniform random actions before learning starts
    reward_transform: str = "none"
    sampler: str = "uniform"

    def __post_init__(self) -> None:
        agent_class(self.algorithm)
        online = self.dataset.startswith("online/")
        if (self.algorithm in ONLINE) != online:
            raise ValueError(f"algorithm {self.algorithm!r} needs "
                             f"{'an online/<EnvId>' if self.algorithm in ONLINE else 'an offline'}"
                             f" dataset, got {self.dataset!r}")
        if self.steps <= 0 or self.batch_size <= 0:
            raise ValueError(f"steps and batch_size must be positive, got steps={self.steps}, "
                             f"batch_size={self.batch_size}")
        if not 0.0 < self.subset <= 1.0:
            raise ValueError(f"subset must lie in (0, 1], got {self.subset}")
        if self.reward_transform not in REWARD_TRANSFORMS:
            raise ValueError(f"unknown reward_transform {self.reward_transform!r}; known: "
                             f"{sorted(REWARD_TRANSFORMS)}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; known: {list(SAMPLERS)}")
        if online and (self.reward_transform, self.sampler) != (
                KEY_DEFAULTS["reward_transform"], KEY_DEFAULTS["sampler"]):
            raise ValueError("reward_transform and sampler are options of offline data; an "
                             f"online run ({self.dataset!r}) takes neither")

    @property
    def online(self) -> bool:
        return self.algorithm in ONLINE

    def resolved(self) -> RunConfig:
        return dataclasses.replace(self, agent=make_config(self.algorithm, self.agent).to_dict())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.resolved())

    def key_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields that never change a run's numbers, and without
        the later fields of :data:`KEY_DEFAULTS` where they hold their default (old keys stay
        valid)."""
        d = self.to_dict()
        for part, names in NOT_IN_KEY.items():
            for name in names:
                d[part].pop(name, None)
        for name, default in KEY_DEFAULTS.items():
            if d.get(name) == default:
                d.pop(name)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        values = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        values["monitors"] = MonitorConfig(**values.get("monitors", {}))
        return cls(**values)

    def with_seed(self, seed: int) -> RunConfig:
        return dataclasses.replace(self, seed=seed)


@dataclass
class RunResult:
    config: RunConfig
    rows: list[Row]
    diverged_at: int | None
    seconds: float
    cached: bool = False  # read from the run store, not trained in this call

    def frame(self) -> Any:
        """This run's tidy rows as a pandas DataFrame (for many runs with their configs:
        :func:`seemrepro.engine.load_frame`)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(ROW_COLUMNS))

    def series(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [(s, v) for s, _, m, v in self.rows if m == metric]
        return (np.array([r[0] for r in rows], dtype=float),
                np.array([r[1] for r in rows], dtype=float))
