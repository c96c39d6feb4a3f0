"""Reinforcement learning: transition buffers, actor networks, seed stacks, the agents and the
one policy evaluator. Builds on :mod:`seemrepro.core` (critics)."""
