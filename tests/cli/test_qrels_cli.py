"""`fpig-trecvid qrels fetch`: one line per set, one error line (exit 2) for anything refused,
and afterwards `--qrels tv19` works wherever `--qrels tv21` does: score, compare, plot, tables
and the API. The sources are a loopback server and files on disk, so nothing leaves the machine."""
import hashlib
import json

import pytest
from support.cli import invoke
from support.loopback import DROPPED, closed_port_url, serving
from support.outputs import one_error_line

from trecvid_fpig import api
from trecvid_fpig.evaluate.strict import qrels_collection
from trecvid_fpig.formats import qrels_registry
from trecvid_fpig.formats.qrels_registry import QrelsEntry, QrelsSource

TOPICS = range(1611, 1641)
COPY = "\r\n".join(f"{t} 0 shot0{t}_{i + 1} {1 + i % 2} {(-1, 0, 1, 1)[i]}"
                   for t in TOPICS for i in range(4)).encode()
BLOB = hashlib.sha1(b"blob %d\0" % len(COPY) + COPY).hexdigest()


def point_tv19_at(monkeypatch, *urls):
    monkeypatch.setitem(qrels_registry.REGISTRY, "tv19",
                        QrelsEntry("tv19", tuple(QrelsSource(url, BLOB) for url in urls)))


def files_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_fetch_installs_then_is_a_no_op_then_force_reinstalls(monkeypatch, fetched_data):
    with serving({"/tv19": COPY}) as url:
        point_tv19_at(monkeypatch, url + "/tv19")
        first = invoke("qrels", "fetch", "tv19", "tv21")
        installed = fetched_data / "qrels" / "avs.qrels.tv19"
        assert first.stdout.splitlines() == [
            f"tv19: installed {installed} (30 topics, 1611-1640) from {url}/tv19, git blob {BLOB[:12]}",
            "tv21: ships with fpig-trecvid; nothing to fetch"]
        again = invoke("qrels", "fetch", "tv19")
        assert again.stdout.startswith(f"tv19: already installed at {installed}")
        forced = invoke("qrels", "fetch", "tv19", "--force")
        assert forced.stdout.startswith("tv19: installed") and forced.stderr == ""
    assert installed.read_bytes() == COPY.replace(b"\r\n", b"\n") + b"\n"
    listed = {line.split()[0]: line for line in invoke("topics", "list").stdout.splitlines()}
    assert listed["tv19"].endswith("qrels fetched") and listed["tv20"].endswith("qrels from NIST")
    assert listed["tv21"].endswith("qrels shipped")


@pytest.mark.parametrize("path, served, fragments", [
    ("/tv19", COPY[:-1] + b"9", ["has git blob", f"expected {BLOB}"]),
    (DROPPED + "/tv19", COPY, ["connection dropped after", f"expected git blob {BLOB}"]),
])
def test_refused_downloads_are_one_line_and_install_nothing(monkeypatch, fetched_data, path, served,
                                                             fragments):
    with serving({"/tv19": served}) as url:
        point_tv19_at(monkeypatch, url + path)
        result = invoke("qrels", "fetch", "tv19", ok=False)
    one_error_line(result, "tv19: ", url + path, "nothing installed", *fragments)
    assert files_in(fetched_data) == []


def test_no_network_names_the_set_the_source_and_the_way_without_it(monkeypatch, fetched_data):
    url = closed_port_url("/tv19")
    point_tv19_at(monkeypatch, url)
    line = one_error_line(invoke("qrels", "fetch", "tv19", ok=False), "tv19: could not download",
                          url, "cannot reach the host", BLOB, "qrels fetch tv19 --from FILE")
    assert "Traceback" not in line and files_in(fetched_data) == []


def test_from_a_file_and_its_refusals(monkeypatch, fetched_data, tmp_path):
    point_tv19_at(monkeypatch, closed_port_url())
    by_hand = tmp_path / "avs.qrels.tv19"
    by_hand.write_bytes(COPY + b"\r\n")
    one_error_line(invoke("qrels", "fetch", "tv19", "--from", by_hand, ok=False),
                   f"tv19: {by_hand} has git blob", f"expected {BLOB}")
    one_error_line(invoke("qrels", "fetch", "tv19", "tv20", "--from", by_hand, ok=False),
                   "--from installs one file")
    one_error_line(invoke("qrels", "fetch", "tv24", ok=False), "'tv24' is not one of")
    assert files_in(fetched_data) == []
    by_hand.write_bytes(COPY)
    assert invoke("qrels", "fetch", "tv19", "--from", by_hand).stdout.startswith("tv19: installed")
    for name in ("tv19", "tv21"):       # already installed, or shipped: the file is not read
        again = invoke("qrels", "fetch", name, "--from", by_hand)
        assert f"warning: {name}: {by_hand} was not read" in again.stderr


def tv19_run(path, shift=0):
    """A run over the 30 tv19 topics: the judged shots, in an order shifted by `shift`."""
    lines = []
    for t in TOPICS:
        shots = [f"shot0{t}_{(i + shift) % 4 + 1}" for i in range(4)]
        lines += [f"{t} 0 {shot} {rank} {100 - rank} R" for rank, shot in enumerate(shots, 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow       # draws a figure and builds a table: seconds
def test_a_fetched_year_works_wherever_a_shipped_one_does(monkeypatch, fetched_data, tmp_path):
    missing = invoke("score", "--qrels", "tv19", tv19_run(tmp_path / "a.txt"), ok=False)
    one_error_line(missing, "the tv19 qrels are not installed", "fpig-trecvid qrels fetch tv19")
    (tmp_path / "copy").write_bytes(COPY)
    point_tv19_at(monkeypatch, "https://example.org/tv19")
    invoke("qrels", "fetch", "tv19", "--from", tmp_path / "copy")
    run_a, run_b = tv19_run(tmp_path / "a.txt"), tv19_run(tmp_path / "b.txt", shift=2)

    scored = json.loads(invoke("score", "--qrels", "tv19", run_a, "--format", "json").stdout)
    by_path = json.loads(invoke("score", "--qrels", fetched_data / "qrels" / "avs.qrels.tv19",
                                run_a, "--format", "json").stdout)
    assert scored["rows"] == by_path["rows"] and 0 < scored["rows"][0]["infAP"] < 1
    assert invoke("score", "--qrels", "tv19", "--strict", run_a).exit_code == 0
    assert sorted(api.load_qrels("tv19").topics) == [str(t) for t in TOPICS]
    assert qrels_collection(api.load_qrels("tv19")) == "V3C1"      # --strict's dropped shots
    compared = invoke("compare", "--qrels", "tv19", run_a, run_b).stdout.splitlines()
    assert [line.split()[0] for line in compared[2:32]] == [str(t) for t in TOPICS]
    invoke("plot", "topics", "--qrels", "tv19", run_a, "--out", tmp_path / "fig")
    assert list(tmp_path.glob("fig*"))
    (tmp_path / "m.toml").write_text(f'[[model]]\nname = "A"\ntrecvid.tv19 = "{run_a.as_posix()}"\n')
    s1 = next(t for t in json.loads(invoke("tables", tmp_path / "m.toml", "--format", "json").stdout)
              ["tables"] if t["key"] == "s1")
    row = next(r for r in s1["rows"] if r["Model"] == "A")
    assert row["TV19"] == pytest.approx(scored["rows"][0]["infAP"])
