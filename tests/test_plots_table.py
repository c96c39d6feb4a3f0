"""The book's tables: no positional index, chosen number formats, missing values as a dash."""

from __future__ import annotations

import pandas as pd
import pytest

from seemrepro.plots import table


def test_a_positional_index_is_hidden_and_a_meaningful_one_kept() -> None:
    frame = pd.DataFrame({"seed": [0, 1], "error %": [1.234, None], "ratio": [0.98765, 1.0]})
    html = table(frame, precision=2, formats={"error %": "{:.1f}"}).to_html()
    assert "row_heading" not in html and "–" in html
    assert ">1.2<" in html and ">0.99<" in html and "0.9876" not in html
    keyed = table(frame.set_index("seed")).to_html()
    assert "row_heading" in keyed


def test_only_data_frames_are_tables() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        table([1, 2, 3])
