"""docs/: every shell command shown runs on the shipped data, the CLI reference matches --help,
and the numbers of the xinfAP worked example are recomputed independently."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO

from trecvid_fpig.cli import cli
from trecvid_fpig.cli.reference import WIDTH, cli_reference
from trecvid_fpig.evaluate.xinfap import evaluate_run
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.runs import parse_run

DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
#: ```bash blocks run; these labels mark commands that need the user's data, or install things.
SKIPPED = {"bash your-data", "bash setup"}


def fenced_blocks(path):
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


def commands_with_output(path):
    """(command, expected stdout or None) for each runnable block; skipped blocks are counted."""
    blocks, runnable, skipped = fenced_blocks(path), [], 0
    for i, (info, body) in enumerate(blocks):
        if info.startswith("bash"):
            assert info == "bash" or info in SKIPPED, f"{path.name}: unknown fence label {info!r}"
            if info in SKIPPED:
                skipped += 1
                continue
            follows = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            runnable.append((body, follows[1] if follows[0] == "output" else None))
        elif info == "output":
            assert i > 0 and blocks[i - 1][0] == "bash", f"{path.name}: output block after no command"
    return runnable, skipped


def workspace(tmp_path):
    """A folder laid out like the repository's shipped data: runs/ and tests/data/."""
    shutil.copytree(REPO / "runs", tmp_path / "runs", ignore=shutil.ignore_patterns(".fpig-cache", "*.part"))
    shutil.copytree(REPO / "tests" / "data", tmp_path / "tests" / "data")
    return tmp_path


def files_under(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def check_writes_stay_in_out(doc, new_files):
    """Following a doc leaves `git status` clean: everything it writes is under out/ (or a
    manifest's .fpig-cache/), and git ignores it."""
    stray = sorted(f for f in new_files if not f.startswith("out/") and "/.fpig-cache/" not in f)
    assert not stray, f"{doc.name} writes outside out/: {stray[:5]}"
    if new_files:
        ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "--stdin"],
                                 input="\n".join(sorted(new_files)) + "\n", capture_output=True,
                                 text=True).stdout.split()
        assert sorted(ignored) == sorted(new_files), \
            f"{doc.name}: git would show {sorted(set(new_files) - set(ignored))[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_commands_in_docs_run(doc, tmp_path):
    runnable, _ = commands_with_output(doc)
    cwd = workspace(tmp_path)
    before = files_under(cwd)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               COLUMNS=str(WIDTH))
    for command, expected in runnable:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{doc.name}: {command}\n{done.stderr}"
        if expected is not None:
            assert done.stdout == expected, f"{doc.name}: {command}"
    check_writes_stay_in_out(doc, files_under(cwd) - before)


def test_the_writes_check_can_fail():
    with pytest.raises(AssertionError, match="writes outside out/"):
        check_writes_stay_in_out(Path("x.md"), {"table-s1.tex"})
    check_writes_stay_in_out(Path("x.md"), {"out/a.png", "runs/.fpig-cache/s1-x.json"})


PYTHON_DOCS = [d for d in DOCS if any(info == "python" for info, _ in fenced_blocks(d))]


