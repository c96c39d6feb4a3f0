"""Where and how a computation runs: device, threads, seeds, profiles, files, provenance."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import platform
import random
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch

Profile = Literal["smoke", "book", "paper"]
PROFILES: tuple[Profile, ...] = ("smoke", "book", "paper")
T = TypeVar("T")


def check_profile(profile: str) -> Profile:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile  # type: ignore[return-value]


def by_profile(profile: str, *, smoke: T, book: T, paper: T) -> T:
    """Pick the setting of the current profile (smoke: seconds, book: CPU minutes, paper: GPU)."""
    return {"smoke": smoke, "book": book, "paper": paper}[check_profile(profile)]


def default_device() -> torch.device:
    """CUDA when present (and not disabled with SEEMREPRO_DEVICE=cpu), else CPU."""
    requested = os.environ.get("SEEMREPRO_DEVICE")
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device | None = None, *, threads: int | None = None) -> str:
    """``cuda (<name>)`` or ``cpu (<vendor>/<instruction set>, <n> threads)``, the CPU named as
    :func:`numeric_platform` names it; ``threads`` defaults to this process's torch setting
    (pass the count another process will use, e.g. a chapter's)."""
    device = device or default_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads() if threads is None else threads
    return f"cpu ({numeric_platform()}, {threads} thread{'' if threads == 1 else 's'})"


def numeric_platform() -> str:
    """The CPU's vendor and the instruction set torch's kernels use, e.g.
    ``AuthenticAMD/AVX2`` or ``GenuineIntel/AVX512``: what decides the last bits of float32
    results here."""
    vendor = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("vendor_id"):
                vendor = line.split(":", 1)[1].strip()
                break
    except OSError:
        vendor = platform.processor() or "unknown"
    return f"{vendor}/{torch.backends.cpu.get_cpu_capability()}"


def _cpuinfo_fields() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            break
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


# Instruction-set extensions that change which float32 kernels MKL and oneDNN pick.
_KERNEL_FLAGS = ("avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile")


def cpu_model(fields: dict[str, str] | None = None) -> str:
    """The CPU model finer than :func:`numeric_platform`: family, model, stepping, cache size and
    the extensions that steer kernel choice, e.g. ``family 6 model 167 stepping 1, cache 491520
    KB, amx_tile``. Two CPUs of one numeric platform but another model may block a matrix
    product differently and round differently; two of one model are taken to agree."""
    f = _cpuinfo_fields() if fields is None else fields
    if not f:
        return platform.processor() or platform.machine() or "unknown"
    flags = set(f.get("flags", "").split())
    model = (f"family {f.get('cpu family', '?')} model {f.get('model', '?')} "
             f"stepping {f.get('stepping', '?')}")
    parts = [model, f"cache {f.get('cache size', '?')}"]
    parts += [flag for flag in _KERNEL_FLAGS if flag in flags]
    return ", ".join(parts)


def exact_platform(device: torch.device) -> str:
    """What must be equal for two runs of one config to agree to the last bit: the GPU's name on
    CUDA; on CPU, :func:`numeric_platform` and :func:`cpu_model`."""
    if device.type != "cpu":
        return run_platform(device)
    return f"{numeric_platform()} ({cpu_model()})"


def run_platform(device: torch.device) -> str:
    """What a run's last bits depend on: :func:`numeric_platform` on the CPU, the GPU's name
    on CUDA."""
    return numeric_platform() if device.type == "cpu" else describe_device(device)


def default_threads() -> int:
    """Torch intra-op threads for one training process: ``$SEEMREPRO_THREADS`` when set, else one
    thread on machines with at most four cores, else torch's own default.

    On a 2-core machine whose other core is busy, two threads contend so badly that a 100-step
    run took 40x longer than with one thread; large machines run several processes instead.
    """
    requested = os.environ.get("SEEMREPRO_THREADS")
    if requested:
        threads = int(requested)
        if threads <= 0:
            raise ValueError(f"SEEMREPRO_THREADS must be a positive integer, got {requested!r}")
        return threads
    return 1 if (os.cpu_count() or 1) <= 4 else torch.get_num_threads()


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: :func:`default_threads`); returns the number."""
    threads = default_threads() if threads is None else threads
    if threads <= 0:
        raise ValueError(f"threads must be a positive integer, got {threads}")
    torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """Run the block on ``threads`` torch threads, then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def flushes_denormals() -> bool:
    """Whether this thread's CPU arithmetic flushes denormal floats to zero (torch has no
    getter, so this probes one multiplication)."""
    return (torch.tensor([1e-39]) * 1.0).item() == 0.0


