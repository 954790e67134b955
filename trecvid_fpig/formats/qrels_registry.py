"""Where NIST's AVS judgments for the years that do not ship can be found, and how a copy is
proved to be the expected file before ``fpig-trecvid qrels fetch`` installs it.

NIST no longer links its qrels; public AVS repositories hold them, pinned by git history. Each
source is a raw file at a fixed commit, identified by its git blob id (what ``git hash-object``
prints), checked on the bytes as received. The copies use CRLF line ends and some lack a final
newline, so the verified bytes are normalised (LF, one final newline) and checked as qrels of
their year before they are installed, with a sidecar saying where they came from, in the data
folder (:func:`~trecvid_fpig.formats.shipped.data_folder`), where ``--qrels tv19`` finds them.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from ..base.download import DownloadFailed, download
from ..base.files import PathLike, file_sha256, read_bytes
from ..base.locks import output_lock
from ..base.outputs import atomic_write, commit_file_set, staging_directory
from ..errors import InputError
from .qrels import Qrels, parse_qrels, read_sidecar, sidecar_path
from .shipped import DATA_ENV, data_folder
from .topics import REGISTRY as TOPIC_SETS
from .topics import qrels_topic_id, shipped_path

_RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
_JIAXINWOO = ("jiaxinwoo/AVS_feature_data", "9633a749424773e8be9aeb03a2eed662d637d95e")
_BMEZARIS = ("bmezaris/TextToVideoRetrieval-TtimesV", "83fe9670728f7a22fe9f7f7581c8334fd1ce6cfe")


@dataclass(frozen=True)
class QrelsSource:
    """One file at a pinned URL, and the git blob id its bytes must have."""
    url: str
    blob: str
    #: another file for the set (not a copy of the main one): accepted by ``--from`` and
    #: reported as such, never downloaded in place of the main file
    alternative: bool = False


@dataclass(frozen=True)
class QrelsEntry:
    """A topic set's judgments: the main file first, then its copies and alternatives."""
    name: str
    sources: Tuple[QrelsSource, ...]

    @property
    def blob(self) -> str:
        return self.sources[0].blob

    @property
    def downloads(self) -> Tuple[QrelsSource, ...]:
        """The sources of the main file, tried in order."""
        return tuple(s for s in self.sources if not s.alternative)

    def source_of(self, blob: str, url: str = "") -> Optional[QrelsSource]:
        """The source with that blob: the one at `url` where that is one of them."""
        matching = [s for s in self.sources if s.blob == blob]
        return next((s for s in matching if s.url == url), matching[0] if matching else None)


def _github(repo_commit: Tuple[str, str], path: str, blob: str, alternative: bool = False):
    repo, commit = repo_commit
    return QrelsSource(_RAW.format(repo=repo, commit=commit, path=path), blob, alternative)


#: Every set whose judgments have a public copy. tv21 and tv23 ship with the toolkit; they are
#: here so that the ids and the normalisation are proved on real files (tests/formats).
REGISTRY: Dict[str, QrelsEntry] = {entry.name: entry for entry in (
    QrelsEntry("tv19", (
        _github(_JIAXINWOO, "AVS_data/V3C1/avs.qrels.tv19", "8e8c2128f4c3252ea6df3d8da6aab96661dfbd0b"),
        _github(_BMEZARIS, "data/AVS/avs.qrels.tv19", "8e8c2128f4c3252ea6df3d8da6aab96661dfbd0b"))),
    QrelsEntry("tv20", (
        _github(_JIAXINWOO, "AVS_data/V3C1/avs.qrels.tv20", "2a629acd3f01d7026858a74a1e42fcafc21f8f8e"),
        _github(_BMEZARIS, "data/AVS/avs.gt.main.tv20", "b833880e7b670f587ff362b7a9998390daeecf10",
                alternative=True))),
    QrelsEntry("progress.v3c1", (
        _github(_JIAXINWOO, "AVS_data/V3C1/avs.qrels.progress",
                "86c20784a73ceb26a0dffe03c5d46e9016da408c"),)),
    QrelsEntry("tv21", (
        _github(_JIAXINWOO, "AVS_data/V3C1/avs.qrels.tv21", "a705c7a9a81d189176e2f50357d9ed069ed1d845"),)),
    QrelsEntry("tv22", (
        _github(_JIAXINWOO, "AVS_data/V3C2/avs.qrels.tv22", "53dd62df2e260260bb810926579aeeafc0b5f826"),)),
    QrelsEntry("tv23", (
        _github(_JIAXINWOO, "AVS_data/V3C2/avs.qrels.tv23", "328e6b9c19a2f73f94e4430625e9a0b417d033ca"),)),
)}


