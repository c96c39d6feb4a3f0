from pathlib import Path

import nbformat
import pytest

from seemrepro.runtime import by_profile, project_root
from seemrepro.tools.pipeline import (
    VERDICT_MARKER,
    ChapterFailed,
    chapter_sources,
    execute_chapter,
    golden_path,
    read_chapter,
    smoke_notebook,
)

CHAPTER = '''# %% [markdown]
# # A tiny chapter

# %% tags=["parameters"]
profile = "book"

# %%
value = {"smoke": 1, "book": 2}[profile]

# %%
# NBVAL_CHECK_OUTPUT
assert value > 0
print(f"value={value}")
'''


def make_project(tmp_path: Path, body: str = CHAPTER) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "src" / "seemrepro").mkdir(parents=True)
    (tmp_path / "src" / "seemrepro" / "lib.py").write_text("x = 1\n")
    source = tmp_path / "book" / "tiny.py"
    source.write_text(body)
    return source


def test_every_chapter_has_parameters_a_verdict_and_a_recorded_output() -> None:
    root = project_root()
    sources = chapter_sources(root)
    assert {"t1_theorem1", "t2_homogeneity", "t3_ntk_layernorm"} <= {s.stem for s in sources}
    toc = (root / "_toc.yml").read_text()
    for source in sources:
        notebook = read_chapter(source, {"profile": "smoke"})
        assert any(VERDICT_MARKER in c.source for c in notebook.cells), source.name
        assert golden_path(source, root).exists(), f"record the verdict of {source.name}"
        assert f"book/executed/{source.stem}" in toc, f"{source.name} is missing from _toc.yml"


def test_parameters_are_injected_and_verdicts_get_recorded_outputs(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    notebook = read_chapter(source, {"profile": "smoke"})
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'profile = "smoke"' in injected[0].source
    parameter_cells = [c for c in notebook.cells if {"parameters", "injected-parameters"}
                       & set(c.metadata.get("tags", []))]
    assert len(parameter_cells) == 2  # the source's and papermill's: neither is shown
    assert all("remove-cell" in c.metadata["tags"] for c in parameter_cells)
    with pytest.raises(ChapterFailed, match="make golden"):
        smoke_notebook(source, tmp_path)
    golden = golden_path(source, tmp_path)
    golden.parent.mkdir(parents=True)
    golden.write_text('[[{"output_type": "stream", "name": "stdout", "text": "value=1\\n"}]]')
    verdict = [c for c in smoke_notebook(source, tmp_path).cells if VERDICT_MARKER in c.source]
    assert verdict[0].outputs[0]["text"] == "value=1\n"


def test_execution_is_cached_until_an_input_changes(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    out = tmp_path / "executed"
    target, ran = execute_chapter(source, out, "smoke", root=tmp_path)
    assert ran
    notebook = nbformat.read(target, as_version=4)
    assert "Profile **smoke**" in notebook.cells[1].source  # provenance under the title
    assert execute_chapter(source, out, "smoke", root=tmp_path) == (target, False)
    assert execute_chapter(source, out, "book", root=tmp_path)[1]  # another profile
    (tmp_path / "src" / "seemrepro" / "lib.py").write_text("x = 2\n")
    assert execute_chapter(source, out, "book", root=tmp_path)[1]  # library changed


def test_a_failing_cell_names_the_chapter_and_cell(tmp_path: Path) -> None:
    source = make_project(tmp_path, CHAPTER.replace("assert value > 0", "assert value < 0"))
    with pytest.raises(ChapterFailed, match=r"chapter tiny failed in cell \[\d+\]: AssertionError"):
        execute_chapter(source, tmp_path / "executed", "smoke", root=tmp_path)
    assert (tmp_path / "executed" / "tiny.failed.ipynb").exists()
    assert not (tmp_path / "executed" / "tiny.ipynb").exists()


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        by_profile("huge", smoke=1, book=2, paper=3)