@contextlib.contextmanager
def flushing_denormals() -> Iterator[bool]:
    """Treat denormal floats as zero on CPU inside the block, then restore the previous mode.

    When a critic's values spread far, some weights, gradients and Adam moments fall below
    float32's smallest normal (about 1.2e-38); x86 CPUs handle such operands in microcode, and
    a matmul over them runs about a hundred times slower, so a diverging run crawls. Flushing
    changes a result only where a denormal occurs; a run without any is bitwise the same.
    Yields whether the CPU supports it. The mode is per thread: it covers the calling thread,
    and intra-op worker threads only if torch starts them inside the block; on one thread it
    is complete.
    """
    before = flushes_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(before)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_allocator_tuned = False


def tune_allocator() -> bool:
    """Keep freed memory in the process instead of handing it back to the OS (glibc only).

    By default glibc serves large blocks (the batch-sized activations of every update) with
    ``mmap`` and unmaps them on free, so each update page-faults the same memory back in; on CPU
    that costs a large share of an update. Raising the mmap and trim thresholds lets the heap
    reuse those blocks. Trade-off: resident memory stays at its peak instead of shrinking.
    Returns whether the settings are in effect: ``False`` where ``mallopt`` is unavailable
    (non-glibc platforms) or refused them. Calling it again is harmless.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if platform.system() != "Linux":
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, 2**31 - 1),
                (_M_TOP_PAD, 256 << 20))
    _allocator_tuned = all(mallopt(option, value) == 1 for option, value in settings)
    return _allocator_tuned


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def project_root() -> Path:
    """The checkout this package was installed from (falls back to the working directory)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_toc.yml").exists() and (parent / "src" / "seemrepro").exists():
            return parent
    return Path.cwd()


def shown_path(path: Path) -> Path:
    """``path`` relative to the checkout when it lies inside it (as a reader of the book
    would find it), else as given."""
    try:
        return path.resolve().relative_to(project_root())
    except ValueError:
        return path


# Written by the build itself (its verdict records): never a reason to call a checkout dirty.
BUILD_RECORDS = "data/results/verdicts"


def git_commit(root: Path | None = None) -> str:
    """Short commit hash of the checkout, with ``+dirty`` when tracked files changed (other
    than the build's own verdict records, :data:`BUILD_RECORDS`)."""
    root = root or project_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
             f":(exclude){BUILD_RECORDS}"], cwd=root,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``path`` through a temporary file in its folder and a rename: a reader (or a process
    killed midway) never sees a half-written file. Text is written as UTF-8."""
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_safe(value: Any) -> Any:
    """NumPy arrays become tagged tensors, recursively; everything else must already be a
    tensor or a plain value (what ``torch.load(weights_only=True)`` accepts)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_safe(v) for v in value)
    return value


def from_safe(value: Any) -> Any:
    """Inverse of :func:`to_safe`."""
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            return value["__ndarray__"].numpy()
        return {k: from_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(from_safe(v) for v in value)
    return value


def save_state(path: Path, state: dict[str, Any]) -> None:
    """A checkpoint of tensors and plain values (NumPy arrays allowed), written atomically."""
    buffer = io.BytesIO()
    torch.save(to_safe(state), buffer)
    atomic_write(path, buffer.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    """Inverse of :func:`save_state`, with ``weights_only=True``: a checkpoint on a shared
    filesystem can hold tensors and plain values, never code to run."""
    return from_safe(torch.load(path, map_location="cpu", weights_only=True))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Provenance:
    profile: str
    device: str
    commit: str
    torch_version: str
    wall_seconds: float

    def markdown(self) -> str:
        return (
            f"```{{admonition}} How this page was built\n"
            f":class: note\n"
            f"Profile **{self.profile}** · device {self.device} · commit `{self.commit}` · "
            f"torch {self.torch_version} · executed in {self.wall_seconds:.1f} s\n"
            f"```"
        )


@contextlib.contextmanager
def environment_variable(name: str, value: str) -> Iterator[None]:
    """Set one environment variable for the block, restoring its previous state afterwards."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
