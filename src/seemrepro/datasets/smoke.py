"""Small copies of the project's datasets for the smoke profile (tests, CI).

The smoke profile must not read, write or shadow the full datasets of ``make data``: it
generates each dataset it needs at a small scale (1% by default) from the committed behaviour
snapshots, under the same id, into a temporary Minari root. That takes seconds.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from seemrepro.datasets.episodes import REF_EPISODES
from seemrepro.datasets.generate import generate_family, parse_only
from seemrepro.datasets.minari_io import list_local
from seemrepro.runtime import environment_variable

SMOKE_SCALE = 0.01
SMOKE_REF_EPISODES = 3


def generate_missing(ids: Sequence[str], *, root: Path, scale: float = 1.0,
                     ref_episodes: int = REF_EPISODES, progress: bool = False) -> list[str]:
    """Generate those of the project dataset ``ids`` not yet under ``root``; returns their ids.

    Each family's missing kinds are generated in one call (:func:`generate_family`).
    """
    local = list_local(root)
    missing = [i for i in ids if i not in local]
    for family, kinds in parse_only(missing).items():
        generate_family(family, kinds, root, scale, ref_episodes=ref_episodes, progress=progress)
    return missing


def smoke_root(ids: Sequence[str], *, scale: float = SMOKE_SCALE,
               ref_episodes: int = SMOKE_REF_EPISODES) -> Path:
    """A new temporary Minari root holding ``ids`` generated at ``scale``.

    The folder outlives the call, so that a notebook can read it from later cells; pass it as
    ``root`` to the loaders. :func:`smoke_datasets` also removes it afterwards.
    """
    root = Path(tempfile.mkdtemp(prefix="seemrepro-data-"))
    try:
        generate_missing(ids, root=root, scale=scale, ref_episodes=ref_episodes)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


@contextlib.contextmanager
def smoke_datasets(ids: Sequence[str], *, scale: float = SMOKE_SCALE,
                   ref_episodes: int = SMOKE_REF_EPISODES) -> Iterator[Path]:
    """:func:`smoke_root` for the block, with dataset ids resolving there
    (``$SEEMREPRO_DATASETS_PATH``); restores the variable and deletes the folder afterwards."""
    root = smoke_root(ids, scale=scale, ref_episodes=ref_episodes)
    try:
        with environment_variable("SEEMREPRO_DATASETS_PATH", str(root)):
            yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
