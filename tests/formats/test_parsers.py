"""Qrels, run and topic parsers: what they accept, and the clear error for each kind of bad input."""
import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trecvid_fpig.base.outputs import atomic_write
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.runs import parse_run, write_run
from trecvid_fpig.formats.topics import REGISTRY, load_topics, parse_topics, resolve_qrels

QRELS = """\
1661 0 shot00001_1 1 1
1661 0 shot00001_2 1 0
1661 0 shot00002_1 2 1
1661 0 shot00002_2 2 -1
1661 0 shot00002_3 2 0
1661 0 shot00003_1 3 -1
1662 0 shot00004_1 1 2
"""


def write(tmp_path, name, text, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_qrels_strata_counts_and_estimate(tmp_path):
    q = parse_qrels(write(tmp_path, "q", QRELS))
    t = q.topics["1661"]
    assert t.strata == ("1", "2", "3")
    assert (t.pooled, t.judged, t.relevant) == ((2, 3, 1), (2, 2, 0), (1, 1, 0))
    assert t.est_relevant == pytest.approx(1 * 2 / 2 + 1 * 3 / 2)   # stratum 3 has nothing judged
    assert q.topics["1662"].est_relevant == 1.0
    assert q.as_binary_dict()["1661"] == {"shot00001_1": 1, "shot00001_2": 0, "shot00002_1": 1,
                                          "shot00002_3": 0}


def test_qrels_gzip_equals_plain(tmp_path):
    plain = parse_qrels(write(tmp_path, "q", QRELS))
    gz = tmp_path / "q.gz"
    gz.write_bytes(gzip.compress(QRELS.encode()))
    packed = parse_qrels(gz)
    assert plain.topics.keys() == packed.topics.keys()
    assert plain.topics["1661"].est_relevant == packed.topics["1661"].est_relevant


def test_qrels_topics_may_be_interleaved(tmp_path):
    lines = QRELS.splitlines()
    shuffled = "\n".join([lines[6]] + lines[:3] + [lines[6].replace("shot00004_1", "shot00004_2")] + lines[3:6])
    q = parse_qrels(write(tmp_path, "q", shuffled))
    assert q.topics["1661"].pooled == (2, 3, 1)
    assert q.topics["1662"].relevant == (2,)


@pytest.mark.parametrize("text,line,needle", [
    (QRELS.replace("shot00002_1 2 1", "shot00002_1 2"), 3, "expected 5 whitespace-separated fields"),
    (QRELS.replace("shot00002_1 2 1", "shot00002_1 2 yes"), 3, "judgment (column 5) must be a finite number"),
    (QRELS.replace("shot00002_1 2 1", "shot00002_1 2 nan"), 3, "finite number"),
    (QRELS.replace("shot00002_1 2 1", "shot00002_1 2 -2"), 3, "judgment must be -1"),
    (QRELS + "1661 0 shot00001_2 1 1\n", 8, "judged twice for topic 1661 (first at line 2)"),
])
def test_bad_qrels_name_the_line(tmp_path, text, line, needle):
    path = write(tmp_path, "bad.qrels", text)
    with pytest.raises(InputError) as err:
        parse_qrels(path)
    assert err.value.line == line
    assert needle in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("make,needle", [
    (lambda d: d / "missing.txt", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: write(d, "empty", "\n\n"), "empty"),
    (lambda d: write(d, "bin", b"\x00\xff\xfe binary \x89PNG", "wb"), "not UTF-8"),
])
@pytest.mark.parametrize("parser", [parse_qrels, parse_run, parse_topics])
def test_unreadable_files(tmp_path, make, needle, parser):
    with pytest.raises(InputError, match=needle):
        parser(make(tmp_path))


RUN = """\
1661 Q0 shot00001_1 1 0.5 tag
1661 Q0 shot00002_1 2 0.9 tag
1661 Q0 shot00001_2 3 0.5 tag
1661 Q0 shot00003_1 99 0.1 tag
1661 Q0 shot00003_1 4 0.7 tag
01662 Q0 shot00004_1 1 3 tag
"""


def test_run_ranking_follows_sample_eval(tmp_path):
    run = parse_run(write(tmp_path, "run", RUN))
    t = run.topics["1661"]
    # rank column ignored; the repeated shot keeps its last score (0.7); ties by shot id descending
    assert t.shots == ("shot00002_1", "shot00003_1", "shot00001_2", "shot00001_1")
    assert t.scores.tolist() == [0.9, 0.7, 0.5, 0.5]
    assert t.num_lines == 5 and t.repeated == ("shot00003_1",)
    # kept as written: sample_eval.pl keys topics by their text (its s/^0*// is commented out)
    assert list(run.topics) == ["1661", "01662"]
    assert run.tag == "tag"


@pytest.mark.parametrize("text,line,needle", [
    (RUN.replace("3 0.5 tag", "3 0.5"), 3, "expected 6 whitespace-separated fields"),
    (RUN.replace("3 0.5 tag", "3 high tag"), 3, "score (column 5) must be a finite number"),
    (RUN.replace("3 0.5 tag", "3 inf tag"), 3, "finite number"),
    (RUN.replace("3 0.5 tag", "3 1_0 tag"), 3, "finite number"),
    (RUN.replace("01662", "T62"), 6, "topic must be a number"),
])
def test_bad_runs_name_the_line(tmp_path, text, line, needle):
    with pytest.raises(InputError) as err:
        parse_run(write(tmp_path, "bad.run", text))
    assert err.value.line == line
    assert needle in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(-3, 3)), min_size=1, max_size=60))
