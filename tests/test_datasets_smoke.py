"""Small copies of the project's datasets in a temporary root (the smoke profile's data)."""

from __future__ import annotations

import os

from seemrepro.datasets import list_local, load, project_datasets_root
from seemrepro.datasets.smoke import generate_missing, smoke_datasets

HOPPER_MEDIUM = "seemrepro/hopper/medium-v0"


def test_smoke_datasets_point_the_loaders_to_a_temporary_copy() -> None:
    before = os.environ.get("SEEMREPRO_DATASETS_PATH")
    with smoke_datasets([HOPPER_MEDIUM], scale=0.001, ref_episodes=1) as root:
        assert project_datasets_root() == root
        assert list(list_local(root)) == [HOPPER_MEDIUM]
        data = load(HOPPER_MEDIUM)  # no root given: resolved through the variable
        assert len(data) == 200  # 0.1% of 200,000 policy steps
        assert "(scale 0.001)" in data.metadata["description"]
        assert generate_missing([HOPPER_MEDIUM], root=root, scale=0.001) == []
    assert os.environ.get("SEEMREPRO_DATASETS_PATH") == before
    assert not root.exists()
