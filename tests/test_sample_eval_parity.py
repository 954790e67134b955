"""`score --format sample-eval` against NIST's own sample_eval.pl output on the real TV21/TV23 qrels."""
import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli

CASES = [(year, run) for year in ("tv21", "tv23") for run in ("runA", "runB")]


@pytest.mark.parametrize("year,run", CASES)
@pytest.mark.parametrize("per_topic", [False, True])
def test_byte_identical_to_sample_eval(data_dir, year, run, per_topic):
    args = ["score", "--qrels", year, "--format", "sample-eval", str(data_dir / f"{year}.{run}.txt.gz")]
    suffix = "sample_eval.out"
    if per_topic:
        args.insert(1, "-q")
        suffix = "sample_eval_q.out"
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output == (data_dir / f"{year}.{run}.{suffix}").read_text()


def test_several_runs_print_blocks_in_order(data_dir):
    runs = [str(data_dir / "tv21.runB.txt.gz"), str(data_dir / "tv21.runA.txt.gz")]
    result = CliRunner().invoke(cli, ["score", "--qrels", "tv21", "--format", "sample-eval", *runs])
    expected = (f"# RUN {runs[0]}\n" + (data_dir / "tv21.runB.sample_eval.out").read_text()
                + f"# RUN {runs[1]}\n" + (data_dir / "tv21.runA.sample_eval.out").read_text())
    assert result.output == expected
