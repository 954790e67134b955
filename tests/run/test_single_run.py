"""`fpig-trecvid run` end to end on small data: run files that `score` takes as is, XML, sidecar."""
import hashlib
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.formats.store import convert_features
from trecvid_fpig.formats.topics import load_topics, shipped_path

D = 16


def tv21_collection(tmp_path, extra=3000, seed=0):
    """A small store holding every shot judged for TV21 topic 1661 and 1662, plus others."""
    qrels = load_qrels("tv21")
    pool = sorted({s for t in ("1661", "1662") for s in qrels.topics[t].rows})
    dropped = shipped_path("v3c1.dropped.shots.txt").read_text().split()
    ids = pool + [f"shot{9000 + i // 50:05d}_{i % 50 + 1}" for i in range(extra)] + dropped
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((len(ids), D)).astype(np.float32)
    queries = rng.standard_normal((20, D)).astype(np.float32)
    # Dropped shots sit exactly on topic 1661's vector: only --exclude keeps them out.
    matrix[-len(dropped):] = queries[0]
    np.save(tmp_path / "shots.npy", matrix)
    (tmp_path / "shots.ids.txt").write_text("\n".join(ids) + "\n")
    convert_features(tmp_path / "shots.npy", tmp_path / "shots.fpig")
    np.save(tmp_path / "q.npy", queries)
    return tmp_path / "shots.fpig", tmp_path / "q.npy", matrix, ids, queries, dropped


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_args(store, query, out, *extra, run_id="mine", topics=("tv21",)):
    args = ["run", "--query-features", query, "--features", store, "--run-id", run_id,
            "--out-dir", out, "--quiet"]
    for t in topics:
        args += ["--topics", t]
    return args + list(extra)


def test_run_then_score_end_to_end(tmp_path):
    store, query, matrix, ids, queries, dropped = tv21_collection(tmp_path)
    result = invoke(*run_args(store, query, tmp_path / "runs", "--top", "300"))
    assert result.exit_code == 0, result.output
    run_file = tmp_path / "runs" / "mine" / "tv21.txt"
    lines = run_file.read_text().splitlines()
    assert lines[0].split()[:2] == ["1661", "Q0"] and lines[0].split()[3] == "1"
    assert lines[0].split()[5] == "mine"
    run = parse_run(run_file)
    assert list(run.topics) == [str(1661 + i) for i in range(20)]
    # The file's order is exactly the order the evaluator reads back.
    for topic in run.topics.values():
        written = [l.split()[2] for l in lines if l.startswith(topic.topic.zfill(4) + " ")]
        assert list(topic.shots) == written and len(written) == 300
    # Scores are the cosines with the normalised shot vectors (independent float64 reference).
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    row_of = {s: r for r, s in enumerate(ids)}
    for t, topic in enumerate(run.topics.values()):
        q = queries[t] / np.linalg.norm(queries[t])
        exact = unit.astype(np.float64) @ q
        np.testing.assert_allclose(topic.scores, exact[[row_of[s] for s in topic.shots]], atol=2e-6)
        assert topic.scores.min() >= np.sort(exact)[-300] - 2e-6
    scored = invoke("score", "--qrels", "tv21", run_file)
    assert scored.exit_code == 0, scored.output
    assert score_runs(load_qrels("tv21"), [run_file])[0].result.topics


def test_rerun_is_byte_identical_and_topic_sets_can_share_a_pass(tmp_path):
    store, query, *_ = tv21_collection(tmp_path)
    topics_file = tmp_path / "mine.avs.txt"
    topics_file.write_text("661 a hang glider\n662 a woman\n")
    for out in ("a", "b"):
        result = invoke(*run_args(store, query, tmp_path / out, "--xml", "--top", "50"))
        assert result.exit_code == 0, result.output
    a, b = tmp_path / "a" / "mine", tmp_path / "b" / "mine"
    assert (a / "tv21.txt").read_bytes() == (b / "tv21.txt").read_bytes()
    assert (a / "tv21.xml").read_bytes() == (b / "tv21.xml").read_bytes()
    np.save(tmp_path / "q2.npy", np.load(query)[:2])
    together = invoke(*run_args(store, query, tmp_path / "c", "--top", "50",
                                topics=("tv21", str(topics_file))))
    assert together.exit_code != 0     # a bare .npy must match every set's topic count
    assert "2 topics" in together.output
    alone = invoke(*run_args(store, tmp_path / "q2.npy", tmp_path / "d", "--top", "50",
                             topics=(str(topics_file),)))
    assert alone.exit_code == 0, alone.output
    first_two = [l for l in (a / "tv21.txt").read_text().splitlines() if l[:4] in ("1661", "1662")]
    assert (tmp_path / "d" / "mine" / "mine.avs.txt").read_text().splitlines() == first_two


