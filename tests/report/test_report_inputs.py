"""Report inputs that pointed at the wrong thing: plot --out dir/, names with a newline,
manifest option errors and --years errors."""
import shutil

import numpy as np
import pytest
from support.cli import invoke

from trecvid_fpig.errors import InputError
from trecvid_fpig.report.formats import render
from trecvid_fpig.report.plots import figure_paths


@pytest.mark.parametrize("prefix", ["out/", "out/.", "out/..", "."])
def test_a_prefix_naming_a_folder_is_refused(tmp_path, prefix):
    with pytest.raises(InputError, match="names a folder; give a file name prefix"):
        figure_paths(prefix)


def test_plot_out_dir_writes_no_hidden_files(tmp_path, data_dir):
    (tmp_path / "figs").mkdir()
    result = invoke("plot", "topics", "--qrels", "tv21", "--out", f"{tmp_path / 'figs'}/",
                    data_dir / "tv21.runA.txt.gz", ok=False)
    assert result.exit_code == 2 and "names a folder" in result.stderr
    assert list((tmp_path / "figs").iterdir()) == []


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex"])
def test_a_newline_in_a_name_cannot_break_a_row(fmt):
    rows = [{"model": "two\nlines", "v": 0.5}, {"model": "tab\there", "v": 0.25}]
    text = render(rows, ["model", "v"], fmt, 3)
    assert len(text.splitlines()) == len(render([{"model": "x", "v": 0.5}] * 2, ["model", "v"], fmt, 3).splitlines())
    assert "two" in text and "lines" in text


def test_compare_of_a_run_whose_file_name_has_a_newline(tmp_path, data_dir):
    odd = tmp_path / "run\nA.txt.gz"
    shutil.copy(data_dir / "tv21.runA.txt.gz", odd)
    out = invoke("compare", "--qrels", "tv21", "--format", "markdown", "--no-per-topic", "--bootstrap", "100",
                 odd, data_dir / "tv21.runB.txt.gz").stdout
    row = next(line for line in out.splitlines() if line.startswith("| 20 |"))
    assert "run\\nA.txt.gz" in row and row.endswith("|")


def test_a_manifest_model_name_must_be_one_line(tmp_path):
    (tmp_path / "m.toml").write_text('[[model]]\nname = "a\\nb"\n')
    result = invoke("tables", tmp_path / "m.toml", ok=False)
    assert result.exit_code == 2 and "m.toml: [[model]] #1.name must be one line" in result.stderr


@pytest.mark.parametrize("option,message", [
    ("captions_per_video = 0", "captions per video must be at least 1, got 0"),
    ("captions_per_video = 1, dsl = true, dsl_temperature = -1.0", "DSL temperature"),
])
def test_a_recall_option_error_names_the_manifest_and_the_model(tmp_path, option, message):
    np.save(tmp_path / "s.npy", np.eye(4, dtype=np.float32))
    (tmp_path / "m.toml").write_text(f'[[model]]\nname = "X"\nrecall.msrvtt-1k = {{ sims = "s.npy", {option} }}\n')
    result = invoke("tables", tmp_path / "m.toml", "--no-cache", ok=False)
    assert result.exit_code == 2
    assert f"m.toml: model 'X' recall.msrvtt-1k: {message}" in result.stderr


@pytest.mark.parametrize("years,message", [("tv99", "unknown TRECVID year 'tv99' in --years"),
                                           ("tv21,tv21", "year 'tv21' is listed twice in --years")])
def test_years_errors_name_the_option_not_the_manifest(tmp_path, data_dir, years, message):
    (tmp_path / "m.toml").write_text(f'[[model]]\nname = "X"\ntrecvid.tv21 = "{data_dir / "tv21.runA.txt.gz"}"\n')
    result = invoke("tables", tmp_path / "m.toml", "--years", years, ok=False)
    assert result.exit_code == 2 and message in result.stderr
    assert "m.toml" not in result.stderr
