"""Attention heads, which no weight tells: from the model's config (Hugging Face config.json,
open_clip model config), from open_clip's own architecture table, else assumed 64 wide and said
so. Each tower is checked against the original code (transformers, open_clip) to 1e-5."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
transformers = pytest.importorskip("transformers")
from PIL import Image  # noqa: E402
from support.cli import invoke  # noqa: E402
from support.extraction import keyframe_collection  # noqa: E402
from support.towers import perturb, tiny_hf_clip  # noqa: E402

from trecvid_fpig.encode import checkpoints  # noqa: E402
from trecvid_fpig.encode.text_encoder import load_text_encoder  # noqa: E402
from trecvid_fpig.encode.video_encoder import load_video_encoder  # noqa: E402
from trecvid_fpig.errors import InputError  # noqa: E402
from trecvid_fpig.formats.store import read_features  # noqa: E402

TOL = 1e-5
TEXTS = ["a person riding a horse on a beach", "", "two dogs play in the snow at night",
         " ".join(f"word{i}" for i in range(40))]
#: An open_clip architecture with 80-wide heads (as ViT-H-14's), small: 320 wide, so that
#: 64-wide heads (5) would differ from its own (4).
H80 = {"embed_dim": 48,
       "vision_cfg": {"image_size": 32, "layers": 1, "width": 320, "head_width": 80,
                      "patch_size": 16},
       "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 320, "heads": 4,
                    "layers": 1}}


def _images(count=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
            for _ in range(count)]


def _video_features(encoder, images):
    transform = encoder.preprocess()
    frames = torch.stack([transform(im) for im in images])[:, None]
    shots, _ = encoder.encode(frames, torch.ones(len(images), 1, dtype=torch.bool))
    return frames[:, 0], shots


def _unit(x):
    return torch.nn.functional.normalize(x.float(), dim=-1)


@pytest.fixture(scope="module")
def hf32(tmp_path_factory):
    """A Hugging Face CLIPModel with 32-wide heads in both towers, saved as F-Pig saves it, and
    its config.json from save_pretrained."""
    folder = tmp_path_factory.mktemp("hf32")
    model = tiny_hf_clip(5, text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=2),
                         vision=dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                                     num_attention_heads=4, image_size=32, patch_size=16),
                         projection_dim=40)
    model.save_pretrained(folder / "hf")
    path = folder / "model_best.pt"
    torch.save({"encoder.clipmodel." + k: v for k, v in model.state_dict().items()}, path)
    return model, path, folder / "hf" / "config.json"


def test_hf_tower_heads_from_its_config_match_transformers(hf32):
    model, path, config = hf32
    text = load_text_encoder(path, device="cpu", tower_config=config)
    assert (text.spec.heads, text.spec.heads_assumed) == (2, False)
    assert text.spec.heads_from == f"--tower-config {config}"
    ids = text.token_ids(TEXTS, max_words=32)
    with torch.no_grad():
        expected = _unit(model.get_text_features(input_ids=torch.from_numpy(ids)).pooler_output)
    assert np.abs(text.encode(TEXTS, max_words=32) - expected.numpy()).max() <= TOL

    video = load_video_encoder(path, device="cpu", tower_config=config)
    assert video.provenance()["heads"] == 4 and "heads_note" not in video.provenance()
    frames, shots = _video_features(video, _images())
    with torch.no_grad():
        expected = _unit(model.get_image_features(pixel_values=frames).pooler_output)
    assert (shots - expected).abs().max() <= TOL


def test_hf_tower_without_config_assumes_64_wide_heads_and_says_so(hf32):
    model, path, _ = hf32
    text = load_text_encoder(path, device="cpu")
    assert (text.spec.heads, text.spec.heads_assumed) == (1, True)
    record = checkpoints.text_heads_record(text.spec, path)
    assert record["text_heads_from"] == checkpoints.HEADS_ASSUMED
    assert "--tower-config" in record["heads_note"] and "\n" not in record["heads_note"]
    provenance = load_video_encoder(path, device="cpu").provenance()
    assert provenance["heads"] == 2 and "--tower-config" in provenance["heads_note"]
    # The guess is wrong for this model: the features are not transformers' ones.
    ids = text.token_ids(TEXTS, max_words=32)
    with torch.no_grad():
        expected = _unit(model.get_text_features(input_ids=torch.from_numpy(ids)).pooler_output)
    assert np.abs(text.encode(TEXTS, max_words=32) - expected.numpy()).max() > 1e-3


def test_hf_config_gives_the_activation_too(tmp_path):
    """A LAION-style HF CLIP (exact GELU): its config.json says so, and --activation auto
    follows it; without the config the hf-clip layout's QuickGELU is used."""
    model = tiny_hf_clip(6, text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                      num_attention_heads=1, hidden_act="gelu"),
                         vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                     num_attention_heads=1, image_size=32, patch_size=16,
                                     hidden_act="gelu"),
                         projection_dim=24)
    model.save_pretrained(tmp_path / "hf")
    path = tmp_path / "model.pt"
    torch.save({"encoder.clipmodel." + k: v for k, v in model.state_dict().items()}, path)
    config = tmp_path / "hf" / "config.json"
    text = load_text_encoder(path, device="cpu", tower_config=config)
    assert not text.spec.quick_gelu and load_text_encoder(path, device="cpu").spec.quick_gelu
    ids = text.token_ids(TEXTS, max_words=32)
    with torch.no_grad():
        expected = _unit(model.get_text_features(input_ids=torch.from_numpy(ids)).pooler_output)
    assert np.abs(text.encode(TEXTS, max_words=32) - expected.numpy()).max() <= TOL
    video = load_video_encoder(path, device="cpu", tower_config=config)
    frames, shots = _video_features(video, _images(seed=3))
    with torch.no_grad():
        expected = _unit(model.get_image_features(pixel_values=frames).pooler_output)
    assert (shots - expected).abs().max() <= TOL and not video.provenance()["quick_gelu"]


