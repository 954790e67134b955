"""``fpig-trecvid encode``: q.npy + sidecar for a topic set, atomic, exit 2 on bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("open_clip")

from trecvid_fpig.cli import cli  # noqa: E402
from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.text_encoder import load_text_encoder  # noqa: E402
from trecvid_fpig.formats.query_features import checkpoint_sha256  # noqa: E402
from trecvid_fpig.formats.topics import load_topics  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "model_best.pt", "hf-clip")


def _encode(*args: str):
    return CliRunner().invoke(cli, ["encode", *args])


def test_encodes_tv19_in_topic_order_with_sidecar(tmp_path, checkpoint):
    out = tmp_path / "q.npy"
    result = _encode("--checkpoint", str(checkpoint), "--topics", "tv19", "--max-words", "32",
                     "--device", "cpu", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout
    topics = load_topics("tv19")
    feats = np.load(out)
    assert feats.dtype == np.float32 and feats.shape == (30, 32)
    expected = load_text_encoder(checkpoint, device="cpu").encode(topics.texts, max_words=32)
    np.testing.assert_allclose(feats, expected, atol=1e-6)
    side = json.loads((tmp_path / "q.json").read_text())
    assert side["topic_ids"] == [str(t) for t in topics.ids] and side["topic_set"] == "tv19"
    assert side["max_words"] == 32 and side["dim"] == 32
    assert side["checkpoint_sha256"] == checkpoint_sha256(checkpoint)
    assert side["checkpoint_layout"] == "hf-clip" and side["activation"] == "quick_gelu"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.json", "q.npy"]


def test_rerun_is_byte_identical_and_quiet_prints_nothing(tmp_path, checkpoint):
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name / "q.npy"
        result = _encode("--checkpoint", str(checkpoint), "--topics", "tv21", "--out", str(out),
                         "--device", "cpu", "--quiet")
        assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
        outputs.append((out.read_bytes(), out.with_suffix(".json").read_text()))
    assert outputs[0] == outputs[1]  # the sidecar records no clock and no output path


def test_topic_file_path(tmp_path, checkpoint):
    topics = tmp_path / "mine.txt"
    topics.write_text("1 a person cooking\n2 a boat on a lake\n")
    out = tmp_path / "q.npy"
    result = _encode("--checkpoint", str(checkpoint), "--topics", str(topics), "--out", str(out),
                     "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads(out.with_suffix(".json").read_text())["topic_ids"] == ["1", "2"]


@pytest.mark.parametrize("case", ["missing", "garbage", "unknown-topics", "not-npy"])
def test_bad_input_exits_2_and_leaves_outputs_alone(tmp_path, checkpoint, case):
    out = tmp_path / "q.npy"
    out.write_bytes(b"previous result")
    ckpt, topics, target = str(checkpoint), "tv19", str(out)
    if case == "missing":
        ckpt = str(tmp_path / "absent.pt")
    elif case == "garbage":
        ckpt = str(tmp_path / "garbage.pt")
        (tmp_path / "garbage.pt").write_bytes(b"\x80\x04garbage")
    elif case == "unknown-topics":
        topics = "tv99"
    else:
        target = str(tmp_path / "q.txt")
    result = _encode("--checkpoint", ckpt, "--topics", topics, "--out", target, "--quiet")
    assert result.exit_code == 2
    if case == "not-npy":  # refused while parsing, before the model is loaded
        assert "Invalid value for '--out'" in result.stderr and "*.npy" in result.stderr
    else:
        assert result.stderr.startswith("fpig-trecvid: error: ")
        assert (ckpt if case != "unknown-topics" else "tv99") in result.stderr
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"previous result"
    assert not (tmp_path / "q.json").exists() and not (tmp_path / "q.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_cli_modules_do_not_import_torch():
    code = ("import sys, trecvid_fpig.cli.encode, trecvid_fpig.formats.query_features, "
            "trecvid_fpig.encode.checkpoints, trecvid_fpig.encode.text_encoder, "
            "trecvid_fpig.demo.checkpoints; "
            "assert not {'torch', 'open_clip'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
