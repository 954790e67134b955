"""The layers of docs/architecture.md hold: import-linter's contracts in setup.cfg pass, and they
cover every package, so a new one cannot sit outside them."""
import configparser
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO as ROOT

import trecvid_fpig

pytest.importorskip("importlinter")


def contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


def test_every_package_and_top_module_has_a_layer():
    layers = contracts()["importlinter:contract:layers"]["layers"]
    named = {name.strip() for line in layers.splitlines() for name in line.split("|") if name.strip()}
    package = Path(trecvid_fpig.__file__).parent
    here = {f"trecvid_fpig.{p.name}" for p in package.iterdir()
            if p.is_dir() and (p / "__init__.py").exists()}
    here |= {f"trecvid_fpig.{p.stem}" for p in package.glob("*.py")
             if p.stem not in ("__init__", "__main__")}
    assert here - named == set()
    assert named - here == set()


def test_the_contracts_catch_an_upward_import(tmp_path):
    """A copy of the package where a format imports the CLI breaks the layers contract."""
    import shutil

    copy = tmp_path / "trecvid_fpig"
    shutil.copytree(Path(trecvid_fpig.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "formats" / "qrels.py", "a") as fh:
        fh.write("\nfrom ..cli import output  # noqa: E402,F401\n")
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "trecvid_fpig.formats is not allowed to import trecvid_fpig.cli" in done.stdout
