"""fuse --tune: a grid beyond MAX_WEIGHTINGS is refused with a coarser step; long searches show progress."""
import math

import pytest
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.errors import InputError
from trecvid_fpig.fusion import tune
from trecvid_fpig.fusion.tune import MAX_WEIGHTINGS, check_grid, grid_size, weight_grid


@pytest.mark.parametrize("n,step", [(2, 0.5), (3, 0.25), (4, 0.1), (5, 0.2)])
def test_grid_size_counts_the_grid(n, step):
    assert grid_size(n, step) == len(list(weight_grid(n, step))) == math.comb(round(1 / step) + n - 1, n - 1)


def test_the_issues_grid_is_refused_naming_its_count_and_a_step_that_fits():
    with pytest.raises(InputError, match=r"0.01 over 5 runs is 4,598,126 weightings.*--grid-step (\S+)") as caught:
        check_grid(5, 0.01)
    coarser = float(caught.value.args[0].split("--grid-step ")[1].split()[0])
    assert grid_size(5, coarser) <= MAX_WEIGHTINGS < grid_size(5, 0.01)


def test_cli_refuses_before_any_fusion(data_dir):
    runs = [data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"] * 2
    result = invoke("fuse", "--tune", "--qrels", "tv21", "--grid-step", "0.01", *runs, ok=False)
    assert result.exit_code == 2 and "176,851 weightings" in result.stderr and "--grid-step 0.04" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_long_search_shows_progress_and_quiet_hides_it(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(tune, "PROGRESS_FROM", 2)
    runs = [tf.read_run(str(data_dir / f"tv21.run{x}.txt.gz")) for x in "AB"]
    qrels = tf.load_qrels("tv21")
    tune.grid_search(runs, qrels, None, 1000, 0.5)
    assert "/3 [" in capsys.readouterr().err
    tune.grid_search(runs, qrels, None, 1000, 0.5, progress=False)
    assert capsys.readouterr().err == ""
