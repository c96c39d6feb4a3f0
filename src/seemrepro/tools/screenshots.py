"""Look at the rendered book as a reader without network access sees it.

``python -m seemrepro.tools.screenshots`` opens every page of ``_build/html`` in headless
Chromium with every host name unresolvable, so nothing can come from the network, and lets the
page's scripts run. For each page it

* saves a screenshot (``_build/screenshots/<page>.png``) to look at;
* checks the document after the scripts ran: every formula typeset by MathJax, none left as
  raw ``\\(...\\)``;
* checks the HTML itself: no script from the network, no parameters cell shown, the
  "How this page was built" box with its profile on every chapter, no build-machine path, no
  Python warning or traceback and no MyST role left as text (``{eq}`...` `` unrendered).

Chromium is optional (Debian's ``chromium`` package): without it the HTML checks still run and
the browser part is skipped with a message saying so. The exit status is 1 when a check failed.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seemrepro.runtime import project_root

BROWSER_VARIABLE = "SEEMREPRO_CHROMIUM"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Pages that are not part of the book's text: the redirect, the index and the search page.
SKIPPED_PAGES = frozenset({"index.html", "genindex.html", "search.html"})
WINDOW = (1400, 2000)
SCRIPT_TIME_MS = 20_000  # virtual time for MathJax to typeset a long page

_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"((?:https?:)?//[^\"]+)\"", re.IGNORECASE)
_PARAMETERS_CELL = re.compile(r"\btag_(?:injected-)?parameters\b")
_MACHINE_PATH = re.compile(r"(?<![\w.~])(?:/(?:work|root|home|tmp|opt|usr/local)/|[\w.-]*"
                           r"\.venv[\w-]*/(?:lib|bin)/|site-packages/)")
_INLINE_CODE = re.compile(r"<code\b[^>]*>.*?</code>", re.DOTALL)
_PYTHON_WARNING = re.compile(r"\b(?:[A-Z]\w*Warning|Traceback \(most recent call last\))")
_UNRENDERED_ROLE = re.compile(r"\{[a-z]+(?::[a-z]+)?\}`")
_PROVENANCE = re.compile(r"How this page was built.*?Profile\s*<strong>(\w+)</strong>", re.DOTALL)
_HIDDEN_TEXT = re.compile(r"<(script|style|svg|mjx-assistive-mml)\b.*?</\1>",
                          re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")
_TYPESET = re.compile(r"<mjx-container\b", re.IGNORECASE)


@dataclass
class PageReport:
    """What was found on one page."""

    page: str
    problems: list[str] = field(default_factory=list)
    formulas: int | None = None  # typeset formulas, when a browser ran
    screenshot: Path | None = None


def visible_text(markup: str) -> str:
    """The text a reader sees: markup without scripts, styles, drawings and tags."""
    return html.unescape(_TAG.sub(" ", _HIDDEN_TEXT.sub(" ", markup)))


def is_chapter(page: str) -> bool:
    """Executed chapters carry the "How this page was built" box; the claims page does not."""
    return page.startswith("book/executed/") and not page.endswith("claims.html")


def html_problems(markup: str, *, chapter: bool) -> list[str]:
    """Problems visible in a page's HTML without running it."""
    problems = [f"loads a script from the network: {url}"
                for url in _REMOTE_SCRIPT.findall(markup)]
    if _PARAMETERS_CELL.search(markup):
        problems.append("shows a parameters cell")
    text = visible_text(markup)
    problems += [f"shows a build-machine path: ...{_context(text, m)}..."
                 for m in _MACHINE_PATH.finditer(text)]
    # prose may name a warning class in inline code (`SEEMSurgeWarning`); outputs may not
    outputs = visible_text(_INLINE_CODE.sub(" ", markup))
    problems += [f"shows a Python warning or traceback: ...{_context(outputs, m)}..."
                 for m in _PYTHON_WARNING.finditer(outputs)]
    prose = visible_text(_without_code(markup))
    problems += [f"shows a MyST role as text (not rendered): ...{_context(prose, m)}..."
                 for m in _UNRENDERED_ROLE.finditer(prose)]
    if chapter:
        provenance = _PROVENANCE.search(markup)
        if provenance is None:
            problems.append('has no "How this page was built" box naming the profile')
    return problems


def built_profile(markup: str) -> str | None:
    """The profile named in the page's "How this page was built" box."""
    found = _PROVENANCE.search(markup)
    return found.group(1) if found else None