@dataclass(frozen=True)
class Fetched:
    """What ``qrels fetch`` did for one set: the file, its source, and what it holds."""
    name: str
    path: Path
    source: str
    blob: str
    topics: Tuple[str, ...]
    #: "installed", "already installed" or "ships with fpig-trecvid"
    action: str
    notes: Tuple[str, ...] = ()


def git_blob_id(data: bytes) -> str:
    """``git hash-object`` of `data`: the id a repository's history pins the file by."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def normalise(data: bytes) -> bytes:
    """The toolkit's form of a qrels file: LF line ends and one final newline."""
    text = data.replace(b"\r\n", b"\n")
    return text if text.endswith(b"\n") else text + b"\n"


def _entry(name: str, registry: Dict[str, QrelsEntry]) -> QrelsEntry:
    entry = registry.get(name)
    if entry is None:
        raise InputError(f"no public copy of the {name} qrels is known: expected one of "
                         f"{', '.join(registry)}")
    return entry


def _expected_topics(name: str) -> Tuple[str, ...]:
    info = TOPIC_SETS[name]
    return tuple(qrels_topic_id(i) for i in range(info.first_id, info.last_id + 1))


def _listed(topics: Iterable[str], limit: int = 8) -> str:
    shown = list(topics)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def _held(qrels: Qrels, name: str, origin: str) -> List[str]:
    """Notes on the topics `qrels` holds beside `name`'s; a file that holds none of them, or
    graded judgments, is refused (a wrong file: AVS qrels judge -1, 0 or 1)."""
    expected = _expected_topics(name)
    held = set(qrels.topics)
    if not held & set(expected):
        raise InputError(f"{name}: {origin} holds topics {_listed(sorted(held, key=int))}, none of "
                         f"{name}'s {expected[0]}-{expected[-1]}: a wrong file; nothing installed")
    for tj in qrels.topics.values():
        if (tj.grade > 1).any():
            raise InputError(f"{name}: {origin} holds graded judgments (topic {tj.topic}: "
                             f"{tj.grade.max():g}), expected -1, 0 or 1: a wrong file; nothing "
                             f"installed")
    notes = []
    extra = sorted(held - set(expected), key=int)
    if extra:
        notes.append(f"{name}: the file also judges topic(s) {_listed(extra)}, which are not "
                     f"{name}'s {expected[0]}-{expected[-1]}; they are kept")
    missing = [t for t in expected if t not in held]
    if missing:
        notes.append(f"{name}: the file judges no shot of topic(s) {_listed(missing)}")
    return notes


def installed_record(name: str) -> Optional[dict]:
    """The sidecar of `name`'s installed qrels when the file beside it is the one it describes."""
    path = TOPIC_SETS[name].fetched_qrels_path
    record = read_sidecar(path)
    if record is None or not path.is_file() or record.get("sha256") != file_sha256(path):
        return None
    return record


