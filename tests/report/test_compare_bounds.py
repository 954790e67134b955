"""compare's bounds: seed, resamples and sign flips in documented ranges; a run or model once."""
import pytest
from support import REPO
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.errors import InputError

RUNS = ("tv21.runA.txt.gz", "tv21.runB.txt.gz")


@pytest.mark.parametrize("args,option", [
    (["--seed", "-5"], "'--seed'"), (["--seed", str(2 ** 32)], "'--seed'"),
    (["--bootstrap", "1000000000000"], "'--bootstrap'"),
    (["--permutations", "100000000000"], "'--permutations'"),
])
def test_settings_out_of_bounds_are_refused_in_one_line(data_dir, args, option):
    result = invoke("compare", "--qrels", "tv21", *args, *(data_dir / r for r in RUNS), ok=False)
    assert result.exit_code == 2 and option in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kwargs", [dict(seed=-5), dict(bootstrap=10 ** 12), dict(permutations=10 ** 11)])
def test_the_api_refuses_the_same(data_dir, kwargs):
    with pytest.raises(InputError):
        tf.compare([data_dir / r for r in RUNS], qrels="tv21", **kwargs)


def test_a_run_given_twice_is_refused(data_dir):
    result = invoke("compare", "--qrels", "tv21", data_dir / RUNS[0], data_dir / RUNS[0], ok=False)
    assert result.exit_code == 2 and "given twice" in result.stderr and RUNS[0] in result.stderr


def test_a_model_given_twice_is_refused():
    result = invoke("compare", "--manifest", REPO / "runs" / "example.toml", "--model", "runA",
                    "--model", "runA", ok=False)
    assert result.exit_code == 2 and "model 'runA' given twice" in result.stderr
