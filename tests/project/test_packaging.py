"""What a wheel carries: every subpackage, the shipped data, and the extras the docs promise."""
import configparser

from support import REPO


def setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config


def test_every_subpackage_is_listed():
    listed = set(setup_cfg()["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "trecvid_fpig").rglob("__init__.py")}
    assert found <= listed


def test_shipped_data_is_package_data():
    config = setup_cfg()
    dirs = dict(line.split(" = ") for line in config["options"]["package_dir"].strip().splitlines())
    data = dict(config["options.package_data"])
    from trecvid_fpig.formats.shipped import FOLDERS
    for installed, checkout in FOLDERS.items():
        assert dirs[f"trecvid_fpig.{installed}"] == checkout
        patterns = [p.strip() for p in data[f"trecvid_fpig.{installed}"].split(",")]
        assert any((REPO / checkout).glob(p) for p in patterns)
    from trecvid_fpig.formats.topics import REGISTRY, shipped_path
    for info in REGISTRY.values():
        assert shipped_path(info.filename).is_file()
        assert shipped_path(info.filename).match("topics/*.avs.txt")


def test_the_light_install_has_no_torch():
    config = setup_cfg()
    light = config["options"]["install_requires"]
    assert "torch" not in light and "open_clip" not in light
    extras = config["options.extras_require"]
    assert "torch" in extras["models"] and "open_clip_torch" in extras["models"]
    assert "fpig-trecvid[models]" in extras["test"] and "ray" in extras["ray"]


def test_a_model_verb_without_torch_says_what_to_install(monkeypatch, tmp_path):
    import sys

    from support.cli import invoke
    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "open_clip"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)        # import torch now fails as if not installed
    result = invoke("demo", "--workdir", tmp_path / "d", "--quiet", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        'fpig-trecvid: error: demo needs torch, which the light install leaves out: '
        'pip install "fpig-trecvid[models]"']
