"""Inputs a hostile or merely unlucky user gives: a BOM, odd topic ids, huge ids, shot rows pooled.

Each case once gave a silent wrong number or a traceback; now it parses exactly as the clean
file does, or it is one clear InputError naming the file (and line where there is one).
"""
import json

import numpy as np
import pytest

from trecvid_fpig.base.fields import MAX_ID_CHARS
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import read_ground_truth
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.query_features import load_query_features
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.formats.store import convert_features, read_features
from trecvid_fpig.formats.topics import parse_topics
from trecvid_fpig.report.manifest import load_toml

BOM = b"\xef\xbb\xbf"
QRELS = b"1661 0 shot00001_1 1 1\n1661 0 shot00001_2 1 0\n1662 0 shot00002_1 2 1\n"
RUN = b"1661 Q0 shot00001_1 1 0.9 t\n1661 Q0 shot00001_2 2 0.5 t\n1662 Q0 shot00002_1 1 0.7 t\n"
TOPICS = b"661 a dog\n662 a cat\n"
GT = b"c1\tv1\nc2\tv1\nc3\tv2\n"


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def qrels_view(q):
    return {t: (tj.strata, sorted(tj.rows), tj.grade.tolist(), tj.est_relevant)
            for t, tj in q.topics.items()}


def run_view(r):
    return r.tag, {t: (tr.shots, tr.scores.tolist()) for t, tr in r.topics.items()}


# --- 1. a leading UTF-8 BOM is dropped by every text reader ----------------------------------

@pytest.mark.parametrize("content, parse, view", [
    (QRELS, parse_qrels, qrels_view),
    (RUN, parse_run, run_view),
    (TOPICS, parse_topics, lambda t: (t.ids, t.texts)),
    (GT, read_ground_truth, lambda g: (g.caption_ids, g.video_ids, g.caption_video.tolist())),
    (b'title = "x"\n[a]\nb = 1\n', lambda p: load_toml(p, "manifest"), lambda d: d),
], ids=["qrels", "run", "topics", "ground-truth", "toml"])
def test_bom_file_parses_exactly_as_without(tmp_path, content, parse, view):
    clean = parse(write(tmp_path / "clean.txt", content))
    with_bom = parse(write(tmp_path / "bom.txt", BOM + content))
    assert view(with_bom) == view(clean)


def test_bom_in_qrels_does_not_make_up_a_topic(tmp_path):
    q = parse_qrels(write(tmp_path / "q", BOM + QRELS))
    assert set(q.topics) == {"1661", "1662"}


def test_bom_only_file_is_empty(tmp_path):
    with pytest.raises(InputError, match="empty"):
        parse_run(write(tmp_path / "r", BOM + b"\n"))


def test_bom_in_ids_files_of_npy_and_bigfile(tmp_path):
    matrix = np.eye(3, 4, dtype=np.float32) + 0.1
    ids = b"shot00001_1\nshot00001_2\nshot00001_3\n"
    np.save(tmp_path / "x.npy", matrix)
    write(tmp_path / "x.ids.txt", BOM + ids)
    assert read_features(tmp_path / "x.npy").ids[0] == "shot00001_1"
    write(tmp_path / "other.txt", BOM + ids)
    store = tmp_path / "s.fpig"
    convert_features(tmp_path / "x.npy", store, ids=tmp_path / "other.txt")
    assert read_features(store).ids[0] == "shot00001_1"
    big = tmp_path / "big"
    big.mkdir()
    matrix.tofile(big / "feature.bin")
    write(big / "shape.txt", BOM + b"3 4\n")
    write(big / "id.txt", BOM + ids)
    assert read_features(big).ids == ("shot00001_1", "shot00001_2", "shot00001_3")


def test_bom_in_store_manifest_and_query_sidecar(tmp_path):
    matrix = np.eye(3, 4, dtype=np.float32) + 0.1
    np.save(tmp_path / "x.npy", matrix)
    write(tmp_path / "x.ids.txt", b"shot00001_1\nshot00001_2\nshot00001_3\n")
    store = tmp_path / "s.fpig"
    convert_features(tmp_path / "x.npy", store)
    manifest = store / "manifest.json"
    write(manifest, BOM + manifest.read_bytes())
    assert read_features(store).count == 3

    topics = parse_topics(write(tmp_path / "t.txt", TOPICS))
    np.save(tmp_path / "q.npy", np.ones((2, 4), dtype=np.float32))
    write(tmp_path / "q.json", BOM + json.dumps({"topic_ids": [662, 661]}).encode())
    _, rows = load_query_features(tmp_path / "q.npy", topics)
    assert rows.shape == (2, 4)


# --- 3 and 18. topic ids: ASCII digits in a sane range, checked in one place -----------------