@pytest.mark.slow       # a Python subprocess per page, scoring the shipped runs
@pytest.mark.parametrize("doc", PYTHON_DOCS, ids=[d.name for d in PYTHON_DOCS])
def test_python_in_docs_runs(doc, tmp_path):
    """```python blocks run in order in one interpreter, as cells of one notebook."""
    cells = [body for info, body in fenced_blocks(doc) if info == "python"]
    script = "\n".join(f"# --- cell {i}\n{body}" for i, body in enumerate(cells, 1))
    before = files_under(workspace(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, f"{doc.name}:\n{done.stderr}"
    check_writes_stay_in_out(doc, files_under(tmp_path) - before)


def test_docs_show_both_kinds_of_commands():
    counts = [commands_with_output(d) for d in DOCS]
    assert sum(len(r) for r, _ in counts) >= 10
    assert sum(s for _, s in counts) >= 3


def test_getting_started_opens_with_the_readme_commands():
    readme = [b for info, b in fenced_blocks(REPO / "README.md") if info == "bash"]
    started = "".join(b for info, b in fenced_blocks(REPO / "docs" / "getting-started.md")
                      if info.startswith("bash"))
    assert readme and all(command in started for command in readme)


def test_cli_reference_is_in_sync():
    assert (REPO / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(), \
        "docs/cli.md is stale: python -m trecvid_fpig.cli.reference docs/cli.md"


def test_cli_reference_is_what_help_prints():
    reference = cli_reference()
    paths = re.findall(r"^## `fpig-trecvid ?(.*)`$", reference, re.M)
    assert {"score", "tables", "compare", "plot topics", "plot sensitivity"} <= set(paths)
    for path in paths:
        result = CliRunner().invoke(cli, [*path.split(), "--help"], prog_name="fpig-trecvid",
                                    terminal_width=WIDTH)
        assert result.exit_code == 0
        assert f"```text\n{result.output}```" in reference, path


# --- the worked example of docs/xinfap.md -------------------------------------------------

XINFAP_DOC = REPO / "docs" / "xinfap.md"


def heredoc(text, name):
    return re.search(rf"cat > {re.escape(name)} <<'EOF'\n(.*?)^EOF$", text, re.M | re.S).group(1)


def stated(text, label):
    return float(re.search(rf"\*\*{label} (\d\.\d{{4}})\*\*", text).group(1))


def hand_computation(qrels_text, run_text):
    """The estimator as the doc states it, written from the formulas, not from the evaluator."""
    pool = {}
    for line in qrels_text.split("\n"):
        if line:
            _, _, shot, stratum, judgment = line.split()
            pool[shot] = (stratum, int(judgment))
    ranked = sorted(((float(l.split()[4]), l.split()[2]) for l in run_text.split("\n") if l), reverse=True)
    strata = sorted({s for s, _ in pool.values()})
    size = {s: sum(1 for t, _ in pool.values() if t == s) for s in strata}
    judged = {s: sum(1 for t, j in pool.values() if t == s and j >= 0) for s in strata}
    relevant = {s: sum(1 for t, j in pool.values() if t == s and j > 0) for s in strata}
    r_hat = {s: relevant[s] * size[s] / judged[s] for s in strata}
    rows, sums = [], {s: 0.0 for s in strata}
    xinf_trec, judged_rel_total = 0.0, sum(relevant.values())
    for k, (_, shot) in enumerate(ranked, 1):
        if shot not in pool or pool[shot][1] <= 0:
            continue
        above = [pool[s] for _, s in ranked[:k - 1] if s in pool]
        d = [sum(1 for t, _ in above if t == s) for s in strata]
        j = [sum(1 for t, g in above if t == s and g >= 0) for s in strata]
        r = [sum(1 for t, g in above if t == s and g > 0) for s in strata]
        prec = 1 / k + sum(d[i] * (r[i] + 1e-5) / (j[i] + 3e-5) for i in range(len(strata))) / k
        sums[pool[shot][0]] += prec
        rows.append((k, shot, pool[shot][0], d, j, r, prec))
        trec = 1.0 if k == 1 else 1 / k + (k - 1) / k * (sum(d) / (k - 1)) * (sum(r) + 1e-5) / (sum(j) + 2e-5)
        xinf_trec += trec / judged_rel_total
    total = sum(r_hat.values())
    ap = sum(r_hat[s] / total * sums[s] / relevant[s] for s in strata)
    return rows, ap, xinf_trec


def test_worked_example_numbers(tmp_path):
    import ir_measures

    text = XINFAP_DOC.read_text(encoding="utf-8")
    qrels_text, run_text = heredoc(text, "out/example.qrels"), heredoc(text, "out/example.run")
    rows, ap, trec_infap = hand_computation(qrels_text, run_text)

    table = [l for l in text.splitlines() if re.match(r"\| \d+ \| shot", l)]
    assert len(table) == len(rows)
    for line, (k, shot, stratum, d, j, r, prec) in zip(table, rows):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells == [str(k), shot, stratum, ", ".join(map(str, d)), ", ".join(map(str, j)),
                         ", ".join(map(str, r)), f"{prec:.4f}"]

    (tmp_path / "q").write_text(qrels_text)
    (tmp_path / "r").write_text(run_text)
    evaluated = evaluate_run(parse_qrels(tmp_path / "q"), parse_run(tmp_path / "r")).infAP
    assert round(ap, 4) == round(evaluated, 4) == stated(text, "xinfAP")

    qrels = [ir_measures.Qrel(*l.split()[0:3:2], int(l.split()[4])) for l in qrels_text.split("\n") if l]
    run = [ir_measures.ScoredDoc(l.split()[0], l.split()[2], float(l.split()[4]))
           for l in run_text.split("\n") if l]
    trec_eval = ir_measures.calc_aggregate([ir_measures.infAP], qrels, run)[ir_measures.infAP]
    assert round(trec_eval, 4) == round(trec_infap, 4) == stated(text, "trec_eval infAP")
    judged_only = [q for q in qrels if q.relevance >= 0]
    assert round(ir_measures.calc_aggregate([ir_measures.infAP], judged_only, run)[ir_measures.infAP], 4) \
        == stated(text, "judged-only infAP")


# --- manifests shown in the docs --------------------------------------------------------------

def toml_blocks(path):
    return [body for info, body in fenced_blocks(path) if info == "toml"]


@pytest.mark.parametrize("doc", ["runs/README.md", "docs/formats.md", "docs/paper-tables.md"])
def test_toml_shown_in_docs_is_accepted(doc, tmp_path):
    from trecvid_fpig.report.manifest import load_manifest
    from trecvid_fpig.report.published import load_published

    blocks = toml_blocks(REPO / doc)
    assert blocks
    for n, block in enumerate(blocks):
        path = tmp_path / f"{n}.toml"
        path.write_text(block, encoding="utf-8")
        if "[s1.rows]" in block:
            assert load_published(path).tables["s1"].rows
        else:
            assert load_manifest(path).models


def test_paper_tables_doc_shows_the_example_manifest(tmp_path):
    from trecvid_fpig.report.manifest import load_toml

    (tmp_path / "shown.toml").write_text(toml_blocks(REPO / "docs" / "paper-tables.md")[0], encoding="utf-8")
    assert load_toml(tmp_path / "shown.toml", "doc") == load_toml(REPO / "runs" / "example.toml", "example")
