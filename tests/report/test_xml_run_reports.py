"""A NIST XML run scores in `compare`, `tables`, `plot topics` and `api.compare` exactly as its
TREC twin does (they once read TREC files only and refused it: "expected 6 ... fields")."""
import gzip
import json

import pytest
from support.cli import invoke

from trecvid_fpig import api
from trecvid_fpig.base.ids import topic_of_run_id
from trecvid_fpig.formats.avs_xml import run_attributes, write_avs_xml
from trecvid_fpig.formats.runs import parse_run

RUNS = ("runA", "runB")


def write_xml_twin(trec_path, xml_path):
    """The run as NIST's submission XML: each topic's shots in the order the evaluator ranks
    them (the XML holds no scores, only that order)."""
    run = parse_run(trec_path)
    attributes = run_attributes({}, pid="twin", desc="XML twin of a TREC run", task="M")
    write_avs_xml(xml_path, attributes, [(topic_of_run_id(t), 1, r.shots[:1000])
                                         for t, r in run.topics.items()])


@pytest.fixture(scope="module")
def twins(tmp_path_factory, data_dir):
    """{"trec": [paths], "xml": [paths]}: the same runs, under the same file names (the label
    reports print), in two folders."""
    folder = tmp_path_factory.mktemp("twins")
    paths = {"trec": [], "xml": []}
    for run in RUNS:
        for kind in paths:
            (folder / kind).mkdir(exist_ok=True)
            paths[kind].append(folder / kind / f"tv21.{run}")
        lines = gzip.open(data_dir / f"tv21.{run}.txt.gz", "rt").read()
        paths["trec"][-1].write_text(lines)
        write_xml_twin(paths["trec"][-1], paths["xml"][-1])
    assert paths["xml"][0].read_text().startswith("<?xml")
    return paths


def test_compare_scores_an_xml_run_as_its_trec_twin(twins):
    args = ("--qrels", "tv21", "--format", "json", "--permutations", "200", "--bootstrap", "200")
    trec = invoke("compare", *args, *twins["trec"])
    xml = invoke("compare", *args, *twins["xml"])
    folders = [str(twins[kind][0].parent) for kind in ("xml", "trec")]
    assert xml.stdout.replace(*folders) == trec.stdout
    assert json.loads(xml.stdout)["pairs"]


def test_api_compare_scores_an_xml_run_as_its_trec_twin(twins):
    trec = api.compare(twins["trec"], qrels="tv21", permutations=200, bootstrap=200)
    xml = api.compare(twins["xml"], qrels="tv21", permutations=200, bootstrap=200)
    assert len(trec) == 1 and xml.equals(trec)


@pytest.mark.slow       # renders four figures
def test_plot_topics_draws_an_xml_run_as_its_trec_twin(twins, tmp_path):
    for kind in twins:
        invoke("plot", "topics", "--qrels", "tv21", "--out", tmp_path / kind, "--dpi", "40",
               *twins[kind])
    assert (tmp_path / "xml.svg").read_bytes() == (tmp_path / "trec.svg").read_bytes()
    assert (tmp_path / "xml.png").read_bytes() == (tmp_path / "trec.png").read_bytes()


def test_tables_score_an_xml_run_as_its_trec_twin(twins, tmp_path):
    out = {}
    for kind in twins:
        (tmp_path / kind).mkdir()
        manifest = tmp_path / kind / "m.toml"      # the output names the manifest
        manifest.write_text("".join(f'[[model]]\nname = "{p.name}"\ntrecvid.tv21 = "{p.as_posix()}"\n'
                                    for p in twins[kind]))
        out[kind] = invoke("tables", manifest, "--table", "s1", "--format", "json",
                           "--no-cache").stdout
    assert out["xml"].replace(f"{tmp_path}/xml", f"{tmp_path}/trec") == out["trec"]
    cells = [r["TV21"] for r in json.loads(out["xml"])["tables"][0]["rows"] if r["Model"] in
             [p.name for p in twins["xml"]]]
    assert len(cells) == 2 and all(isinstance(c, float) for c in cells)