@pytest.fixture
def h80_table(monkeypatch):
    """open_clip's architecture table with one more entry, as open_clip.add_model_config
    registers a user's config."""
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "Tiny-H80-test", H80)
    torch.manual_seed(7)
    model = open_clip.create_model("Tiny-H80-test").eval()
    perturb(model, 7)
    return model


def _save_open_clip(model, path):
    torch.save({"epoch": 3, "state_dict": {"module." + k: v
                                           for k, v in model.state_dict().items()}}, path)
    return path


def test_open_clip_80_wide_heads_from_the_table_match_open_clip(tmp_path, h80_table):
    path = _save_open_clip(h80_table, tmp_path / "epoch_3.pt")
    text = load_text_encoder(path, device="cpu")
    assert (text.spec.heads, text.spec.heads_assumed) == (4, False)
    assert text.spec.heads_from == "open_clip model config Tiny-H80-test"
    ids = text.token_ids(TEXTS, max_words=77)
    with torch.no_grad():
        expected = _unit(h80_table.encode_text(torch.from_numpy(ids)))
    assert np.abs(text.encode(TEXTS, max_words=77) - expected.numpy()).max() <= TOL

    video = load_video_encoder(path, device="cpu")
    assert video.provenance()["heads"] == 4
    frames, shots = _video_features(video, _images(seed=1))
    with torch.no_grad():
        expected = _unit(h80_table.encode_image(frames))
    assert (shots - expected).abs().max() <= TOL


def test_open_clip_config_file_gives_the_heads_without_the_table(tmp_path, h80_table):
    path = _save_open_clip(h80_table, tmp_path / "epoch_3.pt")
    config = tmp_path / "open_clip_config.json"
    config.write_text(json.dumps({"model_cfg": H80, "preprocess_cfg": {}}))
    # Taken out of the table again: only the file tells the heads.
    del open_clip.factory._MODEL_CONFIGS["Tiny-H80-test"]
    assert load_video_encoder(path, device="cpu").provenance()["heads"] == 5
    video = load_video_encoder(path, device="cpu", tower_config=config)
    frames, shots = _video_features(video, _images(seed=2))
    with torch.no_grad():
        expected = _unit(h80_table.encode_image(frames))
    assert (shots - expected).abs().max() <= TOL
    assert load_text_encoder(path, device="cpu", tower_config=config).spec.heads == 4


def _meta_state(name):
    """The state dict of open_clip's real `name` architecture, shapes only (meta tensors)."""
    config = open_clip.get_model_config(name)
    with torch.device("meta"):
        model = open_clip.model.CLIP(**config)
    return model.state_dict()


@pytest.mark.parametrize("name,text_heads,vision_heads", [
    ("ViT-H-14", 16, 16), ("ViT-g-14", 16, 16), ("ViT-bigG-14", 20, 16), ("ViT-B-32", 8, 12)])
def test_real_open_clip_architectures_are_matched_by_their_shapes(name, text_heads, vision_heads):
    heads = checkpoints.tower_heads(_meta_state(name), "open_clip", "ckpt.pt", None)
    assert heads.heads == {"text": text_heads, "vision": vision_heads} and not heads.assumed
    assert name in heads.source


