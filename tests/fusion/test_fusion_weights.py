"""Weighted fusion: a run of weight 0 is left out, not added at fused score 0."""
import trecvid_fpig as tf


def test_weight_zero_gives_exactly_the_other_runs_ranking(data_dir):
    a, b = (tf.read_run(str(data_dir / f"tv21.run{x}.txt.gz")) for x in "AB")
    fused = tf.fuse([a, b], method="weighted", weights=[0, 1])
    # the fused run keeps 1000 shots a topic, as NIST's scorer reads B
    assert {t: r.shots for t, r in fused.topics.items()} == {t: r.shots[:1000] for t, r in b.topics.items()}
    assert tf.score(fused, "tv21").loc[0, "infAP"] == tf.score(b, "tv21").loc[0, "infAP"]


def test_weight_zero_leaves_out_topics_only_that_run_has():
    a = tf.Run.from_dict({"1661": {"shot00001_1": 1.0}, "1662": {"shot00002_1": 1.0}}, tag="a")
    b = tf.Run.from_dict({"1661": {"shot00003_1": 2.0, "shot00004_1": 1.0}}, tag="b")
    fused = tf.fuse([a, b], method="weighted", weights=[0, 2])
    assert {t: r.shots for t, r in fused.topics.items()} == {"1661": ("shot00003_1", "shot00004_1")}
