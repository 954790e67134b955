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


@pytest.mark.parametrize("how,expected", [
    ("minmax", [1.0, 0.5, 0.0]), ("sum", [2 / 3, 1 / 3, 0.0]),
    ("zscore", [1.5 ** 0.5, 0.0, -(1.5 ** 0.5)])])
def test_scores_near_the_largest_float_are_normalised_not_flattened(how, expected):
    # max - min, the sum and the squares overflowed: minmax and sum gave NaN (refused, wrongly,
    # as infinite scores), zscore silently turned the whole run into 0s
    a = tf.Run.from_dict({"1661": {"shot00001_1": 1e308, "shot00002_1": 0.0,
                                   "shot00003_1": -1e308}}, tag="a")
    b = tf.Run.from_dict({"1661": {"shot00009_1": 1.0}}, tag="b")
    fused = tf.fuse([a, b], method="combsum", norm=how).to_dict()["1661"]
    got = [fused[f"shot0000{i}_1"] for i in (1, 2, 3)]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_raw_scores_that_add_up_past_the_largest_float_are_refused_in_one_line(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(f"1661 Q0 shot00001_1 1 1e308 {name}\n"
                                              f"1661 Q0 shot00002_1 2 0 {name}\n")
    result = invoke("fuse", "--method", "combsum", "--norm", "none", "--run-id", "x",
                    "--out", tmp_path / "x.txt", tmp_path / "a.txt", tmp_path / "b.txt", ok=False)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "topic 1661: the runs' scores add up beyond the largest float" in result.stderr
    assert not (tmp_path / "x.txt").exists()