def test_shapes_matching_configs_with_other_heads_fall_back_and_say_so(monkeypatch):
    state = _meta_state("ViT-H-14")
    other = json.loads(json.dumps(open_clip.get_model_config("ViT-H-14")))
    other["vision_cfg"]["head_width"] = 128          # same shapes, 10 heads
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "ViT-H-14-other-heads", other)
    heads = checkpoints.tower_heads(state, "open_clip", "ckpt.pt", None)
    assert heads.assumed and heads.heads == {"text": 16, "vision": 20}


def test_config_for_another_model_is_refused_naming_both(hf32, tmp_path):
    _, path, _ = hf32
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"text_config": {"hidden_size": 512, "num_attention_heads": 8},
                                  "vision_config": {"hidden_size": 128,
                                                    "num_attention_heads": 4}}))
    with pytest.raises(InputError) as err:
        load_text_encoder(path, device="cpu", tower_config=config)
    message = str(err.value)
    assert str(config) in message and str(path) in message and "512" in message
    assert "\n" not in message


@pytest.mark.parametrize("content,expected", [
    ("[1, 2]", "JSON object"), ("{\"a\": 1}", "neither a Hugging Face"), ("{", "JSON"),
    (json.dumps({"text_config": {"hidden_size": 64}, "vision_config": {}}),
     "no positive integer 'num_attention_heads'"),
    (json.dumps({"text_config": {"hidden_size": 64, "num_attention_heads": 3},
                 "vision_config": {"hidden_size": 128, "num_attention_heads": 4}}),
     "does not split into 3 heads"),
    (json.dumps({"text_config": {"hidden_size": 64, "num_attention_heads": 1},
                 "vision_config": {"hidden_size": 128, "num_attention_heads": 2,
                                   "hidden_act": "gelu_new"}}),
     "hidden_act 'gelu_new'")])
def test_bad_tower_configs_are_one_line_naming_the_file(tmp_path, content, expected):
    config = tmp_path / "config.json"
    config.write_text(content)
    with pytest.raises(InputError, match=expected) as err:
        checkpoints.read_tower_config(config)
    assert str(config) in str(err.value)


def test_clis_take_tower_config_and_record_the_heads(hf32, tmp_path):
    model, path, config = hf32
    topics = tmp_path / "topics.txt"
    topics.write_text("1 a person riding a horse\n2 dogs in the snow\n")
    # encode: heads from the config, recorded in the sidecar, no notice
    result = invoke("encode", "--checkpoint", path, "--topics", topics, "--tower-config", config,
                    "--max-words", "32", "--device", "cpu", "--quiet", "--out", tmp_path / "q.npy")
    sidecar = json.loads((tmp_path / "q.json").read_text())
    assert (sidecar["text_heads"], sidecar["text_heads_from"]) == (2, f"--tower-config {config}")
    assert "heads_note" not in sidecar and "note:" not in result.stderr
    # without it: the notice (one line on stderr), and the sidecar says the heads were assumed
    result = invoke("encode", "--checkpoint", path, "--topics", topics, "--device", "cpu",
                    "--out", tmp_path / "q2.npy")
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "--tower-config" in notes[0]
    assert json.loads((tmp_path / "q2.json").read_text())["text_heads"] == 1

    # features extract: the store's rows are transformers' image features
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1, "shot00001_2": 1},
                               size=(48, 40))
    store_path = tmp_path / "kf.fpig"
    invoke("features", "extract", "--checkpoint", path, "--keyframes", root, "--tower-config",
           config, "--device", "cpu", "--workers", "0", "--quiet", store_path)
    store = read_features(store_path)
    tower = store.manifest["extract"]["tower"]
    assert (tower["heads"], tower["heads_from"]) == (4, f"--tower-config {config}")
    video = load_video_encoder(path, device="cpu", tower_config=config)
    images = [Image.open(next((root / "00001").glob(f"{shot}_*"))) for shot in store.ids]
    frames = torch.stack([video.preprocess()(im) for im in images])
    with torch.no_grad():
        expected = _unit(model.get_image_features(pixel_values=frames).pooler_output)
    assert np.abs(store.matrix - expected.numpy()).max() <= TOL

    # run: the topics are encoded with the config's heads; the sidecar records them
    invoke("run", "--checkpoint", path, "--tower-config", config, "--features", store_path,
           "--topics", topics, "--run-id", "r1", "--out-dir", tmp_path / "runs", "--quiet")
    record = json.loads((tmp_path / "runs" / "r1" / "topics.json").read_text())["query"]
    assert record["text_heads"] == 2 and "heads_note" not in record
    result = invoke("run", "--query-features", tmp_path / "q.npy", "--tower-config", config,
                    "--features", store_path, "--topics", topics, "--run-id", "r2",
                    "--out-dir", tmp_path / "runs", ok=False)
    assert result.exit_code != 0 and "--tower-config" in result.stderr
