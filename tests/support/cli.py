"""Running `fpig-trecvid` in process for CLI tests."""
from click.testing import CliRunner

from trecvid_fpig.cli import cli


def runner() -> CliRunner:
    """stdout and stderr apart, on click before and after 8.2 (which dropped mix_stderr)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def invoke(verb, *args, ok=True):
    """`fpig-trecvid VERB ARGS`; asserts exit code 0 unless `ok` is False."""
    result = runner().invoke(cli, [verb, *map(str, args)])
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result