def test_several_topic_sets_in_one_pass_equal_separate_runs(tmp_path):
    store, query, matrix, ids, queries, _ = tv21_collection(tmp_path)
    (tmp_path / "first.txt").write_text("661 first\n662 second\n")
    (tmp_path / "second.txt").write_text("663 third\n")
    # A sidecar naming each row's topic lets one q.npy serve several topic sets.
    np.save(tmp_path / "q3.npy", queries[:3])
    (tmp_path / "q3.json").write_text(json.dumps({"topic_ids": [661, 662, 663]}))
    q3 = tmp_path / "q3.npy"
    both = invoke(*run_args(store, q3, tmp_path / "both", "--top", "40",
                            topics=(tmp_path / "first.txt", tmp_path / "second.txt")))
    assert both.exit_code == 0, both.output
    for name in ("first", "second"):
        alone = invoke(*run_args(store, q3, tmp_path / name, "--top", "40",
                                 topics=(tmp_path / f"{name}.txt",)))
        assert alone.exit_code == 0, alone.output
        assert ((tmp_path / "both" / "mine" / f"{name}.txt").read_bytes()
                == (tmp_path / name / "mine" / f"{name}.txt").read_bytes())


def test_exclude_named_list_and_file(tmp_path):
    store, query, matrix, ids, queries, dropped = tv21_collection(tmp_path)
    plain = invoke(*run_args(store, query, tmp_path / "plain", "--top", "20"))
    assert plain.exit_code == 0, plain.output
    top_1661 = parse_run(tmp_path / "plain" / "mine" / "tv21.txt").topics["1661"].shots
    assert set(dropped) <= set(top_1661[:len(dropped)])       # planted on the topic's vector
    named = invoke(*run_args(store, query, tmp_path / "named", "--top", "20",
                             "--exclude", "v3c1-dropped"))
    assert named.exit_code == 0, named.output
    run = parse_run(tmp_path / "named" / "mine" / "tv21.txt")
    assert not set(dropped) & {s for t in run.topics.values() for s in t.shots}
    assert list(run.topics["1661"].shots[:20 - len(dropped)]) == [s for s in top_1661
                                                                  if s not in dropped]
    listed = tmp_path / "skip.txt"
    listed.write_text(f"{top_1661[-1]}\nshot99999_1\n")
    from_file = invoke(*run_args(store, query, tmp_path / "file", "--top", "20", "--exclude", listed))
    assert from_file.exit_code == 0, from_file.output
    shots = parse_run(tmp_path / "file" / "mine" / "tv21.txt").topics["1661"].shots
    assert top_1661[-1] not in shots and list(shots[:19]) == list(top_1661[:19])
    sidecar = json.loads((tmp_path / "file" / "mine" / "tv21.json").read_text())
    assert sidecar["search"]["exclude"][0]["ids"] == 2
    assert sidecar["search"]["excluded_shots_in_store"] == 1


