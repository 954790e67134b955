"""render(): the LaTeX format, bold best cells and missing cells, written out by hand."""
import json

from trecvid_fpig.report.formats import latex_escape, render

ROWS = [{"Model": "a_b & c", "x": 0.12345, "y": None}, {"Model": "d", "x": -0.00001, "y": 2.5}]


def test_latex_booktabs_with_bold_rule_and_missing():
    out = render(ROWS, ["Model", "x", "y"], "latex", decimals=3, bold={(1, "y")}, missing="–",
                 rule_before={1})
    assert out == "\n".join([
        r"\begin{tabular}{lrr}", r"\toprule", r"Model & x & y \\", r"\midrule",
        r"a\_b \& c & 0.123 & -- \\", r"\midrule", r"d & 0.000 & \textbf{2.500} \\",
        r"\bottomrule", r"\end{tabular}", ""])


def test_markdown_bold_missing_and_alignment():
    out = render(ROWS, ["Model", "x", "y"], "markdown", decimals=2, bold={(0, "x")}, missing="–")
    assert out == ("| Model | x | y |\n|---|---:|---:|\n| a_b & c | **0.12** | – |\n"
                   "| d | 0.00 | 2.50 |\n")


def test_csv_leaves_missing_empty_and_json_null():
    assert render(ROWS, ["Model", "y"], "csv", missing="–") == "Model,y\na_b & c,\nd,2.5000\n"
    assert json.loads(render(ROWS, ["y"], "json"))["rows"] == [{"y": None}, {"y": 2.5}]


def test_plain_rows_render_as_before():
    rows = [{"run": "r1", "infAP": 0.25, "topics": 20}]
    assert render(rows, ["run", "infAP", "topics"], "table") == (
        "run   infAP  topics\n---  ------  ------\nr1   0.2500      20\n")
    assert render(rows, ["run", "infAP"], "markdown") == "| run | infAP |\n|---|---:|\n| r1 | 0.2500 |\n"


def test_escapes():
    assert latex_escape("50% of #1_{x}~^\\") == (r"50\% of \#1\_\{x\}\textasciitilde{}"
                                                   r"\textasciicircum{}\textbackslash{}")
    assert latex_escape("TV21 Δ") == r"TV21 $\Delta$"
    assert "a \\| b" in render([{"m": "a | b"}], ["m"], "markdown")
