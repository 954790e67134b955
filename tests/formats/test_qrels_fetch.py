"""`qrels fetch`'s core, offline: a loopback server stands in for the public repositories, and a
registry entry points at it with the blob id computed here. What is installed is the verified
copy, normalised; anything else (a tampered byte, a dropped connection, no host, a wrong file)
installs nothing and leaves nothing behind."""
import hashlib
import json

import pytest
from support.loopback import DROPPED, closed_port_url, serving

from trecvid_fpig.errors import InputError
from trecvid_fpig.formats import qrels_registry
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.qrels_registry import QrelsEntry, QrelsSource, fetch
from trecvid_fpig.formats.topics import REGISTRY as TOPIC_SETS
from trecvid_fpig.formats.topics import resolve_qrels


def copy_of(topics, extra=b""):
    """A qrels copy as the repositories hold them: CRLF and no final newline."""
    lines = [f"{t} 0 shot{t}_{i} {1 + i % 2} {(-1, 0, 1)[i]}" for t in topics for i in range(3)]
    return "\r\n".join(lines).encode() + extra


TV19 = copy_of(range(1611, 1641))


def blob(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def registry(*sources):
    return {"tv19": QrelsEntry("tv19", tuple(sources))}


def files_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_installs_the_verified_copy_normalised_with_its_sidecar(fetched_data):
    assert TOPIC_SETS["tv19"].qrels is None
    with pytest.raises(InputError, match="fpig-trecvid qrels fetch tv19"):
        load_qrels("tv19")
    with serving({"/tv19": TV19}) as url:
        done = fetch("tv19", registry=registry(QrelsSource(url + "/tv19", blob(TV19))))
    path = fetched_data / "qrels" / "avs.qrels.tv19"
    assert done.action == "installed" and done.path == path and not done.notes
    assert path.read_bytes() == TV19.replace(b"\r\n", b"\n") + b"\n"
    sidecar = json.loads((fetched_data / "qrels" / "avs.qrels.tv19.json").read_text())
    assert sidecar["source"] == url + "/tv19" and sidecar["blob"] == blob(TV19)
    assert sidecar["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert files_in(fetched_data) == ["qrels/avs.qrels.tv19", "qrels/avs.qrels.tv19.json"]
    # the year now resolves wherever a shipped one does
    assert TOPIC_SETS["tv19"].qrels == "avs.qrels.tv19" and resolve_qrels("tv19") == path
    assert sorted(load_qrels("tv19").topics) == [str(t) for t in range(1611, 1641)]


@pytest.mark.parametrize("served, expected", [
    (TV19[:40] + b"X" + TV19[41:], "has git blob"),                 # one byte tampered
    (b"<html>404: Not Found</html>", "has git blob"),                # an error page
])
def test_a_copy_with_another_blob_is_refused(fetched_data, served, expected):
    with serving({"/tv19": served}) as url:
        with pytest.raises(InputError) as err:
            fetch("tv19", registry=registry(QrelsSource(url + "/tv19", blob(TV19))))
    message = str(err.value)
    assert message.startswith("tv19: ") and url + "/tv19" in message and expected in message
    assert blob(TV19) in message and "nothing installed" in message and "\n" not in message
    assert files_in(fetched_data) == []


def test_a_dropped_connection_leaves_nothing(fetched_data):
    with serving({"/tv19": TV19}) as url:
        with pytest.raises(InputError, match=r"connection dropped after \d+ bytes of \d+") as err:
            fetch("tv19", registry=registry(QrelsSource(url + DROPPED + "/tv19", blob(TV19))))
    assert blob(TV19) in str(err.value) and "--from FILE" in str(err.value)
    assert files_in(fetched_data) == []


def test_an_unreachable_host_is_one_clear_line(fetched_data):
    url = closed_port_url("/tv19")
    with pytest.raises(InputError) as err:
        fetch("tv19", registry=registry(QrelsSource(url, blob(TV19))))
    message = str(err.value)
    assert message.startswith("tv19: could not download") and url in message
    assert "cannot reach the host" in message and blob(TV19) in message
    assert "fpig-trecvid qrels fetch tv19 --from FILE" in message and "\n" not in message
    assert files_in(fetched_data) == []


def test_a_copy_elsewhere_is_tried_when_the_first_host_fails(fetched_data):
    with serving({"/copy": TV19}) as url:
        done = fetch("tv19", registry=registry(QrelsSource(closed_port_url(), blob(TV19)),
                                               QrelsSource(url + "/copy", blob(TV19))))
    assert done.source == url + "/copy" and done.action == "installed"


def test_from_a_file_downloaded_by_hand(fetched_data, tmp_path):
    by_hand = tmp_path / "avs.qrels.tv19"
    by_hand.write_bytes(TV19)
    entry = registry(QrelsSource(closed_port_url(), blob(TV19)))
    done = fetch("tv19", from_file=by_hand, registry=entry)
    assert done.action == "installed"
    assert (fetched_data / "qrels" / "avs.qrels.tv19").read_bytes() == TV19.replace(b"\r\n", b"\n") + b"\n"
    longer = TV19 + b"\r\n"
    by_hand.write_bytes(longer)
    with pytest.raises(InputError, match=f"tv19: {by_hand} has git blob {blob(longer)}"):
        fetch("tv19", from_file=by_hand, registry=entry, force=True)
    assert (fetched_data / "qrels" / "avs.qrels.tv19.json").is_file()     # the old one stays


def test_installed_is_a_no_op_and_force_reinstalls(fetched_data):
    with serving({"/tv19": TV19}) as url:
        entry = registry(QrelsSource(url + "/tv19", blob(TV19)))
        fetch("tv19", registry=entry)
        path = fetched_data / "qrels" / "avs.qrels.tv19"
        path.write_bytes(path.read_bytes())                     # same bytes: still installed
        assert fetch("tv19", registry=entry).action == "already installed"
        path.write_bytes(b"1611 0 shot1_1 1 1\n")               # edited: the sidecar no longer fits
        assert fetch("tv19", registry=entry).action == "installed"
        before = path.stat().st_ino
        assert fetch("tv19", registry=entry, force=True).action == "installed"
    assert path.stat().st_ino != before and files_in(fetched_data) == [
        "qrels/avs.qrels.tv19", "qrels/avs.qrels.tv19.json"]


def test_a_file_of_another_year_is_refused(fetched_data):
    tv21 = copy_of(range(1661, 1681))
    with serving({"/tv19": tv21}) as url:
        with pytest.raises(InputError, match="holds topics 1661, 1662.*none of tv19's 1611-1640: "
                                             "a wrong file; nothing installed"):
            fetch("tv19", registry=registry(QrelsSource(url + "/tv19", blob(tv21))))
    assert files_in(fetched_data) == []


def test_graded_judgments_are_refused(fetched_data):
    graded = TV19 + b"\r\n1611 0 shotx_1 1 2"
    with serving({"/tv19": graded}) as url:
        with pytest.raises(InputError, match="graded judgments .topic 1611: 2., expected -1, 0 or 1"):
            fetch("tv19", registry=registry(QrelsSource(url + "/tv19", blob(graded))))
    assert files_in(fetched_data) == []


def test_not_qrels_is_refused_with_the_line(fetched_data):
    broken = TV19 + b"\r\n1611 0 shotx_1 1"
    with serving({"/tv19": broken}) as url:
        with pytest.raises(InputError, match=r"is not a qrels file \(line 91\)"):
            fetch("tv19", registry=registry(QrelsSource(url + "/tv19", blob(broken))))
    assert files_in(fetched_data) == []


def test_other_topics_are_reported_and_an_alternative_named(fetched_data, tmp_path):
    other = copy_of([1590, *range(1611, 1640)])                 # one extra topic, 1640 missing
    by_hand = tmp_path / "alt"
    by_hand.write_bytes(other)
    entry = registry(QrelsSource("https://example.org/main", blob(TV19)),
                     QrelsSource("https://example.org/alt", blob(other), alternative=True))
    done = fetch("tv19", from_file=by_hand, registry=entry)
    assert done.source == "https://example.org/alt" and "1590" in done.topics
    assert any("alternative file https://example.org/alt" in n for n in done.notes)
    assert any("also judges topic(s) 1590" in n for n in done.notes)
    assert any("no shot of topic(s) 1640" in n for n in done.notes)


def test_shipped_and_unknown_sets():
    assert fetch("tv21").action == "ships with fpig-trecvid"
    with pytest.raises(InputError, match="no public copy of the tv24 qrels is known"):
        fetch("tv24")


def test_the_real_registry_is_the_default(monkeypatch, fetched_data, tmp_path):
    """Without `registry`, fetch uses REGISTRY: shown with a --from file, no network needed."""
    monkeypatch.setitem(qrels_registry.REGISTRY, "tv19",
                        registry(QrelsSource("https://example.org/tv19", blob(TV19)))["tv19"])
    (tmp_path / "f").write_bytes(TV19)
    assert fetch("tv19", from_file=tmp_path / "f").source == "https://example.org/tv19"


def test_the_data_folder_is_the_users_unless_the_variable_moves_it(monkeypatch, tmp_path):
    from platformdirs import user_data_dir

    from trecvid_fpig.formats.shipped import data_folder
    assert data_folder() != tmp_path
    monkeypatch.setenv("FPIG_TRECVID_DATA", str(tmp_path))
    assert data_folder() == tmp_path
    monkeypatch.delenv("FPIG_TRECVID_DATA")
    assert str(data_folder()) == user_data_dir("fpig-trecvid", appauthor=False)
