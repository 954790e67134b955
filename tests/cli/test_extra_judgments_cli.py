"""Judging the unpooled shots as an extra stratum (issue 35): `qrels todo`, `qrels merge`,
`score --extra-qrels`, `load_qrels(extra=...)`, and every bad extra-judgments file refused."""
import gzip
import hashlib
import json

import pytest
from support.cli import invoke
from support.pool import nist_ranking, qrels_pool

import trecvid_fpig as tf
from trecvid_fpig.formats.qrels import Qrels, load_qrels, parse_qrels, sidecar_path
from trecvid_fpig.formats.shipped import fetched_file
from trecvid_fpig.formats.topics import REGISTRY as TOPIC_SETS
from trecvid_fpig.formats.topics import resolve_qrels

RUNS = {"tv21": "tv21.runB.txt.gz", "tv23": "tv23.runB.txt.gz"}


def _ranked(path):
    return nist_ranking(gzip.open(path, "rt").read().splitlines())


def _extra(tmp_path, data_dir, year, values, name="extra.txt"):
    """Judgments of the first unpooled shots of each topic of the year's runB: `values` gives
    the judgment of the i-th one (all 1, all 0 or mixed)."""
    pool, lines = qrels_pool(year), ["# judged by hand", ""]
    for topic, shots in _ranked(data_dir / RUNS[year]).items():
        unpooled = [s for s in shots if s not in pool[topic]][:6]
        lines += [f"{topic}\t{shot}  {values(i)}   # rank {shots.index(shot) + 1}"
                  for i, shot in enumerate(unpooled)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


KINDS = {"all-1": lambda i: 1, "all-0": lambda i: 0, "mixed": lambda i: i % 2}


@pytest.mark.parametrize("year", ["tv21", "tv23"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_extra_qrels_scores_as_the_merged_file(year, kind, tmp_path, data_dir):
    extra = _extra(tmp_path, data_dir, year, KINDS[kind])
    merged = tmp_path / "merged.qrels"
    result = invoke("qrels", "merge", year, extra, "--out", merged)
    assert merged.is_file() and result.stderr == (
        f"{merged}: {year} with 1 extra-judgment file(s) as stratum 4; {merged}.json records them: "
        f"keep it beside {merged}, or its scores no longer say they use extra judgments\n")
    run = data_dir / RUNS[year]
    for args in (["--format", "sample-eval"], ["--format", "sample-eval", "-q"], ["--format", "csv"],
                 ["--format", "csv", "-q", "--coverage"], ["--format", "table"],
                 ["--format", "markdown", "-q"]):
        with_extra = invoke("score", "--qrels", year, "--extra-qrels", extra, *args, run)
        on_file = invoke("score", "--qrels", merged, *args, run)
        assert (with_extra.stdout, with_extra.stderr) == (on_file.stdout, on_file.stderr)
        assert "scored with extra judgments" in with_extra.output + with_extra.stderr
    as_json = [json.loads(invoke("score", "--qrels", q, *e, "--format", "json", run).stdout)
               for q, e in ((year, ["--extra-qrels", extra]), (merged, []))]
    assert as_json[0]["rows"] == as_json[1]["rows"]
    assert as_json[0]["meta"]["extra_qrels"] == as_json[1]["meta"]["extra_qrels"] == \
        [{"path": str(extra), "sha256": _sha256(extra)}]


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_merge_writes_a_sidecar_recording_base_extras_stratum_and_output(tmp_path, data_dir):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("1661 shot99999_1 1\n")
    second.write_text("1662 shot99999_1 0\n")
    merged = tmp_path / "m.qrels"
    invoke("qrels", "merge", "tv21", first, second, "--out", merged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "m.qrels", "m.qrels.json"]
    assert json.loads((tmp_path / "m.qrels.json").read_text()) == {
        "written_by": "fpig-trecvid qrels merge", "stratum": "4",
        "base": {"qrels": "tv21", "sha256": _sha256(resolve_qrels("tv21"))},
        "extra_qrels": [{"path": str(first), "sha256": _sha256(first)},
                        {"path": str(second), "sha256": _sha256(second)}],
        "sha256": _sha256(merged)}
    api = tf.score(str(data_dir / "tv21.runA.txt.gz"), str(merged))
    assert api.attrs["extra_qrels"] == [{"path": str(first), "sha256": _sha256(first)},
                                        {"path": str(second), "sha256": _sha256(second)}]
    assert load_qrels(merged).extra_record == load_qrels("tv21", extra=[first, second]).extra_record
    again = invoke("qrels", "merge", merged, first, "--out", tmp_path / "m2.qrels", ok=False)
    assert again.exit_code == 2 and "merge every file into tv21 at once" in again.stderr


def test_an_edited_merged_file_warns_and_a_bare_copy_is_plain_qrels(tmp_path, data_dir):
    extra = tmp_path / "mine.txt"
    extra.write_text("1661 shot99999_1 1\n")
    merged, run = tmp_path / "m.qrels", data_dir / "tv21.runA.txt.gz"
    invoke("qrels", "merge", "tv21", extra, "--out", merged)
    merged.write_text(merged.read_text().replace("shot99999_1 4 1", "shot99999_1 4 0"))
    edited = invoke("score", "--qrels", merged, run)
    [warning] = edited.stderr.splitlines()
    assert warning.startswith(f"fpig-trecvid: warning: {merged}: does not match its sidecar "
                              "m.qrels.json") and "read as plain qrels" in warning
    assert "extra judgments" not in edited.stdout
    bare = tmp_path / "copy.qrels"
    bare.write_bytes(merged.read_bytes())
    copied = invoke("score", "--qrels", bare, run)
    assert copied.stderr == "" and copied.stdout == edited.stdout


@pytest.mark.parametrize("year", ["tv21", "tv23"])
def test_all_0_keeps_infap_up_to_the_estimators_terms_and_all_1_raises_it(year, tmp_path, data_dir):
    run = tf.read_run(str(data_dir / RUNS[year]))
    base = tf.score(run, year, per_topic=True).set_index("topic").infAP
    zeros = load_qrels(year, extra=[_extra(tmp_path, data_dir, year, KINDS["all-0"], "zeros.txt")])
    ones = load_qrels(year, extra=[_extra(tmp_path, data_dir, year, KINDS["all-1"], "ones.txt")])
    with_zeros = tf.score(run, zeros, per_topic=True).set_index("topic").infAP
    with_ones = tf.score(run, ones, per_topic=True).set_index("topic").infAP
    assert ((with_zeros - base).abs() < 1e-4).all() and (with_zeros != base).any()
    assert (with_ones > base).all()


def test_merged_qrels_file_is_the_in_memory_merge(tmp_path, data_dir):
    extra = _extra(tmp_path, data_dir, "tv21", KINDS["mixed"])
    invoke("qrels", "merge", "tv21", extra, "--out", tmp_path / "m.qrels")
    on_file, in_memory = parse_qrels(tmp_path / "m.qrels"), load_qrels("tv21").merge(extra)
    assert in_memory.extra_stratum == "4"          # after NIST's strata 1-3
    for topic, tj in on_file.topics.items():
        mine = in_memory.topics[topic]
        assert (tj.strata, tj.pooled, tj.judged, tj.relevant, tj.est_relevant, tj.ideal_dcg) == \
            (mine.strata, mine.pooled, mine.judged, mine.relevant, mine.est_relevant, mine.ideal_dcg)
    lines = (tmp_path / "m.qrels").read_text().splitlines()
    assert lines[-1].split()[1:4:2] == ["0", "4"] and len(lines) == len(gzip.open(
        resolve_qrels("tv21"), "rt").read().splitlines()) + 120


def test_todo_lists_the_unpooled_top_k_in_judging_order(tmp_path, data_dir):
    pool = qrels_pool("tv21")
    runs = [data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"]
    out = tmp_path / "todo.tsv"
    invoke("qrels", "todo", *runs, "--qrels", "tv21", "--depth", "20", "--out", out)
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == ["topic", "shot", "best_rank", "runs"]
    want = {}
    for run in runs:
        for topic, shots in _ranked(run).items():
            for rank, shot in enumerate(shots[:20], 1):
                if shot not in pool[topic]:
                    best, names = want.get((topic, shot), (rank, []))
                    want[topic, shot] = (min(best, rank), names + [str(run)])
    assert {(t, s): (int(b), r.split(",")) for t, s, b, r in rows[1:]} == want
    order = [(int(t), int(b), -len(r.split(",")), s) for t, s, b, r in rows[1:]]
    assert order == sorted(order) and len(rows) > 1
    other_year = invoke("qrels", "todo", runs[0], data_dir / "tv23.runA.txt.gz", "--qrels", "tv21",
                        ok=False)
    assert other_year.exit_code == 2 and other_year.stdout == ""
    assert f"{data_dir / 'tv23.runA.txt.gz'}: none of the run's topics (1731" in other_year.stderr


def test_api_load_qrels_extra_and_merge(tmp_path, data_dir):
    extra = _extra(tmp_path, data_dir, "tv21", KINDS["mixed"])
    merged = tf.load_qrels("tv21", extra=[extra])
    assert isinstance(merged, Qrels) and merged.extras[0].path == str(extra)
    assert merged.topics["1661"].est_relevant == load_qrels("tv21").merge(extra).topics["1661"].est_relevant
    with pytest.raises(tf.InputError, match="extra"):
        tf.load_qrels("tv21", extra=[3])
    with pytest.raises(tf.InputError, match="already hold extra judgments"):
        merged.merge(extra)


GOOD = "1661 shot99999_1 1\n"
BAD = {
    "columns.txt": (b"1661 shot99999_1\n", 1, "expected 3 whitespace-separated fields"),
    "qrels-line.txt": (b"1661 0 shot99999_1 4 1\n", 1, "found 5: '1661 0 shot99999_1 4 1'; that is "
                       "a qrels line (topic iteration shot stratum judgment): write 'topic shot "
                       "judgment', the merge numbers the stratum"),
    "grade.txt": (b"# c\n1661 shot99999_1 2\n", 2, "judgment must be 1 (relevant) or 0"),
    "unjudged.txt": (b"1661 shot99999_1 -1\n", 1, "judgment must be 1 (relevant) or 0"),
    "topic.txt": (b"1731 shot99999_1 1\n", 1, "topic 1731 is not in the qrels"),
    "topic-form.txt": (b"661 shot99999_1 1\n", 1, "661"),
    "shot.txt": (b"1661 99999_1 1\n", 1, "'99999_1' is not a shot id"),
    "bom.txt": (b"\xef\xbb\xbf" + GOOD.encode(), 1, "byte order mark"),
    "crlf.txt": (b"1661 shot99999_1 1\r\n", 1, "CRLF"),
    "twice.txt": (b"1661 shot99999_1 1\n1661 shot99999_1 1\n", 2, "judged twice (first at line 1)"),
    "empty.txt": (b"# nothing yet\n", None, "no judgments in the file"),
}


def _pooled_lines():
    pool = qrels_pool("tv21")["1661"]
    judged = next(s for s, j in pool.items() if j == 0)
    sampled_out = next(s for s, j in pool.items() if j == -1)
    return {"judged.txt": (f"1661 {judged} 1\n".encode(), 1, "NIST judged it"),
            "sampled-out.txt": (f"# c\n1661 {sampled_out} 0\n".encode(), 2,
                                "pooled but not sampled (-1)")}


@pytest.mark.parametrize("name", sorted(BAD) + ["judged.txt", "sampled-out.txt"])
def test_bad_extra_judgments_are_one_line_exit_2_nothing_written(name, tmp_path, data_dir):
    content, line, needle = {**BAD, **_pooled_lines()}[name]
    bad = tmp_path / name
    bad.write_bytes(content)
    out = tmp_path / "merged.qrels"
    where = f"{bad}:{line}: " if line else f"{bad}: "
    for args in (["qrels", "merge", "tv21", bad, "--out", out],
                 ["score", "--qrels", "tv21", "--extra-qrels", bad, data_dir / "tv21.runA.txt.gz"]):
        result = invoke(*args, ok=False)
        assert result.exit_code == 2, result.output
        [message] = result.stderr.splitlines()
        assert where in message and needle in message and "Traceback" not in result.stderr
        assert not out.exists() and result.stdout == ""


def test_conflicting_files_and_output_as_input_are_refused(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("1661 shot99999_1 1\n1661 shot99999_2 0\n")
    second.write_text("1661 shot99999_2 0\n1662 shot99999_1 1\n1661 shot99999_1 0\n")
    out = tmp_path / "m.qrels"
    result = invoke("qrels", "merge", "tv21", first, second, "--out", out, ok=False)
    assert result.exit_code == 2 and not out.exists()
    assert f"{second}:3: shot shot99999_1 of topic 1661 is judged 0 here and 1 in {first}:1" \
        in result.stderr
    same = invoke("qrels", "merge", "tv21", first, first, "--out", first, ok=False)
    assert same.exit_code == 2 and first.read_text().startswith("1661 shot99999_1 1")
    sidecar_input = tmp_path / "c.qrels.json"
    sidecar_input.write_text(first.read_text())
    refused = invoke("qrels", "merge", "tv21", sidecar_input, "--out", tmp_path / "c.qrels", ok=False)
    assert refused.exit_code == 2 and "is the same file as the extra judgments" in refused.stderr
    assert not (tmp_path / "c.qrels").exists()
    agreeing = tmp_path / "c.txt"
    agreeing.write_text("1661 shot99999_2 0\n")
    invoke("qrels", "merge", "tv21", first, agreeing, "--out", out)
    assert out.read_text().count("shot99999_2") == 1          # judged the same twice: once


def _not_a_judgments_file(tmp_path, kind):
    """A path that names no readable text file, and the start of what the error says."""
    if kind == "directory":
        (tmp_path / "judged").mkdir()
        return tmp_path / "judged", "is a directory"
    if kind == "missing":
        return tmp_path / "judged.txt", "no such file"
    path = tmp_path / "latin1.txt"
    path.write_bytes("# jugé à la main\n1661 shot99999_1 1\n".encode("latin-1"))
    return path, "bytes that are not UTF-8 text"


@pytest.mark.parametrize("kind", ["directory", "missing", "not-utf8"])
def test_unreadable_extra_judgments_are_one_line_exit_2_nothing_written(kind, tmp_path, data_dir):
    bad, needle = _not_a_judgments_file(tmp_path, kind)
    out = tmp_path / "merged.qrels"
    for args in (["qrels", "merge", "tv21", bad, "--out", out],
                 ["score", "--qrels", "tv21", "--extra-qrels", bad, data_dir / "tv21.runA.txt.gz"]):
        result = invoke(*args, ok=False)
        assert result.exit_code == 2 and result.stdout == "" and not out.exists()
        [message] = result.stderr.splitlines()
        assert message.startswith(f"fpig-trecvid: error: {bad}") and needle in message


def test_merge_refuses_its_output_as_an_input_however_spelt(tmp_path, data_dir, monkeypatch):
    extra, base = tmp_path / "mine.txt", tmp_path / "base.qrels"
    extra.write_text("1661 shot99999_1 1\n")
    base.write_bytes(gzip.open(resolve_qrels("tv21")).read())
    (tmp_path / "link.txt").symlink_to(extra)
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in (extra, base)}
    for out, label in ((base, "qrels"), ("./base.qrels", "qrels"), (tmp_path / "link.txt", "extra"),
                       ("mine.txt", "extra"), (f"../{tmp_path.name}/mine.txt", "extra")):
        result = invoke("qrels", "merge", "base.qrels", "mine.txt", "--out", out, ok=False)
        assert result.exit_code == 2 and f"is the same file as the {label}" in result.stderr
    assert {p.name: p.read_bytes() for p in (extra, base)} == before
    assert not (tmp_path / "base.qrels.json").exists() and not (tmp_path / "mine.txt.json").exists()


def test_todo_refuses_a_bad_run_a_bad_depth_and_its_input_as_output(tmp_path, data_dir):
    run = tmp_path / "run.txt"
    run.write_text("1661 Q0 shot00001_1 1 0.9 mine\n1661 Q0 shot00001_2 2\n")
    result = invoke("qrels", "todo", run, "--qrels", "tv21", ok=False)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"fpig-trecvid: error: {run}:2: expected 6 whitespace-"
                                          "separated fields (topic Q0 shot rank score tag), found 4: "
                                          "'1661 Q0 shot00001_2 2'"]
    good = data_dir / "tv21.runA.txt.gz"
    for depth in ("0", "-5", "1001", "ten"):
        result = invoke("qrels", "todo", good, "--qrels", "tv21", "--depth", depth, ok=False)
        assert result.exit_code == 2 and "--depth" in result.stderr and result.stdout == ""
    run.write_text("1661 Q0 shot00001_1 1 0.9 mine\n")
    before = run.read_text()
    result = invoke("qrels", "todo", run, "--qrels", "tv21", "--out", run, ok=False)
    assert result.exit_code == 2 and "is the same file as the run" in result.stderr
    assert run.read_text() == before


def test_todo_and_merge_refuse_to_write_over_named_qrels_or_their_sidecar(tmp_path, monkeypatch):
    """--qrels tv19 names a file in the data folder: writing there would destroy it."""
    monkeypatch.setenv("FPIG_TRECVID_DATA", str(tmp_path / "data"))
    installed = fetched_file("qrels/" + TOPIC_SETS["tv19"].fetched_qrels)
    installed.parent.mkdir(parents=True)
    installed.write_text("611 0 shot00001_1 1 1\n611 0 shot00001_2 1 0\n")
    record = sidecar_path(installed)
    record.write_text("{}\n")
    run, extra = tmp_path / "run.txt", tmp_path / "mine.txt"
    run.write_text("611 Q0 shot00002_1 1 0.9 mine\n")
    extra.write_text("611 shot00002_1 1\n")
    before = {p: p.read_bytes() for p in (installed, record)}
    for out in (installed, record):
        todo = invoke("qrels", "todo", run, "--qrels", "tv19", "--out", out, ok=False)
        merge = invoke("qrels", "merge", "tv19", extra, "--out", out, ok=False)
        for result in (todo, merge):
            assert result.exit_code == 2 and "is the same file as the qrels" in result.stderr
    assert {p: p.read_bytes() for p in (installed, record)} == before


def test_the_todo_list_given_as_judgments_says_what_to_write(tmp_path, data_dir):
    todo = tmp_path / "todo.tsv"
    invoke("qrels", "todo", data_dir / "tv21.runB.txt.gz", "--qrels", "tv21", "--depth", "5",
           "--out", todo)
    result = invoke("score", "--qrels", "tv21", "--extra-qrels", todo,
                    data_dir / "tv21.runB.txt.gz", ok=False)
    assert result.exit_code == 2 and result.stderr == (
        f"fpig-trecvid: error: {todo}:1: this is the list 'qrels todo' writes, not judgments: "
        "write 'topic shot 1' (relevant) or 'topic shot 0' a line for the shots you judged "
        "(cut -f1,2 of the list, then the judgment)\n")
    judged = tmp_path / "mine.txt"
    judged.write_text("".join(f"{line.split(chr(9))[0]} {line.split(chr(9))[1]} 0\n"
                              for line in todo.read_text().splitlines()[1:]))
    invoke("score", "--qrels", "tv21", "--extra-qrels", judged, data_dir / "tv21.runB.txt.gz")
