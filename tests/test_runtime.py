"""The allocator switch: applies once on glibc, a no-op elsewhere."""

from __future__ import annotations

import ctypes.util
import platform

import pytest
import torch

from seemrepro import runtime


def test_tune_allocator_is_idempotent_and_keeps_results() -> None:
    x = torch.randn(512, 512, generator=torch.Generator().manual_seed(0))
    before = x @ x
    first = runtime.tune_allocator()
    assert isinstance(first, bool)
    assert runtime.tune_allocator() is first
    if platform.system() == "Linux" and ctypes.util.find_library("c"):
        assert first
    assert torch.equal(x @ x, before)


def test_tune_allocator_is_a_no_op_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_allocator_tuned", False)
    monkeypatch.setattr(runtime.platform, "system", lambda: "Darwin")
    assert runtime.tune_allocator() is False
    monkeypatch.setattr(runtime.platform, "system", lambda: "Linux")
    monkeypatch.setattr(runtime.ctypes.util, "find_library", lambda name: None)
    assert runtime.tune_allocator() is False