def test_xml_is_well_formed_and_lists_the_run(tmp_path):
    store, query, *_ = tv21_collection(tmp_path)
    result = invoke(*run_args(store, query, tmp_path / "runs", "--top", "30", "--xml",
                              "--xml-field", "pid=TEAM_X", "--xml-field", "priority=2",
                              "--xml-field", "desc=a <test> & \"run\""))
    assert result.exit_code == 0, result.output
    out = tmp_path / "runs" / "mine"
    root = ET.parse(out / "tv21.xml").getroot()
    assert root.tag == "videoAdhocSearchResults"
    (run,) = list(root)
    assert run.tag == "videoAdhocSearchRunResult"
    assert run.attrib == {"trType": "D", "class": "F", "task": "M", "novelty": "C",
                          "pid": "TEAM_X", "priority": "2", "desc": 'a <test> & "run"'}
    topics = list(run)
    assert [t.attrib["tNum"] for t in topics] == [str(i) for i in load_topics("tv21").ids]
    parsed = parse_run(out / "tv21.txt")
    for t in topics:
        assert t.tag == "videoAdhocSearchTopicResult" and int(t.attrib["elapsedTime"]) >= 1
        items = list(t)
        assert [i.attrib["seqNum"] for i in items] == [str(n) for n in range(1, 31)]
        assert tuple(i.attrib["shotId"] for i in items) == parsed.topics["1" + t.attrib["tNum"]].shots


@pytest.mark.parametrize("field,message", [("trType=Z", "trType='Z'"), ("priority=11", "priority"),
                                           ("colour=red", "unknown XML run attribute"),
                                           ("pid", "KEY=VALUE")])
def test_bad_xml_fields_are_refused(tmp_path, field, message):
    store, query, *_ = tv21_collection(tmp_path, extra=10)
    result = invoke(*run_args(store, query, tmp_path / "runs", "--xml", "--xml-field", field))
    assert result.exit_code == 2 and message in result.output


