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


def _score(path):
    result = CliRunner().invoke(cli, ["score", "-q", "--qrels", "tv21", "--format", "sample-eval",
                                      str(path)])
    assert result.exit_code == 0, result.output
    return result.output.replace(str(path), "RUN")


@pytest.mark.parametrize("separator", ["\t", "\x0b", "\x0c", "\r", " \t\x0b\x0c\r "])
def test_every_ascii_separator_is_a_separator(data_dir, tmp_path, separator):
    """sample_eval.pl splits at Perl's \\s: any of them between the fields gives NIST's output."""
    import gzip
    text = gzip.decompress((data_dir / "tv21.runA.txt.gz").read_bytes()).decode()
    run = tmp_path / "run.txt"
    run.write_bytes(text.replace(" ", separator).encode())
    expected = (data_dir / "tv21.runA.sample_eval_q.out").read_text()
    assert _score(run) == expected.replace(str(data_dir / "tv21.runA.txt.gz"), "RUN")


#: Every character str.split() splits at that sample_eval.pl keeps inside a field.
PYTHON_ONLY_SPACE = [chr(c) for c in range(0x110000)
                     if len(f"a{chr(c)}b".split()) == 2 and chr(c) not in " \t\n\x0b\x0c\r"]


@pytest.mark.slow       # one perl run per character
@pytest.mark.parametrize("char", PYTHON_ONLY_SPACE)
def test_unicode_space_is_part_of_the_shot_id(data_dir, tmp_path, char):
    """A shot id ending in NBSP (U+3000, U+001F …) is another shot for sample_eval.pl: the run
    scores exactly as one whose ids end in a plain character that sorts the same way against
    every other id ('!' below the digits, as U+001C–U+001F; '~' above them, as every non-ASCII
    character in UTF-8), and not as the original run."""
    import gzip
    text = gzip.decompress((data_dir / "tv21.runA.txt.gz").read_bytes()).decode()
    lines = text.splitlines(keepends=True)
    edited = range(0, len(lines), 3)

    def with_suffix(suffix):
        out = list(lines)
        for i in edited:
            topic, q0, shot, rest = out[i].split(" ", 3)
            out[i] = f"{topic} {q0} {shot}{suffix} {rest}"
        path = tmp_path / f"run{ord(suffix[0])}.txt"
        path.write_text("".join(out), encoding="utf-8")
        return _score(path)

    plain = "!" if char < "0" else "~"
    scored = with_suffix(char)
    assert scored == with_suffix(plain)
    assert scored != (data_dir / "tv21.runA.sample_eval_q.out").read_text().replace(
        str(data_dir / "tv21.runA.txt.gz"), "RUN")
