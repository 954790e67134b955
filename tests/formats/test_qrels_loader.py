"""One qrels loader (`qrels.load_qrels`): `score`, the reports, `fuse` and the API call it, so a
name, a path and a Qrels are taken, and refused, the same way everywhere."""
import ast
from pathlib import Path

import pytest

import trecvid_fpig
from trecvid_fpig import api
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.qrels import Qrels, load_qrels, parse_qrels
from trecvid_fpig.formats.topics import shipped_path


@pytest.mark.slow       # parses every module of the package
def test_every_entry_point_is_the_one_loader():
    assert api.load_qrels is load_qrels and trecvid_fpig.load_qrels is load_qrels
    package = Path(trecvid_fpig.__file__).parent
    homes = [path.relative_to(package).as_posix() for path in package.rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef) and node.name == "load_qrels"]
    assert homes == ["formats/qrels.py"]


def test_name_path_and_qrels():
    by_name = load_qrels("tv21")
    path = shipped_path("qrels/avs.qrels.tv21.gz")
    assert by_name.topics.keys() == parse_qrels(path).topics.keys()
    assert load_qrels(by_name) is by_name
    assert Qrels.from_file("tv21").topics.keys() == by_name.topics.keys()


@pytest.mark.parametrize("spec, message", [("tv19", "fpig-trecvid qrels fetch tv19"),
                                           ("nowhere.qrels", "no such qrels file")])
def test_refusals(spec, message):
    for loader in (load_qrels, api.load_qrels, Qrels.from_file):
        with pytest.raises(InputError, match=message):
            loader(spec)
