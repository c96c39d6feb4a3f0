"""The executable book: jupytext chapters → papermill (with a profile) → Jupyter Book HTML.

``python -m seemrepro.tools.pipeline build --profile book`` executes every chapter whose inputs
changed (chapter source, profile, parameters, library source) and renders the book without
executing again. ``golden`` records the verdict cells' outputs at the smoke profile for nbval.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from seemrepro.experiments.results import results_root
from seemrepro.experiments.runner import RECOMPUTE_VARIABLE
from seemrepro.experiments.status import (
    VERDICTS,
    claims_page,
    record_verdict,
    verdict_reports_failure,
)
from seemrepro.runtime import (
    PROFILES,
    Provenance,
    atomic_write,
    check_profile,
    default_threads,
    describe_device,
    environment_variable,
    git_commit,
    project_root,
)

VERDICT_MARKER = "NBVAL_CHECK_OUTPUT"
KERNEL = "python3"


class ChapterFailed(RuntimeError):
    pass


def chapter_sources(root: Path | None = None) -> list[Path]:
    """Every jupytext chapter in ``book/`` (percent-format .py files), in name order."""
    root = root or project_root()
    return sorted(
        p for p in (root / "book").glob("*.py") if "# %%" in p.read_text(encoding="utf-8")
    )


def library_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "src" / "seemrepro").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _results(root: Path) -> Path:
    """Where chapters under ``root`` read committed results and the build records verdicts."""
    return results_root() if root == project_root() else root / "data" / "results"


def results_digest(root: Path) -> str:
    """The committed results a chapter may read (verdict records aside)."""
    digest = hashlib.sha256()
    base = _results(root)
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        if path.is_file() and VERDICTS not in path.relative_to(base).parts:
            digest.update(str(path.relative_to(base)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(source: Path, parameters: dict[str, Any], root: Path) -> str:
    digest = hashlib.sha256()
    digest.update(source.read_bytes())
    digest.update(json.dumps(parameters, sort_keys=True).encode())
    digest.update(library_digest(root).encode())
    digest.update(results_digest(root).encode())
    digest.update(os.environ.get(RECOMPUTE_VARIABLE, "").encode())
    return digest.hexdigest()


def read_chapter(source: Path, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """The chapter as a notebook with ``parameters`` injected after its parameters cell."""
    import jupytext
    from papermill.parameterize import parameterize_notebook

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata.setdefault("papermill", {})
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", [])
    if not any("parameters" in c.metadata.get("tags", []) for c in notebook.cells):
        raise ChapterFailed(f"{source.name} has no cell tagged 'parameters'")
    notebook = parameterize_notebook(notebook, parameters)
    for cell in notebook.cells:  # the profile is shown in the page's "How this page was built"
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    return notebook


def _failure_message(source: Path, error: Exception) -> str:
    cell = getattr(error, "exec_count", None)
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"chapter {source.stem} failed in {where}: {ename}: {evalue}"


def execute_chapter(
    source: Path,
    out_dir: Path,
    profile: str,
    *,
    force: bool = False,
    extra: dict[str, Any] | None = None,
    root: Path | None = None,
) -> tuple[Path, bool]:
    """Execute one chapter into ``out_dir``; return (path, whether it ran)."""
    import papermill

    root = root or project_root()
    parameters = {"profile": check_profile(profile), **(extra or {})}
    key = cache_key(source, parameters, root)
    target = out_dir / f"{source.stem}.ipynb"
    if not force and target.exists():
        cached = nbformat.read(target, as_version=4)
        if cached.metadata.get("seemrepro", {}).get("cache_key") == key:
            return target, False

    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = read_chapter(source, parameters)
    partial = out_dir / f"{source.stem}.failed.ipynb"
    started = time.perf_counter()
    try:
        executed = papermill.execute_notebook(
            notebook, str(partial), kernel_name=KERNEL, cwd=str(root / "book"),
            progress_bar=sys.stderr.isatty(), log_output=False,
        )
    except Exception as error:  # papermill raises its own error type with the cell number
        message = _failure_message(source, error)
        record_verdict(source.stem, profile, passed=False, verdict=message,
                       commit=git_commit(root),
                       device=describe_device(threads=default_threads()),
                       torch_version=_torch_version(),
                       wall_seconds=time.perf_counter() - started, root=_results(root))
        raise ChapterFailed(message + f" (executed copy: {partial})") from error
    wall = time.perf_counter() - started
    # every chapter's setup cell calls runtime.set_threads(), i.e. default_threads()
    provenance = Provenance(profile=profile,
                            device=describe_device(threads=default_threads()),
                            commit=git_commit(root),
                            torch_version=_torch_version(), wall_seconds=wall)
    verdict = verdict_text(executed)
    record_verdict(source.stem, profile, passed=not verdict_reports_failure(verdict),
                   verdict=verdict,
                   commit=provenance.commit, device=provenance.device,
                   torch_version=provenance.torch_version, wall_seconds=wall,
                   root=_results(root))
    first_markdown = next(
        (i for i, c in enumerate(executed.cells) if c.cell_type == "markdown"), -1
    )
    executed.cells.insert(first_markdown + 1, nbformat.v4.new_markdown_cell(provenance.markdown()))
    executed.metadata["seemrepro"] = {"cache_key": key, "profile": profile,
                                      "wall_seconds": round(wall, 2),
                                      "commit": provenance.commit}
    atomic_write(target, nbformat.writes(executed))
    partial.unlink(missing_ok=True)
    return target, True


def _torch_version() -> str:
    import torch

    return torch.__version__


def verdict_text(notebook: nbformat.NotebookNode) -> str:
    """What the verdict cells printed."""
    return "".join(o.get("text", "") for v in verdict_outputs(notebook) for o in v["outputs"]
                   if o.get("output_type") == "stream")


def verdict_outputs(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """The outputs of every code cell marked as a verdict, in order."""
    return [
        {"source": cell.source, "outputs": cell.outputs}
        for cell in notebook.cells
        if cell.cell_type == "code" and VERDICT_MARKER in cell.source
    ]


def golden_path(source: Path, root: Path) -> Path:
    return root / "tests" / "golden" / f"{source.stem}.json"


def record_golden(sources: Sequence[Path], root: Path) -> None:
    """Execute chapters at the smoke profile and store their verdict outputs for nbval."""
    out_dir = root / "_build" / "smoke"
    for source in sources:
        target, _ = execute_chapter(source, out_dir, "smoke", root=root)
        verdicts = verdict_outputs(nbformat.read(target, as_version=4))
        if not verdicts:
            raise ChapterFailed(f"{source.name} has no verdict cell marked {VERDICT_MARKER}")
        path = golden_path(source, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        streams = [
            [{k: o[k] for k in ("output_type", "name", "text") if k in o} for o in v["outputs"]
             if o.get("output_type") == "stream"]
            for v in verdicts
        ]
        path.write_text(json.dumps(streams, indent=1) + "\n", encoding="utf-8")
        print(f"golden {path.relative_to(root)}")


def smoke_notebook(source: Path, root: Path) -> nbformat.NotebookNode:
    """The chapter at the smoke profile, its verdict cells carrying the recorded outputs."""
    notebook = read_chapter(source, {"profile": "smoke"})
    path = golden_path(source, root)
    if not path.exists():
        raise ChapterFailed(
            f"no recorded verdict for {source.name}; run `make golden` to record {path}"
        )
    expected = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in notebook.cells if c.cell_type == "code" and VERDICT_MARKER in c.source]
    if len(cells) != len(expected):
        raise ChapterFailed(
            f"{source.name} has {len(cells)} verdict cells but {path.name} records "
            f"{len(expected)}; run `make golden`"
        )
    for cell, outputs in zip(cells, expected, strict=True):
        cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
        cell.execution_count = 1  # nbval compares only cells that were run
    return notebook


def build_html(root: Path) -> Path:
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable), "build", str(root), "--warningiserror",
               "--nitpick", "--keep-going", "--quiet"]
    completed = subprocess.run(command, cwd=root, check=False)
    if completed.returncode != 0:
        raise ChapterFailed("Jupyter Book failed to render the book (see the messages above)")
    return root / "_build" / "html" / "index.html"


def build(profile: str, *, force: bool = False, only: Sequence[str] = (),
          recompute: bool = False, html: bool = True) -> Path:
    """Execute the chapters (changed ones only, unless ``force``) and render the book
    (unless not ``html``: then the path of the executed chapters is returned).

    ``recompute`` ignores committed results and the local run store: every run is trained
    again, into a fresh store under ``_build/recompute-runs``.
    """
    root = project_root()
    out_dir = root / "book" / "executed"
    sources = [s for s in chapter_sources(root) if not only or s.stem in only]
    with contextlib.ExitStack() as stack:
        if recompute:
            runs = root / "_build" / "recompute-runs"
            shutil.rmtree(runs, ignore_errors=True)
            stack.enter_context(environment_variable(RECOMPUTE_VARIABLE, "1"))
            stack.enter_context(environment_variable("SEEMREPRO_RUNS", str(runs)))
        for source in sources:
            started = time.perf_counter()
            print(f"[book] {source.stem}: executing at profile {profile} ...", flush=True)
            _, ran = execute_chapter(source, out_dir, profile, force=force or recompute,
                                     root=root)
            state = f"done in {time.perf_counter() - started:.1f} s" if ran else "unchanged, cached"
            print(f"[book] {source.stem}: {state}", flush=True)
    atomic_write(out_dir / "claims.md", claims_page())
    if not html:
        return out_dir
    index = build_html(root)
    print(f"[book] HTML: {index}")
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seemrepro.tools.pipeline")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute changed chapters, then render HTML")
    b.add_argument("--profile", default="book", choices=PROFILES)
    b.add_argument("--force", action="store_true", help="re-execute even unchanged chapters")
    b.add_argument("--only", nargs="*", default=(), help="chapter names (file stems)")
    b.add_argument("--recompute", action="store_true",
                   help="ignore committed results and the run store; train every run again")
    b.add_argument("--no-html", action="store_true", help="execute only; do not render HTML")
    g = sub.add_parser("golden", help="record verdict outputs at the smoke profile")
    g.add_argument("--only", nargs="*", default=())
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.profile, force=args.force, only=args.only, recompute=args.recompute,
                  html=not args.no_html)
        else:
            root = project_root()
            record_golden([s for s in chapter_sources(root)
                           if not args.only or s.stem in args.only], root)
    except ChapterFailed as error:
        print(f"[book] FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
