"""TD3+BC in one file, with the SEEM divergence monitor added (the ``# --- SEEM monitor ---``
lines are all it takes).

Run: ``python examples/corl_style_td3bc.py --steps 2000 --dataset synthetic/5000``
(any id of :func:`seemrepro.datasets.resolve_dataset`, e.g. ``rollout/Hopper-v5/2000``).
A larger ``--alpha`` weakens the behaviour-cloning term (the paper's Fig. 7 varies it).
"""

from __future__ import annotations

import argparse
import copy

import torch
import torch.nn.functional as F
from torch import nn

from seemrepro import SEEMMonitor  # --- SEEM monitor ---
from seemrepro.datasets.resolve import resolve_dataset

GAMMA, TAU, LR, BATCH = 0.99, 0.005, 3e-4, 256
POLICY_NOISE, NOISE_CLIP, POLICY_EVERY = 0.2, 0.5, 2


def mlp(inputs: int, outputs: int, hidden: int = 256) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, outputs))


class Actor(nn.Module):
    def __init__(self, state_dim: int, action_dim: int) -> None:
        super().__init__()
        self.net = mlp(state_dim, action_dim)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(s))


class Critic(nn.Module):
    """``Q(x)`` on concatenated (s, a) rows, shape (N,)."""

    def __init__(self, state_dim: int, action_dim: int) -> None:
        super().__init__()
        self.net = mlp(state_dim + action_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def soft_update(target: nn.Module, source: nn.Module) -> None:
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, TAU)


def main(steps: int = 2000, dataset: str = "synthetic/5000", alpha: float = 2.5,
         every: int = 200, samples: int = 256, seed: int = 0) -> SEEMMonitor:
    torch.manual_seed(seed)
    data = resolve_dataset(dataset)
    mean, std = data.states.mean(0), data.states.std(0) + 1e-3
    states, next_states = (data.states - mean) / std, (data.next_states - mean) / std
    actions, rewards, dones = data.actions, data.rewards, data.terminals
    s_dim, a_dim = states.shape[1], actions.shape[1]

    actor, q1, q2 = Actor(s_dim, a_dim), Critic(s_dim, a_dim), Critic(s_dim, a_dim)
    actor_target, q1_target, q2_target = (copy.deepcopy(m) for m in (actor, q1, q2))
    actor_opt = torch.optim.Adam(actor.parameters(), lr=LR)
    critic_opt = torch.optim.Adam([*q1.parameters(), *q2.parameters()], lr=LR)

    # --- SEEM monitor ---
    monitor = SEEMMonitor((q1, q2), states, actions, next_states, actor, gamma=GAMMA,
                          samples=samples, every=every, seed=seed)

    for step in range(steps):
        # --- SEEM monitor ---
        for row in monitor(step):
            print(f"step {row.step:6d}  Q{row.head + 1}  SEEM {row.seem:+.3e}  "
                  f"normalized {row.seem_normalized:+.3f}")
        if monitor.warned_at == step:
            print(f"early warning: the normalized SEEM surged from step "
                  f"{monitor.warning.started_at if monitor.warning else step}")

        i = torch.randint(0, len(states), (BATCH,))
        s, a, r, s2, d = states[i], actions[i], rewards[i], next_states[i], dones[i]
        with torch.no_grad():
            noise = (torch.randn_like(a) * POLICY_NOISE).clamp(-NOISE_CLIP, NOISE_CLIP)
            a2 = (actor_target(s2) + noise).clamp(-1.0, 1.0)
            x2 = torch.cat([s2, a2], dim=1)
            target = r + GAMMA * (1 - d) * torch.min(q1_target(x2), q2_target(x2))
        x = torch.cat([s, a], dim=1)
        critic_loss = F.mse_loss(q1(x), target) + F.mse_loss(q2(x), target)
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()

        if step % POLICY_EVERY == 0:
            pi = actor(s)
            q = q1(torch.cat([s, pi], dim=1))
            lam = alpha / q.abs().mean().detach()
            actor_loss = -lam * q.mean() + F.mse_loss(pi, a)
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            for target_net, net in ((actor_target, actor), (q1_target, q1), (q2_target, q2)):
                soft_update(target_net, net)
    return monitor


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dataset", default="synthetic/5000")
    parser.add_argument("--alpha", type=float, default=2.5)
    parser.add_argument("--every", type=int, default=200)
    args = parser.parse_args()
    # --- SEEM monitor ---
    print(main(args.steps, args.dataset, args.alpha, args.every).frame().to_string(index=False))