def math_problems(dom: str) -> tuple[int, list[str]]:
    """(typeset formulas, problems) in a page's document after its scripts ran."""
    typeset = len(_TYPESET.findall(dom))
    # The head's <title> (the browser tab) cannot typeset math; code shows TeX on purpose.
    text = visible_text(_without_code(re.sub(r"<head\b.*?</head>", " ", dom, flags=re.DOTALL)))
    problems = [f"formula left as raw TeX: ...{_context(text, m)}..."
                for m in _RAW_MATH.finditer(text)]
    return typeset, problems


def _without_code(markup: str) -> str:
    return re.sub(r"<(pre|code)\b.*?</\1>", " ", markup, flags=re.DOTALL)


def _context(text: str, match: re.Match[str], width: int = 40) -> str:
    return " ".join(text[max(0, match.start() - width):match.end() + width].split())


def find_browser() -> str | None:
    """Chromium's executable: ``$SEEMREPRO_CHROMIUM``, else the first of BROWSER_NAMES found."""
    named = os.environ.get(BROWSER_VARIABLE)
    if named:
        return shutil.which(named)
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def browser_command(browser: str, url: str, *, profile_dir: Path,
                    screenshot: Path | None = None, window: tuple[int, int] = WINDOW,
                    script_time_ms: int = SCRIPT_TIME_MS) -> list[str]:
    """Headless Chromium that can resolve no host name (no network), runs the page's scripts
    for ``script_time_ms`` of virtual time, then takes ``screenshot`` or prints the DOM."""
    command = [browser, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={profile_dir}", f"--window-size={window[0]},{window[1]}",
               f"--virtual-time-budget={script_time_ms}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to sandbox itself as root
    command.append(f"--screenshot={screenshot}" if screenshot else "--dump-dom")
    return [*command, url]


def book_pages(html_root: Path) -> list[str]:
    """Every page of the book, relative to ``html_root``."""
    return sorted(
        p.relative_to(html_root).as_posix() for p in html_root.rglob("*.html")
        if "_static" not in p.relative_to(html_root).parts
        and p.relative_to(html_root).as_posix() not in SKIPPED_PAGES
    )


def check_page(html_root: Path, page: str, *, browser: str | None, shots: Path,
               timeout_s: float = 120.0) -> PageReport:
    path = html_root / page
    report = PageReport(page, html_problems(path.read_text(encoding="utf-8"),
                                            chapter=is_chapter(page)))
    if browser is None:
        return report
    with tempfile.TemporaryDirectory(prefix="seemrepro-chromium-") as profile_dir:
        dom = subprocess.run(browser_command(browser, path.as_uri(), profile_dir=Path(profile_dir)),
                             capture_output=True, text=True, timeout=timeout_s, check=False)
        if dom.returncode != 0 or "<html" not in dom.stdout:
            report.problems.append(f"Chromium failed ({dom.returncode}): {dom.stderr[-300:]}")
            return report
        report.formulas, problems = math_problems(dom.stdout)
        report.problems += problems
    with tempfile.TemporaryDirectory(prefix="seemrepro-chromium-") as profile_dir:
        target = shots / (page.removesuffix(".html").replace("/", "__") + ".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(browser_command(browser, path.as_uri(), profile_dir=Path(profile_dir),
                                       screenshot=target),
                       capture_output=True, timeout=timeout_s, check=False)
        report.screenshot = target if target.exists() else None
    return report


def main(argv: Sequence[str] | None = None) -> int:
    root = project_root()
    parser = argparse.ArgumentParser(prog="python -m seemrepro.tools.screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*",
                        help="pages relative to the HTML folder (default: every page)")
    parser.add_argument("--html", type=Path, default=root / "_build" / "html")
    parser.add_argument("--out", type=Path, default=root / "_build" / "screenshots")
    args = parser.parse_args(argv)
    args.html, args.out = args.html.resolve(), args.out.resolve()  # file URIs must be absolute
    if not (args.html / "index.html").exists():
        print(f"no built book in {args.html}: run `make book` first", file=sys.stderr)
        return 1
    browser = find_browser()
    if browser is None:
        print("Chromium not found (apt-get install chromium, or set $SEEMREPRO_CHROMIUM): "
              "skipping screenshots and the rendered-math check; checking the HTML only")
    failed = 0
    for page in args.pages or book_pages(args.html):
        report = check_page(args.html, page, browser=browser, shots=args.out)
        profile = built_profile((args.html / page).read_text(encoding="utf-8"))
        parts = [f"profile {profile}" if profile else "",
                 f"{report.formulas} formulas typeset" if report.formulas is not None else "",
                 f"screenshot {report.screenshot}" if report.screenshot else ""]
        state = "FAIL" if report.problems else "ok"
        print(f"{state:4} {page}: " + ", ".join(p for p in parts if p))
        for problem in report.problems:
            print(f"     - {problem}")
        failed += bool(report.problems)
    print(f"{failed} page(s) with problems" if failed else "every page passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
