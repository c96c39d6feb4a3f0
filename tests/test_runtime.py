"""Process-level helpers: the allocator switch (once on glibc, a no-op elsewhere) and
temporary environment variables."""

from __future__ import annotations

import ctypes.util
import os
import platform

import pytest
import torch

from seemrepro import runtime
from seemrepro.runtime import environment_variable


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


def test_environment_variable_is_restored_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEMREPRO_TEST_VAR", "before")
    monkeypatch.delenv("SEEMREPRO_TEST_UNSET", raising=False)
    with environment_variable("SEEMREPRO_TEST_VAR", "inside"), \
            environment_variable("SEEMREPRO_TEST_UNSET", "x"):
        assert os.environ["SEEMREPRO_TEST_VAR"] == "inside"
        assert os.environ["SEEMREPRO_TEST_UNSET"] == "x"
    assert os.environ["SEEMREPRO_TEST_VAR"] == "before"
    assert "SEEMREPRO_TEST_UNSET" not in os.environ
    with pytest.raises(RuntimeError), environment_variable("SEEMREPRO_TEST_VAR", "inside"):
        raise RuntimeError
    assert os.environ["SEEMREPRO_TEST_VAR"] == "before"
