"""Bad checkpoints are one clear InputError that names the file, the layout and what is missing."""
from __future__ import annotations

import argparse

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.checkpoints import load_text_checkpoint  # noqa: E402
from trecvid_fpig.encode.text_encoder import load_text_encoder  # noqa: E402
from trecvid_fpig.errors import InputError  # noqa: E402


def _rewrite(path, edit):
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)
    return path


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="no such checkpoint") as err:
        load_text_checkpoint(tmp_path / "absent.pt")
    assert err.value.path == str(tmp_path / "absent.pt")


def test_directory(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load_text_checkpoint(tmp_path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", bytes(range(256)) * 8])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "model_best.pt"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_text_checkpoint(path)
    assert err.value.path == str(path)


def test_pickled_objects_are_not_executed(tmp_path):
    path = tmp_path / "with_objects.pt"
    torch.save({"args": argparse.Namespace(lr=1e-4), "w": torch.zeros(2)}, path)
    with pytest.raises(InputError, match=r"weights_only=True.*argparse.Namespace"):
        load_text_checkpoint(path)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(InputError, match="expected a state dict"):
        load_text_checkpoint(path)


def test_unknown_layout_names_layouts_and_first_keys(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"backbone.conv1.weight": torch.zeros(2), "head.fc.bias": torch.zeros(2)}, path)
    with pytest.raises(InputError) as err:
        load_text_checkpoint(path)
    message = str(err.value)
    for part in ("unknown checkpoint layout", "hf-clip", "clip4clip", "open_clip",
                 "backbone.conv1.weight", str(path)):
        assert part in message


def test_missing_hf_tensor_names_layout_prefix_and_key(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "hf-clip", layers=3)
    key = "encoder.clipmodel.text_model.encoder.layers.1.mlp.fc2.bias"
    _rewrite(path, lambda s: s.pop(key))
    with pytest.raises(InputError) as err:
        load_text_checkpoint(path)
    message = str(err.value)
    assert "layout hf-clip" in message and "'encoder.clipmodel.'" in message and key in message


def test_missing_clip4clip_projection(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.bin", "clip4clip")
    _rewrite(path, lambda s: s.pop("clip.text_projection"))
    with pytest.raises(InputError, match=r"layout clip4clip .*clip\.text_projection"):
        load_text_checkpoint(path)


def test_two_hf_towers_are_ambiguous(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "hf-clip", extra_keys=False)
    _rewrite(path, lambda s: s.update({"teacher." + k: v for k, v in list(s.items())}))
    with pytest.raises(InputError, match="2 Hugging Face CLIP text towers"):
        load_text_checkpoint(path)


def test_inconsistent_shapes(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "open_clip", extra_keys=False)

    def shrink(obj):
        key = "module.transformer.resblocks.0.mlp.c_proj.weight"
        obj["state_dict"][key] = obj["state_dict"][key][:, :10].clone()
    _rewrite(path, shrink)
    with pytest.raises(InputError, match="do not fit a CLIP text transformer"):
        load_text_encoder(path, device="cpu")


def test_small_vocabulary_is_refused(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "clip4clip", vocab_size=1000)
    with pytest.raises(InputError, match="vocabulary of 1000"):
        load_text_encoder(path, device="cpu")


def test_non_finite_weights_are_reported_when_encoding(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "clip4clip")
    _rewrite(path, lambda s: s["clip.ln_final.weight"].fill_(float("nan")))
    encoder = load_text_encoder(path, device="cpu")
    with pytest.raises(InputError, match="NaN/inf"):
        encoder.encode(["a dog"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_gpu(tmp_path):
    path = save_random_checkpoint(tmp_path / "m.pt", "clip4clip")
    with pytest.raises(InputError, match="no CUDA GPU"):
        load_text_encoder(path, device="cuda")


@pytest.mark.parametrize("device", ["cudax", "gpu", "cuda:one", "cuda:١"])
def test_unknown_device_is_refused_by_name(tmp_path, device):
    path = save_random_checkpoint(tmp_path / "m.pt", "clip4clip")
    with pytest.raises(InputError, match=f"unknown device '{device}'"):
        load_text_encoder(path, device=device)


def test_pick_device_names_an_unknown_device_before_asking_torch():
    """`cudax` passed the old prefix test and was reported as a missing GPU."""
    from trecvid_fpig.base.devices import pick_device

    with pytest.raises(InputError, match="unknown device 'cudax'"):
        pick_device("cudax")
