"""The CLIP4Clip truncation rule, checked against open_clip's own ``tokenize`` of the full text."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

open_clip = pytest.importorskip("open_clip")

from trecvid_fpig.encode.text_encoder import tokenize_truncated  # noqa: E402
from trecvid_fpig.errors import InputError, InputWarning  # noqa: E402

SOT, EOT = 49406, 49407
LONG = "a red car drives past " * 20


@pytest.fixture(scope="module")
def tokenizer():
    return open_clip.tokenizer.SimpleTokenizer()


def _full_tokens(text: str) -> list:
    """Every token open_clip makes of `text` (a context long enough never to truncate)."""
    row = open_clip.tokenize([text], context_length=1000)[0].numpy()
    return row[row != 0].tolist()


def test_short_text_equals_open_clip_tokenize(tokenizer):
    texts = ["Find shots of a person riding a horse", "", "Élan — café!"]
    got = tokenize_truncated(tokenizer, texts, max_words=77, context_length=77)
    assert got.dtype == np.int64
    assert np.array_equal(got, open_clip.tokenize(texts).numpy())


@pytest.mark.parametrize("max_words", [2, 3, 32, 50])
def test_long_text_keeps_start_first_words_and_end(tokenizer, max_words):
    full = _full_tokens(LONG)
    assert len(full) > 60
    got = tokenize_truncated(tokenizer, [LONG], max_words=max_words, context_length=77)[0]
    expected = [SOT] + full[1:max_words - 1] + [EOT]
    assert got[:max_words].tolist() == expected
    assert not got[max_words:].any()


def test_max_words_equal_to_context_fills_the_context(tokenizer):
    full = _full_tokens(LONG * 2)
    got = tokenize_truncated(tokenizer, [LONG * 2], max_words=77, context_length=77)[0]
    assert got.tolist() == [SOT] + full[1:76] + [EOT]


def test_max_words_beyond_context_is_refused_naming_the_context(tokenizer):
    # cut silently to 77, it was recorded as 1000 in the sidecar
    with pytest.raises(InputError, match=r"--max-words 1000 .*context length \(77 tokens"):
        tokenize_truncated(tokenizer, [LONG], max_words=1000, context_length=77)


def test_text_shorter_than_max_words_is_not_cut(tokenizer):
    text = "two dogs playing in the snow"
    got = tokenize_truncated(tokenizer, [text], max_words=32, context_length=77)[0]
    assert got[got != 0].tolist() == _full_tokens(text)


def test_max_words_below_two_is_refused(tokenizer):
    with pytest.raises(InputError, match="at least 2"):
        tokenize_truncated(tokenizer, ["x"], max_words=1, context_length=77)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint
    from trecvid_fpig.encode.text_encoder import load_text_encoder

    path = save_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "model_best.pt", "hf-clip",
                                  width=256, layers=2, embed_dim=64, vision=False)
    return load_text_encoder(path, device="cpu")


def test_a_topic_encodes_to_the_same_bytes_alone_and_in_any_batch(encoder):
    """Features depend on the text alone: every subset, order and position gives the same
    bytes (they used to depend on the batch's longest text)."""
    from trecvid_fpig.formats.topics import load_topics

    texts = list(load_topics("tv21").texts) + [LONG, ""]
    every = encoder.encode(texts)
    for i, text in enumerate(texts):
        assert encoder.encode([text]).tobytes() == every[i].tobytes(), i
    for subset in (texts[3:], texts[::-1], texts[1::3], texts[5:14]):
        got = encoder.encode(subset)
        expected = np.stack([every[texts.index(t)] for t in subset])
        assert got.tobytes() == expected.tobytes()


def test_encode_batch_size_no_longer_changes_the_file(tmp_path, encoder):
    from support.cli import invoke

    files = []
    for size in ("1", "64"):
        out = tmp_path / size / "q.npy"
        result = invoke("encode", "--checkpoint", encoder.checkpoint_path, "--topics", "tv21",
                        "--batch-size", size, "--device", "cpu", "--quiet", "--out", out)
        assert "fpig-trecvid: warning: --batch-size is ignored" in result.stderr
        files.append((out.read_bytes(), out.with_suffix(".json").read_bytes()))
    assert files[0] == files[1]


def test_texts_cut_to_max_words_are_named_in_a_warning(tokenizer):
    # they were cut without a word: a long query lost its tail unseen
    texts = ["two dogs", LONG, LONG + "x"]
    with pytest.warns(InputWarning, match=r"2 of 3 text\(s\) cut to the 30 tokens --max-words "
                                          r"32 keeps.*'a red car drives past.*\(100 tokens\) "
                                          r"and 1 more"):
        tokenize_truncated(tokenizer, texts, max_words=32, context_length=77)


def test_texts_that_fit_raise_no_warning(tokenizer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenize_truncated(tokenizer, ["two dogs", "a red car"], max_words=5, context_length=77)
