"""A browse site built once from the tv21 test runs and generated keyframes, and what it must
show (tests/support/browse.py)."""
import pytest
from support.browse import DEPTH, RUNS, expected_site, top_shots, write_keyframes
from support.cli import invoke


@pytest.fixture(scope="session")
def expected():
    return expected_site()


@pytest.fixture(scope="session")
def keyframes(tmp_path_factory, expected):
    root = tmp_path_factory.mktemp("browse") / "keyframes"
    left_out = write_keyframes(root, top_shots(expected))
    return root, set(left_out)


@pytest.fixture(scope="session")
def site(tmp_path_factory, keyframes):
    out = tmp_path_factory.mktemp("browse-site") / "site"
    result = invoke("browse", *RUNS, "--qrels", "tv21", "--keyframes", keyframes[0],
                    "--depth", DEPTH, "--thumb-size", 96, "--workers", 2, "--out", out)
    return out, result