def test_sidecar_records_provenance(tmp_path):
    store, query, *_ = tv21_collection(tmp_path)
    (tmp_path / "q.json").write_text(json.dumps({"topic_ids": list(range(661, 681)),
                                                 "max_words": 32, "checkpoint_sha256": "ab" * 32}))
    # --device cpu: on a GPU machine auto would pick the torch backend.
    result = invoke(*run_args(store, query, tmp_path / "runs", "--top", "10", "--device", "cpu"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "runs" / "mine"
    sidecar = json.loads((out / "tv21.json").read_text())
    assert sidecar["files"]["run_sha256"] == hashlib.sha256((out / "tv21.txt").read_bytes()).hexdigest()
    assert sidecar["query"]["sha256"] == hashlib.sha256(query.read_bytes()).hexdigest()
    assert sidecar["query"]["max_words"] == 32 and sidecar["query"]["checkpoint_sha256"] == "ab" * 32
    assert sidecar["features"] == json.loads((store / "manifest.json").read_text())
    assert sidecar["topic_set"]["name"] == "tv21" and sidecar["topic_set"]["topics"] == 20
    assert sidecar["search"]["top"] == 10 and sidecar["search"]["backend"] == "numpy"
    assert set(sidecar["timings_s"]) >= {"open_features", "query_features", "search", "total"}
    from trecvid_fpig import __version__
    assert sidecar["fpig_trecvid_version"] == __version__


def test_run_reads_a_bigfile_directly(tmp_path):
    store, query, matrix, ids, *_ = tv21_collection(tmp_path)
    bigfile = tmp_path / "bf"
    bigfile.mkdir()
    matrix.tofile(bigfile / "feature.bin")
    (bigfile / "id.txt").write_text(" ".join(ids))
    (bigfile / "shape.txt").write_text(f"{len(ids)} {D}")
    for source, out in ((store, "s"), (bigfile, "b")):
        result = invoke(*run_args(source, query, tmp_path / out, "--top", "100"))
        assert result.exit_code == 0, result.output
    a = parse_run(tmp_path / "s" / "mine" / "tv21.txt")
    b = parse_run(tmp_path / "b" / "mine" / "tv21.txt")
    for t in a.topics:
        np.testing.assert_allclose(a.topics[t].scores, b.topics[t].scores, atol=2e-6)


def test_bad_run_requests_are_refused(tmp_path):
    store, query, *_ = tv21_collection(tmp_path, extra=10)
    np.save(tmp_path / "q8.npy", np.ones((20, 8), np.float32))
    cases = [
        (run_args(store, tmp_path / "q8.npy", tmp_path / "r"), ["shots.fpig", "16-d", "8-d"]),
        (run_args(store, query, tmp_path / "r", run_id="my run"), ["run id"]),
        (run_args(store, query, tmp_path / "r", run_id="../up"), ["run id"]),
        (run_args(store, query, tmp_path / "r", "--checkpoint", query), ["--checkpoint and --query-features were both given"]),
        (run_args(store, query, tmp_path / "r", "--exclude", tmp_path / "none.txt"), ["none.txt"]),
        (run_args(store, query, tmp_path / "r", topics=("tv21", "tv21")), ["tv21.txt"]),
        (run_args(tmp_path / "nowhere", query, tmp_path / "r"), ["nowhere", "no such file"]),
        (run_args(store, query, tmp_path / "r", topics=("tv99",)), ["unknown topic set"]),
    ]
    for args, fragments in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        for fragment in fragments:
            assert fragment in result.output, (fragment, result.output)
    assert not (tmp_path / "r").exists()


def test_checkpoint_run_equals_encode_then_query_features(tmp_path):
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint

    checkpoint = save_random_checkpoint(tmp_path / "model_best.pt", "hf-clip", width=64, layers=1,
                                        embed_dim=D)
    store, *_ = tv21_collection(tmp_path, extra=500)
    direct = invoke("run", "--checkpoint", checkpoint, "--features", store, "--topics", "tv21",
                    "--run-id", "ck", "--out-dir", tmp_path / "a", "--max-words", "32", "--quiet",
                    "--device", "cpu")
    assert direct.exit_code == 0, direct.output
    encoded = invoke("encode", "--checkpoint", checkpoint, "--topics", "tv21", "--max-words", "32",
                     "--out", tmp_path / "q_ck.npy", "--quiet", "--device", "cpu")
    assert encoded.exit_code == 0, encoded.output
    via_file = invoke(*run_args(store, tmp_path / "q_ck.npy", tmp_path / "b", run_id="ck"))
    assert via_file.exit_code == 0, via_file.output
    assert (tmp_path / "a/ck/tv21.txt").read_bytes() == (tmp_path / "b/ck/tv21.txt").read_bytes()
    sidecar = json.loads((tmp_path / "a/ck/tv21.json").read_text())
    assert sidecar["query"]["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert sidecar["query"]["max_words"] == 32 and sidecar["query"]["checkpoint_layout"] == "hf-clip"
    # The topic features the run used are kept beside it, as `encode` writes them.
    np.testing.assert_array_equal(np.load(tmp_path / "a/ck/tv21.topics.npy"),
                                  np.load(tmp_path / "q_ck.npy"))


def test_topics_from_another_checkpoint_than_the_shots_are_warned_about(tmp_path, monkeypatch):
    """Shots extracted by one checkpoint, topics encoded by another of the same width: the
    run's cosines are noise, and nothing said so (a `--model` pair swapped, an old epoch)."""
    from support.cli import invoke as cli_invoke
    from support.extraction import FakeVideoEncoder, keyframe_collection

    from trecvid_fpig.extract import job
    from trecvid_fpig.formats.query_features import save_query_features

    encoder = FakeVideoEncoder()        # records checkpoint sha256 '0' * 64
    monkeypatch.setattr(job, "open_encoder", lambda *args, **kwargs: encoder)
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1, "shot00001_2": 1})
    cli_invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
               "--workers", "0", "--quiet", tmp_path / "kf.fpig")
    topics = load_topics("tv21")
    rows = np.random.default_rng(0).standard_normal((len(topics), encoder.output_dim))
    warned = {}
    for sha in ("0", "1"):
        save_query_features(tmp_path / f"q{sha}.npy", rows, topics,
                            {"topic_set": "tv21", "checkpoint_sha256": sha * 64})
        result = cli_invoke(*run_args(tmp_path / "kf.fpig", tmp_path / f"q{sha}.npy",
                                      tmp_path / "runs", run_id=f"r{sha}"))
        warned[sha] = result.stderr
    assert warned["0"] == ""
    line, = warned["1"].splitlines()
    assert line.startswith(f"fpig-trecvid: warning: {tmp_path / 'kf.fpig'}: its shots were "
                           f"encoded by a checkpoint of sha256 000000000000, the topics by ")
    assert "sha256 111111111111" in line