BAD_TOPICS = ["\u0661\u0666\u0666\u0661", "\u00b2", "+1661", "1" * 25, "1" * 23, "abc", "1661a"]


@pytest.mark.parametrize("topic", BAD_TOPICS)
@pytest.mark.parametrize("kind", ["qrels", "run", "topics"])
def test_topic_that_is_not_a_plain_ascii_number_names_its_line(tmp_path, topic, kind):
    good, line = {"qrels": (QRELS, f"{topic} 0 shot00003_1 1 1\n"),
                  "run": (RUN, f"{topic} Q0 shot00003_1 3 0.1 t\n"),
                  "topics": (TOPICS, f"{topic} a bird\n")}[kind]
    path = write(tmp_path / "f.txt", good + line.encode())
    parse = {"qrels": parse_qrels, "run": parse_run, "topics": parse_topics}[kind]
    with pytest.raises(InputError) as err:
        parse(path)
    assert err.value.path == str(path) and err.value.line == good.count(b"\n") + 1
    assert "ASCII digits" in err.value.reason


def test_sidecar_topic_id_out_of_range_is_refused(tmp_path):
    topics = parse_topics(write(tmp_path / "t.txt", TOPICS))
    np.save(tmp_path / "q.npy", np.ones((2, 4), dtype=np.float32))
    write(tmp_path / "q.json", json.dumps({"topic_ids": [661, 10 ** 30]}).encode())
    with pytest.raises(InputError, match="ASCII digits"):
        load_query_features(tmp_path / "q.npy", topics)


# --- 18. ids longer than any real one are refused before numpy sizes arrays by them ----------

def test_huge_shot_id_in_a_run_is_one_clear_error(tmp_path):
    huge = "shot" + "9" * 5_000_000
    path = write(tmp_path / "r", RUN + f"1661 Q0 {huge} 4 0.1 t\n".encode())
    with pytest.raises(InputError) as err:
        parse_run(path)
    assert err.value.line == 4 and str(MAX_ID_CHARS) in err.value.reason


def test_huge_shot_id_in_qrels_and_ids_file(tmp_path):
    huge = "shot" + "9" * (MAX_ID_CHARS + 1)
    with pytest.raises(InputError, match=str(MAX_ID_CHARS)):
        parse_qrels(write(tmp_path / "q", QRELS + f"1661 0 {huge} 1 0\n".encode()))
    np.save(tmp_path / "x.npy", np.ones((2, 4), dtype=np.float32))
    write(tmp_path / "x.ids.txt", f"shot00001_1\n{huge}\n".encode())
    with pytest.raises(InputError, match=f"x.ids.txt:2: .*{MAX_ID_CHARS}"):
        read_features(tmp_path / "x.npy")


# --- 8. --pool mean takes frame rows only ----------------------------------------------------

def test_pool_mean_refuses_ordinary_shot_ids_naming_the_first(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 4), dtype=np.float32))
    write(tmp_path / "x.ids.txt", b"shot00001_1_1\nshot00001_2\nshot00001_3\n")
    with pytest.raises(InputError, match=r"row 1: frame id 'shot00001_2' is not of the form "
                                         r"SHOT_FRAME"):
        convert_features(tmp_path / "x.npy", tmp_path / "s.fpig", pool="mean")
    assert not (tmp_path / "s.fpig").exists()


# --- 9. XML: characters XML 1.0 cannot hold are refused, the rest escaped and parsed back -----

def test_xml_attributes_and_shot_ids_round_trip_through_a_parser(tmp_path):
    import xml.etree.ElementTree as ET

    from trecvid_fpig.formats.avs_xml import run_attributes, write_avs_xml

    desc = 'a & b < c > "d" \'e\'\ttab\nnewline é 漢 \U0001F600'
    attrs = run_attributes({"desc": desc, "pid": "Team<1>"}, pid="x", desc="", task="M")
    path = tmp_path / "run.xml"
    write_avs_xml(path, attrs, [(661, 3, ["shot00001_1", "shot&<2>_1"])])
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text.split("\n", 2)[2])       # after the declaration and DOCTYPE
    run = root.find("videoAdhocSearchRunResult")
    assert run.get("desc") == desc and run.get("pid") == "Team<1>"
    items = run.find("videoAdhocSearchTopicResult").findall("item")
    assert [i.get("shotId") for i in items] == ["shot00001_1", "shot&<2>_1"]


@pytest.mark.parametrize("bad", ["a\x01b", "\x00", "x\ud800", "\ufffe"])
def test_xml_field_character_xml_cannot_hold_is_refused(bad):
    from trecvid_fpig.formats.avs_xml import run_attributes

    with pytest.raises(InputError, match="XML attribute desc .*XML 1.0 cannot hold"):
        run_attributes({"desc": bad}, pid="x", desc="", task="M")