def test_written_runs_read_back_in_written_order(tmp_path_factory, items):
    """Rounding can create ties; write_run must rank them as the reader will (byte-stable files)."""
    shots = [f"shot{v:05d}_1" for v, _ in items]
    scores = [s / 3 for _, s in items]
    unique = dict(zip(shots, scores))
    path = tmp_path_factory.mktemp("w") / "run.txt"
    write_run(path, [("1661", list(unique), list(unique.values()))], "T", decimals=2)
    first = path.read_bytes()
    ranked = parse_run(path).topics["1661"]
    written_order = [line.split()[2] for line in first.decode().splitlines()]
    assert list(ranked.shots) == written_order
    write_run(path, [("1661", list(reversed(list(unique))), list(reversed(list(unique.values()))))], "T", 2)
    assert path.read_bytes() == first


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1661", "1662", "01663"]), st.integers(1, 30),
                          st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=80),
       st.randoms())
def test_line_order_does_not_matter_beyond_repeats(tmp_path_factory, rows, rnd):
    unique = {(t, s): v for t, s, v in rows}          # no repeats: then any line order is equivalent
    lines = [f"{t} Q0 shot{s:05d}_1 0 {v!r} x" for (t, s), v in unique.items()]
    d = tmp_path_factory.mktemp("r")
    (d / "a").write_text("\n".join(lines))
    rnd.shuffle(lines)
    (d / "b").write_text("\n".join(lines) + "\n")
    a, b = parse_run(d / "a"), parse_run(d / "b")
    assert a.topics.keys() == b.topics.keys()
    for t in a.topics:
        assert a.topics[t].shots == b.topics[t].shots
        assert np.array_equal(a.topics[t].scores, b.topics[t].scores)


def test_topic_files_ship_with_registry_facts():
    for info in REGISTRY.values():
        topics = load_topics(info.name)
        assert topics.ids == tuple(range(info.first_id, info.last_id + 1)), info.name
        assert all(topics.texts)
    assert load_topics("tv19").qrels_ids[0] == "1611"
    assert len(load_topics("tv22", narrative=True)) == 30
    assert resolve_qrels("tv21").exists() and resolve_qrels("tv23").exists()
    with pytest.raises(InputError, match="fpig-trecvid qrels fetch tv19"):
        resolve_qrels("tv19")
    with pytest.raises(InputError, match="unknown topic set"):
        load_topics("tv99")


def test_topic_file_errors(tmp_path):
    with pytest.raises(InputError) as err:
        parse_topics(write(tmp_path, "t", "611 a drone\nsix12 a truck\n"))
    assert err.value.line == 2
    with pytest.raises(InputError, match="repeats line 1"):
        parse_topics(write(tmp_path, "t", "611 a drone\n611 again\n"))


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
