"""demo --seed takes 0 to 2^32 - 1 and refuses the rest in one line."""
import pytest
from support.cli import invoke


@pytest.mark.parametrize("seed", ["-3", "99999999999999999999999"])
def test_a_seed_out_of_range_is_refused(seed):
    result = invoke("demo", "--seed", seed, ok=False)
    assert result.exit_code == 2 and "'--seed'" in result.stderr and "4294967295" in result.stderr
    assert "Traceback" not in result.stderr