def install(name: str, data: bytes, origin: str,
            registry: Optional[Dict[str, QrelsEntry]] = None) -> Fetched:
    """Verify `data` (from `origin`, a URL or a file) by its git blob id, normalise it, check it
    as `name`'s qrels and install it with its sidecar, as one unit."""
    entry = _entry(name, REGISTRY if registry is None else registry)
    blob = git_blob_id(data)
    source = entry.source_of(blob, origin)
    if source is None:
        expected = " or ".join(dict.fromkeys(s.blob for s in entry.sources))
        raise InputError(f"{name}: {origin} has git blob {blob}, expected {expected}: not the "
                         f"{name} qrels, or a damaged copy; nothing installed")
    target = TOPIC_SETS[name].fetched_qrels_path
    with _naming_the_data_folder(name):
        return _install_checked(name, data, origin, target, entry, source, blob)


@contextmanager
def _naming_the_data_folder(name: str) -> Iterator[None]:
    """A data folder that cannot be written (a file, a read-only folder) is named as what it is,
    with the way out, instead of a bare path the user never typed."""
    try:
        yield
    except InputError as exc:
        if exc.path is None:            # the copy itself was refused: already says so
            raise
        raise InputError(f"{exc.reason}; {name}'s qrels go in the data folder {data_folder()} "
                         f"(set {DATA_ENV} to a folder you can write); nothing installed",
                         exc.path, exc.line) from None


def _install_checked(name: str, data: bytes, origin: str, target: Path, entry: QrelsEntry,
                     source: QrelsSource, blob: str) -> Fetched:
    record = sidecar_path(target).name
    with output_lock(target), staging_directory(target.parent) as stage:
        with atomic_write(stage / target.name, "wb") as fh:
            fh.write(normalise(data))
        try:
            qrels = parse_qrels(stage / target.name)
        except InputError as exc:
            line = f" (line {exc.line})" if exc.line else ""
            raise InputError(f"{name}: {origin} is not a qrels file{line}: {exc.reason}; "
                             f"nothing installed") from None
        notes = _held(qrels, name, origin)
        if source.alternative:
            notes.insert(0, f"{name}: this is the alternative file {source.url}, not the main "
                            f"one ({entry.sources[0].url})")
        topics = tuple(sorted(qrels.topics, key=int))
        sidecar = {"set": name, "source": source.url, "blob": blob, "from": origin,
                   "sha256": file_sha256(stage / target.name), "topics": list(topics)}
        with atomic_write(stage / record) as fh:
            fh.write(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        commit_file_set(stage, target.parent, record, [target.name])
    return Fetched(name, target, source.url, blob, topics, "installed", tuple(notes))


def fetch(name: str, from_file: Optional[PathLike] = None, force: bool = False,
          registry: Optional[Dict[str, QrelsEntry]] = None) -> Fetched:
    """Install `name`'s qrels from its pinned sources (or `from_file`, downloaded by hand);
    a set already installed from a known source is left as it is unless `force`."""
    registry = REGISTRY if registry is None else registry
    entry = _entry(name, registry)
    info = TOPIC_SETS[name]
    unread = () if from_file is None else (f"{name}: {from_file} was not read: the {name} qrels "
                                           f"are already at hand",)
    if info.shipped_qrels is not None:
        return Fetched(name, shipped_path("qrels/" + info.shipped_qrels), "", entry.blob, (),
                       "ships with fpig-trecvid", unread)
    record = installed_record(name)
    if record is not None and not force and entry.source_of(record.get("blob", "")) is not None:
        return Fetched(name, info.fetched_qrels_path, record.get("source", ""),
                       record["blob"], tuple(record.get("topics", ())), "already installed",
                       unread)
    if from_file is not None:
        return install(name, read_bytes(from_file), str(from_file), registry)
    failures = []
    for source in entry.downloads:
        try:
            data = download(source.url, name)
        except DownloadFailed as exc:
            failures.append(f"{source.url}: {exc}")
            continue
        return install(name, data, source.url, registry)
    raise InputError(f"{name}: could not download the qrels ({'; '.join(failures)}); expected "
                     f"git blob {entry.blob}; nothing installed. Without internet, download "
                     f"{entry.downloads[0].url} by hand and run 'fpig-trecvid qrels fetch {name} "
                     f"--from FILE'")
