"""Checks of what writers leave behind, shared by the output and fault tests."""
import hashlib
import json

from support.cli import invoke

#: width of the random features of the `collection` fixture (tests/robustness/conftest.py)

D = 8


def run(c, query="q1.npy", *extra, out="runs", ok=True):
    return invoke("run", "--query-features", c / query, "--features", c / "shots.fpig",
                  "--topics", c / "t.txt", "--run-id", "r", "--out-dir", c / out, "--quiet",
                  *extra, ok=ok)


def one_error_line(result, *fragments):
    """Exit 2, and stderr is exactly one `fpig-trecvid: error:` line holding every fragment."""
    assert result.exit_code == 2, (result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fpig-trecvid: error: "), result.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    return lines[0]


def snapshot(directory):
    """Every file under `directory` (hidden ones too) with its bytes."""
    return {p.relative_to(directory): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_set_consistent(run_dir, name="t"):
    """A present sidecar describes exactly the files beside it, by sha256."""
    sidecar = run_dir / f"{name}.json"
    if not sidecar.exists():
        return
    files = json.loads(sidecar.read_text())["files"]
    for key in ("run", "xml", "query_features", "query_sidecar"):
        if key in files:
            assert sha(run_dir / files[key]) == files[f"{key}_sha256"], key
    for suffix, key in ((".xml", "xml"), (".topics.npy", "query_features")):
        if key not in files:
            assert not (run_dir / f"{name}{suffix}").exists(), f"stale {name}{suffix}"