def test_shot_id_xml_cannot_hold_is_refused(tmp_path):
    from trecvid_fpig.formats.avs_xml import run_attributes, write_avs_xml

    attrs = run_attributes({}, pid="x", desc="d", task="M")
    with pytest.raises(InputError, match="shot id"):
        write_avs_xml(tmp_path / "r.xml", attrs, [(661, 1, ["shot00001_1\x02"])])
    assert not (tmp_path / "r.xml").exists()


# --- 10 and messages: options that cannot mean what they say are refused ---------------------

def test_xml_field_without_xml_is_refused(tmp_path):
    from support.cli import invoke

    result = invoke("run", "--features", tmp_path / "none", "--topics", "tv21", "--run-id", "r",
                    "--query-features", tmp_path / "q.npy", "--xml-field", "pid=me",
                    "--out-dir", tmp_path, ok=False)
    assert result.exit_code == 2 and "add --xml" in result.stderr
    assert not list(tmp_path.iterdir())


def test_checkpoint_and_query_features_both_given_says_so(tmp_path):
    from support.cli import invoke

    result = invoke("run", "--features", tmp_path / "none", "--topics", "tv21", "--run-id", "r",
                    "--query-features", tmp_path / "q.npy", "--checkpoint", tmp_path / "c.pt",
                    "--out-dir", tmp_path, ok=False)
    assert result.exit_code == 2 and "were both given" in result.stderr


@pytest.mark.parametrize("name", ["TV21", "tv99"])
def test_unknown_qrels_name_lists_the_shipped_ones(tmp_path, monkeypatch, name):
    from support.cli import invoke

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "r.txt", RUN)
    result = invoke("score", "--qrels", name, "r.txt", ok=False)
    assert result.exit_code == 2
    assert f"{name}: no such qrels file, and not the name of shipped qrels (tv21, tv23)" \
        in result.stderr


@pytest.mark.parametrize("content", [b"hello world\n", b"\x80\x05junk", b"", b"e" * 10])
def test_unreadable_checkpoint_says_what_it_is_without_torch_warnings(tmp_path, content):
    import warnings

    from trecvid_fpig.encode.checkpoints import read_state_dict

    path = write(tmp_path / "c.pt", content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError) as err:
            read_state_dict(path)
    assert "(101)" not in str(err.value) and "checkpoint" in err.value.reason


# --- 4. a topic written in another form ('01667', '661') is a topic the qrels lack ------------

QRELS_2 = b"1661 0 shot00001_1 1 1\n1661 0 shot00001_2 1 0\n1667 0 shot00007_1 1 1\n"
RUN_1661 = b"1661 Q0 shot00001_1 1 0.9 t\n1661 Q0 shot00001_2 2 0.5 t\n"


def test_leading_zero_topic_is_skipped_as_sample_eval_does(tmp_path, monkeypatch):
    from support.cli import invoke

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "q", QRELS_2)
    write(tmp_path / "clean.txt", RUN_1661)
    write(tmp_path / "odd.txt", RUN_1661 + b"01667 Q0 shot00007_1 1 0.8 t\n")
    assert set(parse_run(tmp_path / "odd.txt").topics) == {"1661", "01667"}
    clean = invoke("score", "--qrels", "q", "--format", "sample-eval", "-q", "clean.txt")
    odd = invoke("score", "--qrels", "q", "--format", "sample-eval", "-q", "odd.txt")
    assert odd.stdout == clean.stdout and odd.stderr == ""
    table = invoke("score", "--qrels", "q", "odd.txt")
    assert "warning: odd.txt: topic 01667 is not in the qrels (it has 1667" in table.stderr
    assert "skipped, as sample_eval.pl skips a topic the qrels lack" in table.stderr


def test_strict_lists_run_topics_the_qrels_do_not_know(tmp_path, monkeypatch):
    from support.cli import invoke

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "q", QRELS_2)
    write(tmp_path / "r.txt", RUN_1661 + b"667 Q0 shot00007_1 1 0.8 t\n1999 Q0 shot00009_1 1 0.1 t\n")
    result = invoke("score", "--qrels", "q", "--strict", "r.txt", ok=False)
    assert result.exit_code == 1
    assert "r.txt: line 3: topic 667 is not in the qrels (it has 1667: NIST writes topics as " \
        "1 + the 3-digit" in result.stderr
    assert "r.txt: line 4: topic 1999 is not in the qrels" in result.stderr


# --- 6. the same features through every path give byte-identical run files -------------------

