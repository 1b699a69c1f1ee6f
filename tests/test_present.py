"""smallest_loss.present: numbers typeset for prose, tables for people; smallest_loss.paths."""

import numpy as np
import pandas as pd
import pytest

from smallest_loss import paths, present

M = present.MINUS


@pytest.mark.parametrize(
    "value, kwargs, text",
    [
        (2.2188e10, {}, "2.22 × 10¹⁰"),
        (-4e-5, {}, f"{M}4.00 × 10⁻⁵"),
        (5.76e23, {"sig": 2}, "5.8 × 10²³"),
        (123456.7, {"sig": 6}, "123,457"),
        (123456.7, {}, "123,000"),
        (1817.477, {"sig": 4}, "1,817"),
        (0.0761, {}, "0.0761"),
        (0.34731, {"decimals": 2}, "0.35"),
        (999_999.7, {}, "1.00 × 10⁶"),  # rounding decides the notation
        (0.00099996, {}, "0.00100"),
        (1.5e21, {"trailing_zeros": False, "sig": 3}, "1.5 × 10²¹"),
        (-0.0001, {"decimals": 2}, "0.00"),  # never "−0.00"
        (-0.0, {}, "0"),
        (0, {}, "0"),
        (float("nan"), {}, "nan"),
        (float("-inf"), {}, f"{M}∞"),
        (np.float64(20.0), {}, "20.0"),
        (12345, {"thousands": False, "sig": 5}, "12345"),
    ],
)
def test_number(value, kwargs, text):
    assert present.number(value, **kwargs) == text


def test_percent_and_range():
    assert present.percent(0.0761) == "7.6%"
    assert present.percent(0.5, decimals=0) == "50%"
    assert present.percent(-0.00001) == "0.0%"
    assert present.percent(-0.25) == f"{M}25.0%"
    assert present.value_range(1.2e21, 3.4e21) == "(1.20–3.40) × 10²¹"
    assert present.value_range(0.452, 0.517) == "0.452–0.517"
    assert present.value_range(0.5, 2e7) == "0.500–2.00 × 10⁷"
    assert present.superscript(-12) == "⁻¹²"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: present.number("1e3"), "value must be a real number, got '1e3'"),
        (lambda: present.number(True), "value must be a real number, got True"),
        (lambda: present.number(1.0, sig=0), "sig must be an integer from 1 to 17, got 0"),
        (lambda: present.number(1.0, decimals=-1), "decimals must be a non-negative integer, got -1"),
        (lambda: present.number(1.0, sci_below=1e7), "sci_below (10000000.0) must be smaller"),
        (lambda: present.percent(None), "fraction must be a real number, got None"),
        (lambda: present.value_range(2, 1), "value_range: low (2.0) is larger than high (1.0)"),
        (lambda: present.superscript(1.5), "superscript: exponent must be an integer, got 1.5"),
        (lambda: present.glue("not a name", 1.0), "glue: name must be an identifier-like string"),
        (lambda: present.table([1, 2]), "table: df must be a pandas DataFrame, got list"),
        (lambda: present.table(pd.DataFrame({"a": [1]}), {"b": "{:.1f}"}),
         "table: formats name columns not in the table: ['b']"),
    ],
)
def test_bad_input_is_one_line_value_error(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_table_formats_for_people():
    df = pd.DataFrame(
        {
            "E": [1.817477, -0.00001],
            "flops": [5.7e20, 1.71e9],
            "runs": [3, 12345678],
            "share": [0.076, 0.5],
            "source": ["Hoffmann et al. 2022, Table 3 " + "x" * 80, "y"],
            "used": [True, False],
        },
        index=pd.Index([9.999999999999998e22, 20.0], name="tokens per parameter"),
    )
    html = present.table(df, {"E": "{:.4f}", "share": "%"}).to_html()
    assert 'class="sl-table"' in html and "padding: 0.25em 0.8em" in html
    assert "1.8175" in html and "0.0000" in html and "-0.0000" not in html and f"{M}0.0000" not in html
    assert "5.70 × 10²⁰" in html and "1.71 × 10⁹" in html  # per-column sig figs, ×10ⁿ
    assert "12,345,678" in html and ">3<" in html.replace(" ", "")  # integers in full
    assert "7.6%" in html and "50.0%" in html
    assert "x" * 80 in html and "…" not in html  # never truncated
    assert "1.00 × 10²³" in html and "99999999999999" not in html  # no float index noise
    assert ">yes<" in html.replace(" ", "") and ">no<" in html.replace(" ", "")
    assert html.count("<tr>") == 4  # two header rows (columns, index name) and two data rows


def test_table_hides_a_plain_range_index_and_keeps_a_named_one():
    plain = present.table(pd.DataFrame({"a": [1.0, 2.0]})).to_html()
    assert "row_heading" not in plain
    named = present.table(pd.DataFrame({"a": [1.0]}, index=pd.Index(["x"], name="law"))).to_html()
    assert "row_heading" in named and ">x<" in named.replace(" ", "")


def test_glue_stores_raw_value_and_typeset_text(monkeypatch):
    import myst_nb

    stored = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: stored.__setitem__(name, value))
    text = present.glue("params_opt", np.float64(6.93e10), sig=3)
    assert text == "6.93 × 10¹⁰"
    assert stored == {"params_opt": 6.93e10, "params_opt_text": "6.93 × 10¹⁰"}
    assert type(stored["params_opt"]) is float
    present.glue("mfu", 0.4, as_percent=True, decimals=0)
    assert stored["mfu_text"] == "40%"


def test_data_path_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no data/ above: falls back to the installed repository's
    found = paths.data_path("chinchilla_table2.csv")
    assert found.is_file() and found.parent.name == "data"
    nested = found.parent.parent / "notebooks"
    assert paths.data_dir(nested) == found.parent
    with pytest.raises(ValueError, match="'nope.csv' is not in"):
        paths.data_path("nope.csv")
    with pytest.raises(ValueError, match="name must be a file name inside data/"):
        paths.data_path("../README.md")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is not a folder"):
        paths.data_dir()
