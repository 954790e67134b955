"""fuse's bounds: weights from 0 to 1e6 and not all 0, RRF k from 0 to 1e6; the rest refused in one line."""
import pytest
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.errors import InputError


@pytest.mark.parametrize("args,message", [
    (["--method", "weighted", "--weights", "0,0"], "every weight is 0"),
    (["--method", "weighted", "--weights", "1e308,1e308"], "weights[0] must be a finite number (at least 0 and at most 1,000,000)"),
    (["--method", "weighted", "--weights", "nan,1"], "weights[0] must be a finite number"),
    (["--rrf-k", "1e300"], "'--rrf-k'"),
    (["--rrf-k", "inf"], "'--rrf-k'"),
    (["--rrf-k", "nan"], "rrf_k must be a finite number"),
])
def test_nonsense_bounds_are_refused_in_one_line(tmp_path, data_dir, args, message):
    result = invoke("fuse", *args, "--run-id", "x", "--out", tmp_path / "x.txt",
                    data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz", ok=False)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("kwargs", [dict(method="rrf", rrf_k=-1), dict(method="rrf", rrf_k=1e300),
                                    dict(method="weighted", weights=[0, 0]),
                                    dict(method="weighted", weights=[1e300, 1])])
def test_the_api_refuses_the_same(kwargs):
    a = tf.Run.from_dict({"1661": {"shot00001_1": 1.0}}, tag="a")
    with pytest.raises(InputError):
        tf.fuse([a, a], **kwargs)


def test_the_bounds_themselves_are_taken():
    a = tf.Run.from_dict({"1661": {"shot00001_1": 1.0, "shot00002_1": 0.5}}, tag="a")
    b = tf.Run.from_dict({"1661": {"shot00002_1": 1.0, "shot00003_1": 0.5}}, tag="b")
    assert tf.fuse([a, b], method="rrf", rrf_k=1e6).topics["1661"].shots[0] == "shot00002_1"
    assert tf.fuse([a, b], method="weighted", weights=[1e6, 1]).topics["1661"].shots[0] == "shot00001_1"
