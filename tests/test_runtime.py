"""Process-level helpers: the allocator switch (once on glibc, a no-op elsewhere) and
temporary environment variables."""

from __future__ import annotations

import ctypes.util
import os
import platform
from pathlib import Path

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


def test_thread_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEMREPRO_THREADS", raising=False)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 2)
    assert runtime.default_threads() == 1
    monkeypatch.setenv("SEEMREPRO_THREADS", "3")
    assert runtime.default_threads() == 3
    monkeypatch.setenv("SEEMREPRO_THREADS", "0")
    with pytest.raises(ValueError, match="SEEMREPRO_THREADS"):
        runtime.default_threads()
    before = torch.get_num_threads()
    with runtime.using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_flushing_denormals_zeroes_them_inside_and_restores_after() -> None:
    tiny = torch.tensor([1e-39])  # below float32's smallest normal, 1.18e-38
    assert not runtime.flushes_denormals()
    assert (tiny * 2).item() > 0
    with runtime.flushing_denormals() as supported:
        if not supported:
            pytest.skip("this CPU cannot flush denormals")
        assert runtime.flushes_denormals()
        assert (tiny * 2).item() == 0.0
        assert (torch.tensor([1e-30]) * 2).item() == pytest.approx(2e-30)  # normals untouched
    assert not runtime.flushes_denormals()
    assert (tiny * 2).item() > 0


def test_checkpoints_hold_only_safe_values(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(5)
    state = {"t": torch.arange(3), "a": np.ones((2, 2), np.float32), "rng": rng.bit_generator.state,
             "rows": [(1, 0, "q", 0.5)], "nested": [{"x": np.zeros(1)}, None]}
    runtime.save_state(tmp_path / "c.pt", state)
    back = runtime.load_state(tmp_path / "c.pt")
    assert torch.equal(back["t"], state["t"]) and back["rows"] == state["rows"]
    assert np.array_equal(back["a"], state["a"]) and back["a"].dtype == np.float32
    assert back["rng"] == state["rng"] and back["nested"][1] is None
    rng.bit_generator.state = back["rng"]  # a restored generator works
    torch.save({"code": object()}, tmp_path / "unsafe.pt")
    with pytest.raises(Exception, match="weights_only|Unsupported"):
        runtime.load_state(tmp_path / "unsafe.pt")


def test_atomic_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    target = tmp_path / "f.txt"
    runtime.atomic_write(target, "old")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(runtime.os, "replace", fail)
    with pytest.raises(OSError):
        runtime.atomic_write(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_engine_seed_streams_are_distinct() -> None:
    from seemrepro import seeds

    offsets = [s.offset for s in seeds.ENGINE_STREAMS]
    assert len(set(offsets)) == len(offsets)
    assert seeds.MONITOR_SET(3) == 10_003 and seeds.EVALUATION(500) == 1_000_500


def test_git_commit_is_dirty_for_changed_sources_but_not_for_verdict_records(
        tmp_path: Path) -> None:
    import subprocess

    from seemrepro.runtime import BUILD_RECORDS, git_commit

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    record = tmp_path / BUILD_RECORDS / "book" / "t1.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    clean = git_commit(tmp_path)
    assert len(clean) == 10 and not clean.endswith("+dirty")
    record.write_text('{"status": "passed"}')  # the build rewrote its record
    assert git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == clean + "+dirty"


def test_describe_device_names_the_cpu_kind_and_the_threads_another_process_will_use() -> None:
    import torch

    from seemrepro.runtime import describe_device

    kind = runtime.numeric_platform()
    assert describe_device(torch.device("cpu"), threads=3) == f"cpu ({kind}, 3 threads)"
    assert describe_device(torch.device("cpu"), threads=1) == f"cpu ({kind}, 1 thread)"
    with runtime.using_threads(2):
        assert describe_device(torch.device("cpu")) == f"cpu ({kind}, 2 threads)"


def test_shown_path_is_relative_inside_the_checkout_and_unchanged_outside(tmp_path: Path) -> None:
    root = runtime.project_root()
    assert runtime.shown_path(root / "data" / "results" / "A1") == Path("data/results/A1")
    assert runtime.shown_path(tmp_path / "results") == tmp_path / "results"


def test_cpu_model_names_the_model_and_the_kernel_steering_extensions() -> None:
    import torch

    fields = {"cpu family": "6", "model": "143", "stepping": "8", "cache size": "107520 KB",
              "flags": "fpu avx2 avx512f avx512_bf16 amx_tile"}
    assert runtime.cpu_model(fields) == ("family 6 model 143 stepping 8, cache 107520 KB, "
                                         "avx512_bf16, amx_tile")
    assert runtime.cpu_model({**fields, "model": "1"}) != runtime.cpu_model(fields)
    exact = runtime.exact_platform(torch.device("cpu"))
    assert exact == f"{runtime.numeric_platform()} ({runtime.cpu_model()})"
