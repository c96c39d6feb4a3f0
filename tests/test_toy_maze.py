import math

import numpy as np
import pytest
import torch

from seemrepro.core.toy_maze import (
    OFFICIAL_INIT_SEED,
    UNIT_ACTIONS,
    MazeDataset,
    make_maze_dataset,
    run_maze,
)


def test_trajectory_is_one_random_walk_of_unit_moves_with_small_positive_noise() -> None:
    data = make_maze_dataset(64, seed=5, dtype=torch.float64)
    assert isinstance(data, MazeDataset)
    assert data.x.shape == (63, 4) and data.next_states.shape == (63, 2)
    assert torch.equal(data.next_states[:-1], data.states[1:])  # one chain of transitions
    assert torch.all((data.states[0] >= 0) & (data.states[0] <= 1))
    assert torch.allclose(data.actions.norm(dim=1), torch.ones(63, dtype=torch.float64))
    noise = data.next_states - data.states - 0.1 * data.actions
    assert torch.all((noise >= 0) & (noise < 0.02))
    again = make_maze_dataset(64, seed=5, dtype=torch.float64)
    assert torch.equal(again.x, data.x)
    assert not torch.equal(make_maze_dataset(64, seed=6, dtype=torch.float64).x, data.x)
    with pytest.raises(ValueError):
        make_maze_dataset(1)


def test_greedy_candidates_are_the_eight_unit_actions() -> None:
    data = make_maze_dataset(10, seed=0)
    candidates = data.all_next_inputs()
    assert candidates.shape == (9, 8, 4)
    assert torch.allclose(candidates[0, :, 2:].double(), UNIT_ACTIONS, atol=1e-7)
    assert torch.equal(candidates[:, 3, :2], data.next_states)
    assert isinstance(data.to(torch.float64), MazeDataset)


def test_official_seed_blows_up_as_in_the_scripts_figure() -> None:
    # the script's figure: 1/(mean Q) ≈ 0.30 at iteration 200, falling linearly to zero
    # shortly after 300, where the values stop being finite
    trace = run_maze(seed=OFFICIAL_INIT_SEED, steps=500, threshold=math.inf)
    assert trace.diverged_at is not None and 280 < trace.diverged_at < 330
    assert not math.isfinite(trace.max_abs_q[-1])
    assert 1 / trace.mean_q[200] == pytest.approx(0.30, abs=0.01)
    inverse = 1 / np.asarray(trace.mean_q[200:280])
    assert np.all(np.diff(inverse) < 0)
