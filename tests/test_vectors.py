"""The one normaliser and the one norm check (trecvid_fpig.vectors), against independent
references, and the same refusal of a direction-less row from every reader that uses them."""
import math

import numpy as np
import pytest

from cli_helpers import invoke
from trecvid_fpig.errors import InputError
from trecvid_fpig.vectors import unit_float32, unit_row_norms


def rows(seed=0, n=50, dim=37):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32) * 3


def test_float64_division_is_the_correctly_rounded_unit_vector():
    """Each value is the float64 quotient by the float64 norm, rounded once to float32."""
    values = rows()
    got = unit_float32(values)
    for row, out in zip(values.tolist(), got):
        norm = math.sqrt(math.fsum(v * v for v in row))
        want = np.array([v / norm for v in row], dtype=np.float32)
        # fsum may differ from a float64 sum in the last bit, which no float32 rounding sees
        assert np.array_equal(out, want)
    assert got.dtype == np.float32


def test_float32_division_keeps_the_bits_topic_features_always_had():
    values = rows(1)
    reference = values / np.linalg.norm(values, axis=1, keepdims=True)
    assert unit_float32(values, divide_in="float32").tobytes() == reference.tobytes()
    with pytest.raises(ValueError):
        unit_float32(values, divide_in="float16")


@pytest.mark.parametrize("bad, kind", [(0.0, "an all-zero"), (1e-9, "an all-zero"),
                                       (np.nan, "a NaN or infinite"),
                                       (np.inf, "a NaN or infinite")])
def test_norm_check_names_the_row(bad, kind):
    values = rows(2, n=4, dim=3).astype(np.float64)
    values[2] = bad
    with pytest.raises(InputError, match=f"^f.npy: shot s7 has {kind} feature vector"):
        unit_row_norms(values, lambda row: f"s{row}", "shot", "f.npy", first_row=5)


def test_float32_norms_refuse_a_row_too_large_to_square():
    values = np.full((1, 4), 3e19, dtype=np.float32)
    with pytest.raises(InputError, match="too large to square in float32"):
        unit_row_norms(values, str, "row", None, dtype=np.float32)
    assert unit_row_norms(values, str, "row", None)[0] == pytest.approx(6e19)


def test_convert_refuses_the_near_zero_row_that_extract_refuses(tmp_path):
    """`features convert` refused only an exact zero, so a 1e-9 row became a unit vector of
    noise that `features extract` would have refused: both now use the one check."""
    values = rows(3, n=3, dim=4)
    values[1] = 1e-9
    np.save(tmp_path / "x.npy", values)
    (tmp_path / "x.ids.txt").write_text("shot00001_1 shot00001_2 shot00001_3\n")
    result = invoke("features", "convert", tmp_path / "x.npy", tmp_path / "x.fpig", ok=False)
    assert result.exit_code == 2, result.output
    assert "row 1 (shot shot00001_2) has an all-zero feature vector" in result.stderr
    assert not (tmp_path / "x.fpig").exists()
