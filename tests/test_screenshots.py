"""The rendered-book checks' own logic, without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from seemrepro.tools import screenshots

PROVENANCE = ('<p class="admonition-title">How this page was built</p>'
              "<p>Profile <strong>book</strong> · device cpu</p>")


def test_a_clean_chapter_has_no_problems() -> None:
    page = (f'<script defer src="../_static/mathjax/tex-svg-full.js"></script>{PROVENANCE}'
            '<div class="cell tag_hide-input"><pre>x = 1</pre></div>'
            "<p>the environment <code>.venv-bench</code> and a UserWarning-free page</p>"
            "<pre>glue in prose: {glue:text}`key`</pre>")
    assert screenshots.html_problems(page.replace("UserWarning-free", "clean"),
                                     chapter=True) == []
    assert screenshots.built_profile(page) == "book"


@pytest.mark.parametrize(("markup", "expected"), [
    ('<script defer="defer" src="https://cdn.example.org/mathjax/tex.js"></script>',
     "network"),
    ('<script src="//cdn.example.org/x.js"></script>', "network"),
    ('<div class="cell tag_parameters docutils">profile = "book"</div>', "parameters cell"),
    ('<div class="cell tag_injected-parameters">profile = "smoke"</div>', "parameters cell"),
    ("<pre>18 datasets from /work/main/data/minari</pre>", "build-machine path"),
    ("<pre>/root/.cache/x</pre>", "build-machine path"),
    ("<pre>.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: x</pre>",
     "build-machine path"),
    ("<pre>auto.py:21: TqdmWarning: IProgress not found</pre>", "warning"),
    ("<pre>Traceback (most recent call last):</pre>", "traceback"),
    ("<li><p>o(t) (Theorem 1's recursion {eq}`ntk-update` with</p></li>", "MyST role"),
    ("<p>over {glue:text}`t1_window_size` rates</p>", "MyST role"),
])
def test_problems_are_found(markup: str, expected: str) -> None:
    problems = screenshots.html_problems(PROVENANCE + markup, chapter=True)
    assert any(expected in p for p in problems), problems


def test_a_chapter_needs_its_provenance_box_but_other_pages_do_not() -> None:
    assert screenshots.html_problems("<p>text</p>", chapter=False) == []
    problems = screenshots.html_problems("<p>text</p>", chapter=True)
    assert problems == ['has no "How this page was built" box naming the profile']
    assert screenshots.is_chapter("book/executed/t1_theorem1.html")
    assert not screenshots.is_chapter("book/executed/claims.html")
    assert not screenshots.is_chapter("book/intro.html")


def test_scripts_and_hidden_markup_are_not_visible_text() -> None:
    markup = ("<script>var x = '/work/secret';</script><style>.a{}</style>"
              "<p>a &amp; b</p><svg><title>\\(x\\)</title></svg>")
    assert screenshots.visible_text(markup).split() == ["a", "&", "b"]


def test_math_is_judged_on_the_document_after_scripts() -> None:
    typeset = ('<span class="math"><mjx-container class="MathJax"><svg><g/></svg>'
               "<mjx-assistive-mml><math/></mjx-assistive-mml></mjx-container></span>")
    assert screenshots.math_problems(f"<html><body>{typeset}{typeset}</body></html>") == (2, [])
    count, problems = screenshots.math_problems(
        '<html><head><title>T6: \\(Q \\sim t^L\\)</title></head>'
        '<body><a>growth at <span class="math">\\(\\eta\\sqrt{P}\\)</span></a>'
        "<pre>print('\\(code is not math\\)')</pre></body></html>")
    assert count == 0 and len(problems) == 1 and "\\eta" in problems[0]


def test_browser_command_blocks_the_network_and_picks_its_output(tmp_path: Path) -> None:
    dom = screenshots.browser_command("chromium", "file:///a.html", profile_dir=tmp_path)
    assert dom[0] == "chromium" and dom[-1] == "file:///a.html"
    assert "--headless" in dom and "--dump-dom" in dom
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in dom
    assert f"--user-data-dir={tmp_path}" in dom
    shot = screenshots.browser_command("chromium", "file:///a.html", profile_dir=tmp_path,
                                       screenshot=tmp_path / "a.png", window=(800, 600))
    assert f"--screenshot={tmp_path / 'a.png'}" in shot and "--dump-dom" not in shot
    assert "--window-size=800,600" in shot


def test_book_pages_skip_the_redirect_index_search_and_static_files(tmp_path: Path) -> None:
    for name in ("index.html", "genindex.html", "search.html", "_static/x.html",
                 "book/intro.html", "book/executed/t1_theorem1.html"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<html></html>")
    assert screenshots.book_pages(tmp_path) == ["book/executed/t1_theorem1.html",
                                                "book/intro.html"]


def test_without_chromium_the_html_is_still_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(screenshots.BROWSER_VARIABLE, "no-such-browser-here")
    assert screenshots.find_browser() is None
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text("<p>fine</p>")
    assert screenshots.main(["--html", str(tmp_path), "--out", str(tmp_path / "s")]) == 0
    (tmp_path / "book" / "intro.html").write_text("<p>/home/someone/x</p>")
    assert screenshots.main(["--html", str(tmp_path), "--out", str(tmp_path / "s")]) == 1
    out = capsys.readouterr().out
    assert "Chromium not found" in out and "skipping screenshots" in out
    assert "build-machine path" in out and not (tmp_path / "s").exists()


def test_a_missing_book_is_reported(tmp_path: Path) -> None:
    assert screenshots.main(["--html", str(tmp_path / "none")]) == 1


def test_a_relative_html_folder_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # file URIs need absolute paths: a relative --html must not crash the check
    from seemrepro.tools import screenshots

    monkeypatch.chdir(tmp_path)
    assert screenshots.main(["--html", "missing", "--out", "shots"]) == 1
    assert str(tmp_path / "missing") in capsys.readouterr().err


def test_a_warning_class_named_in_inline_code_is_not_a_warning_shown() -> None:
    named = ('<p>the monitor issues a <code class="docutils literal notranslate"><span '
             'class="pre">SEEMSurgeWarning</span></code>.</p>')
    assert not any("warning" in p for p in screenshots.html_problems(named, chapter=False))
    shown = '<div class="output stderr"><pre>UserWarning: something</pre></div>'
    assert any("warning" in p for p in screenshots.html_problems(shown, chapter=False))