def test_npy_bigfile_parquet_and_store_give_identical_run_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from support.cli import invoke

    rng = np.random.default_rng(8)
    n, d = 6000, 24
    matrix = (rng.standard_normal((n, d)) * rng.uniform(0.1, 10, (n, 1))).astype(np.float32)
    ids = [f"shot{i // 20 + 1:05d}_{i % 20 + 1}" for i in range(n)]
    np.save(tmp_path / "x.npy", matrix)
    write(tmp_path / "x.ids.txt", ("\n".join(ids) + "\n").encode())
    big = tmp_path / "big"
    big.mkdir()
    matrix.tofile(big / "feature.bin")
    write(big / "shape.txt", f"{n} {d}\n".encode())
    write(big / "id.txt", ("\n".join(ids) + "\n").encode())
    pq.write_table(pa.table({"shot_id": ids, "vec": list(matrix)}), tmp_path / "x.parquet")
    convert_features(tmp_path / "x.npy", tmp_path / "s.fpig")
    write(tmp_path / "t.txt", b"661 one\n662 two\n663 three\n664 four\n")
    np.save(tmp_path / "q.npy", rng.standard_normal((4, d)).astype(np.float32))
    runs = {}
    for name, source in [("npy", "x.npy"), ("bigfile", "big"), ("parquet", "x.parquet"),
                         ("store", "s.fpig")]:
        invoke("run", "--query-features", tmp_path / "q.npy", "--features", tmp_path / source,
               "--topics", tmp_path / "t.txt", "--run-id", name, "--out-dir", tmp_path / "runs",
               "--quiet")
        runs[name] = (tmp_path / "runs" / name / "t.txt").read_text().replace(name + "\n", "\n")
    assert runs["npy"].count("\n") == 4000
    assert runs["npy"] == runs["bigfile"] == runs["parquet"] == runs["store"]


# --- 5. a store edited after conversion: no silently dropped NaN row, --verify finds it -------

def edited_store(tmp_path, edit):
    rng = np.random.default_rng(4)
    matrix = rng.standard_normal((500, 8)).astype(np.float32)
    ids = [f"shot{i // 10 + 1:05d}_{i % 10 + 1}" for i in range(500)]
    np.save(tmp_path / "x.npy", matrix)
    write(tmp_path / "x.ids.txt", ("\n".join(ids) + "\n").encode())
    store = tmp_path / "s.fpig"
    convert_features(tmp_path / "x.npy", store)
    np.save(tmp_path / "q.npy", matrix[[7]])             # topic 661's best shot is row 7
    write(tmp_path / "t.txt", b"661 one\n")
    if edit is not None:
        values = np.load(store / "features.npy", mmap_mode="r+")
        edit(values)
        values.flush()
        del values
    return store


def run_on(tmp_path, store):
    from support.cli import invoke

    return invoke("run", "--query-features", tmp_path / "q.npy", "--features", store,
                  "--topics", tmp_path / "t.txt", "--run-id", "r", "--out-dir", tmp_path / "runs",
                  "--quiet", "--top", "20", ok=False)


@pytest.mark.parametrize("edit, message", [
    (lambda v: v.__setitem__((7, 3), np.nan), "row 7 (shot shot00001_8) scores NaN or infinity"),
    (lambda v: v.__setitem__(7, v[7] * 5), "row 7 (shot shot00001_8) is not a unit vector"),
], ids=["nan-row", "unnormalised-row"])
def test_edited_store_is_refused_by_run_and_by_verify(tmp_path, edit, message):
    from support.cli import invoke

    store = edited_store(tmp_path, edit)
    result = run_on(tmp_path, store)
    assert result.exit_code == 2 and message in result.stderr and "--verify" in result.stderr
    assert not (tmp_path / "runs" / "r" / "t.txt").exists()
    verify = invoke("features", "inspect", "--verify", store, ok=False)
    assert verify.exit_code == 2
    assert f"{store / 'features.npy'}: sha256 differs from the manifest's features_sha256" \
        in verify.stderr


def test_verify_passes_on_an_untouched_store_and_refuses_other_sources(tmp_path):
    from support.cli import invoke

    store = edited_store(tmp_path, None)
    assert run_on(tmp_path, store).exit_code == 0
    assert invoke("features", "inspect", "--verify", store).exit_code == 0
    other = invoke("features", "inspect", "--verify", tmp_path / "x.npy", ok=False)
    assert other.exit_code == 2 and "npy source" in other.stderr


def test_huge_id_in_exclude_list_and_ground_truth(tmp_path):
    from trecvid_fpig.formats.id_lists import resolve_exclude

    huge = "x" * (MAX_ID_CHARS + 1)
    with pytest.raises(InputError, match=f"ex.txt:2: shot id of {MAX_ID_CHARS + 1} characters"):
        resolve_exclude([str(write(tmp_path / "ex.txt", f"shot00001_1\n{huge}\n".encode()))])
    with pytest.raises(InputError) as err:
        read_ground_truth(write(tmp_path / "gt", GT + f"c4\t{huge}\n".encode()))
    assert err.value.line == 4 and str(MAX_ID_CHARS) in err.value.reason
