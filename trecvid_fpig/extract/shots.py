"""The shot list of a collection, and its cut into numbered shards.

A :class:`Shot` says where its pixels are: keyframe image files, or a frame range of a video
file. Three inputs give shots:

- keyframes as V3C ships them, ``DIR/VVVVV/shotVVVVV_N_RKF.png`` (or a flat ``DIR``): every
  image whose name starts with ``shotVVVVV_N_`` belongs to shot ``shotVVVVV_N``, so shot 1 never
  takes shot 12's images, and one image name in two folders is refused;
- videos ``DIR/VVVVV/VVVVV.*`` or ``DIR/VVVVV.*`` with master shot boundaries
  ``BOUNDARIES/VVVVV.tsv`` (``startframe starttime endframe endtime``; shot N is row N; the end
  frame is inclusive);
- a shot table (CSV or Parquet: ``shot_id, video, start, end`` in seconds).

Shots are listed in (video, shot number) order, or in the order of ``--shots``; the shards are
consecutive runs of that list, so the store's row order never depends on which shard finished
first.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..base.fields import WHITESPACE, ascii_float, is_whole_number, split_fields, text_lines
from ..base.files import read_text
from ..base.ids import shot_id
from ..errors import InputError

PathLike = Union[str, Path]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
BOUNDARY_COLUMNS = ("startframe", "starttime", "endframe", "endtime")
TABLE_COLUMNS = ("shot_id", "video", "start", "end")
#: Shots per shard: small enough that a crash loses minutes, large enough that the per-shard
#: files and manifests stay few (about 2,500 for V3C1 + V3C2).
SHARD_SHOTS = 1000
#: Boundaries beyond these are typos or garbage, refused before any decoding: 10^9 frames is
#: over 115 days at 100 fps, and 10^7 seconds over 115 days.
MAX_FRAME = 10 ** 9
MAX_SECONDS = 10 ** 7

_KEYFRAME = re.compile(r"(shot([^_/]+)_(\d+))_.*", re.ASCII)
_NUMBERS = re.compile(r"(\d+)", re.ASCII)


@dataclass(frozen=True)
class Shot:
    """One shot and where its pixels are.

    For a video shot, `frames` is the inclusive range ``(first, last)`` of frame numbers
    (counted from 0), or None when `seconds` gives ``(start, end)`` instead (a shot table).
    For keyframes, `images` are the files. `source` is what a failure names.
    """
    shot_id: str
    source: str
    images: Tuple[str, ...] = ()
    frames: Optional[Tuple[int, int]] = None
    seconds: Optional[Tuple[float, float]] = None

    @property
    def is_video(self) -> bool:
        return not self.images

    def plan(self) -> str:
        """Where the shot's pixels come from, as one line: its id, its files as absolute paths,
        its frame range or seconds. A resumed extraction compares it, so that a shard made from
        another directory or other boundaries is redone, not kept beside the new ones."""
        files = [os.path.abspath(f) for f in (self.images or (self.source,))]
        return json.dumps([self.shot_id, files, self.frames, self.seconds])


@dataclass(frozen=True)
class Failure:
    """A shot that could not be encoded: never a zero vector, a line in ``OUT.failed.tsv``."""
    shot_id: str
    source: str
    reason: str


def natural_key(text: str) -> Tuple:
    """``shot2_10`` after ``shot2_9``: digit runs compare as numbers (by length, then digits,
    so a run of thousands of digits in a file name is not handed to int())."""
    return tuple((len(p.lstrip("0")), p.lstrip("0")) if p.isascii() and p.isdigit() else p
                 for p in _NUMBERS.split(text))


def keyframe_shots(directory: PathLike) -> List[Shot]:
    """Shots of a keyframe tree (one folder per video) or a flat folder of keyframes."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError("no such keyframe directory", root)
    images: Dict[str, List[Path]] = {}
    for path in root.rglob("*"):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        m = _KEYFRAME.fullmatch(path.name)
        if m is None:
            continue
        if not path.is_file():
            if path.is_symlink():       # else the shot loses a keyframe, or vanishes, silently
                raise InputError("is a keyframe link to a file that does not exist", path)
            continue
        images.setdefault(m.group(1), []).append(path)
    if not images:
        raise InputError("holds no keyframes named shotVVVVV_N_*.png/jpg/jpeg/webp", root)
    return [Shot(shot, str(root), images=keyframe_order(images[shot]))
            for shot in sorted(images, key=lambda s: (natural_key(s), s))]


def keyframe_order(paths: List[Path]) -> Tuple[str, ...]:
    """A shot's images in name order, ties broken by the name itself (``_01`` and ``_1``), so the
    order never follows the file system's listing. One name in two folders (a backup copy
    beside the original) is refused naming both: taking both, or one, would be a guess."""
    ordered = sorted(paths, key=lambda p: (natural_key(p.name), p.name, str(p)))
    for kept, copy in zip(ordered, ordered[1:]):
        if kept.name == copy.name:
            raise InputError(f"the same keyframe is also at {copy}: keep one", kept)
    return tuple(str(p) for p in ordered)


def find_video(directory: Path, video: str) -> Optional[Path]:
    """``DIR/VIDEO/VIDEO.*`` or ``DIR/VIDEO.*``; None when neither. Two files for one video
    (``00001.mp4`` and ``00001.mkv``) are refused naming both: picking one would be a guess."""
    for folder in (directory / video, directory):
        if folder.is_dir():
            found = sorted(p for p in folder.glob(f"{glob_escape(video)}.*") if p.is_file())
            if len(found) > 1:
                names = ", ".join(p.name for p in found)
                raise InputError(f"video {video} has {len(found)} files ({names}): keep one",
                                 folder)
            if found:
                return found[0]
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def read_boundaries(path: Path) -> List[Tuple[int, int]]:
    """Inclusive (startframe, endframe) of each shot, in row order; a bad row is file:line, a
    file without a shot an error too."""
    lines = text_lines(read_text(path, "shot boundaries file"))
    header = split_fields(lines[0])
    if tuple(header) != BOUNDARY_COLUMNS:
        raise InputError(f"expected the header '{' '.join(BOUNDARY_COLUMNS)}' (tab separated), "
                         f"got {' '.join(header)[:80]!r}", path, 1)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = split_fields(line)
        if not fields:
            continue
        if len(fields) != 4:
            raise InputError(f"expected 4 columns ({' '.join(BOUNDARY_COLUMNS)}), got "
                             f"{len(fields)}", path, number)
        try:
            if not (is_whole_number(fields[0]) and is_whole_number(fields[2])):
                raise ValueError
            for name, token in (("endframe", fields[2]), ("startframe", fields[0])):
                if len(token) > len(str(MAX_FRAME)):    # never int() thousands of digits
                    shown = token if len(token) <= 40 else f"{token[:40]}… ({len(token)} digits)"
                    raise InputError(f"{name} {shown} is past any real video (the largest "
                                     f"frame number accepted is {MAX_FRAME:,})", path, number)
            first, last = int(fields[0]), int(fields[2])
            ascii_float(fields[1]), ascii_float(fields[3])
        except ValueError:
            raise InputError("startframe and endframe must be whole numbers, starttime and "
                             "endtime numbers (ASCII digits)", path, number) from None
        if last > MAX_FRAME:
            raise InputError(f"endframe {last} is past any real video (the largest frame "
                             f"number accepted is {MAX_FRAME:,})", path, number)
        if last < first:
            raise InputError(f"endframe {last} is before startframe {first}", path, number)
        rows.append((first, last))
    if not rows:        # every video has a shot: its video would drop out of the store unsaid
        raise InputError("holds a header and no shot (every video has at least one)", path)
    return rows


def video_shots(videos: PathLike, boundaries: PathLike) -> List[Shot]:
    """One shot per boundaries row: ``shotVVVVV_N`` for row N of ``VVVVV.tsv``."""
    video_root, bound_root = Path(videos), Path(boundaries)
    for root, what in ((video_root, "video"), (bound_root, "boundaries")):
        if not root.is_dir():
            raise InputError(f"no such {what} directory", root)
    tables = sorted(bound_root.glob("*.tsv"), key=lambda p: natural_key(p.name))
    if not tables:
        raise InputError("holds no VVVVV.tsv shot boundary files", bound_root)
    shots = []
    for table in tables:
        video = table.stem
        found = find_video(video_root, video)
        source = str(found) if found else str(video_root / video / f"{video}.*")
        for number, frames in enumerate(read_boundaries(table), start=1):
            shots.append(Shot(shot_id(f"shot{video}_{number}", table), source, frames=frames))
    return shots


def table_shots(path: PathLike, videos: Optional[PathLike] = None) -> List[Shot]:
    """Shots of a CSV/Parquet table; `video` is a file path (relative to the table) or, with
    `videos`, an id looked up there as ``VIDEO/VIDEO.*`` or ``VIDEO.*``. A bad row is named by
    its line in a CSV, by ``row N`` (counted from 0) in a Parquet file."""
    import pandas as pd

    table_path = Path(path)
    if not table_path.is_file():
        raise InputError("no such shot table", table_path)
    shots = []
    first_at: Dict[str, str] = {}
    for where, (shot, video, start, end) in table_rows(table_path):
        try:
            start, end = (ascii_float(v.strip(WHITESPACE)) if isinstance(v, str) else float(v)
                          for v in (start, end))
        except (TypeError, ValueError):
            raise row_error("start and end must be seconds", table_path, where) from None
        if not (0 <= start < end <= MAX_SECONDS):
            raise row_error(f"needs 0 <= start < end <= {MAX_SECONDS:,} seconds, got {start} "
                            f".. {end}", table_path, where)
        found = None
        if videos is not None:
            found = find_video(Path(videos), str(video))
        if found is None:
            candidate = Path(str(video))
            found = candidate if candidate.is_absolute() else table_path.parent / candidate
        try:
            shot = shot_id("" if pd.isna(shot) else str(shot))
        except InputError as exc:
            raise row_error(exc.reason, table_path, where) from None
        if shot in first_at:
            raise row_error(f"shot {shot} is listed twice (first at {first_at[shot]})",
                            table_path, where)
        first_at[shot] = f"line {where}" if isinstance(where, int) else where
        shots.append(Shot(shot, str(found), seconds=(start, end)))
    return shots


def table_rows(path: Path) -> List[Tuple[Union[int, str], Sequence]]:
    """The shot table's rows as ``(where, (shot_id, video, start, end))``: `where` is the line a
    CSV row starts on (blank lines and quoted line breaks counted as an editor shows them),
    ``"row N"`` for Parquet."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a malformed file
            raise InputError(f"unreadable shot table: {exc}", path) from None
        missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"shot table lacks column(s) {', '.join(missing)} (expected "
                             f"{', '.join(TABLE_COLUMNS)})", path)
        return [(f"row {row}", values) for row, values in
                enumerate(zip(*(frame[c].tolist() for c in TABLE_COLUMNS)))]
    reader = csv.reader(io.StringIO(read_text(path, "shot table"), newline=""))
    records, line = [], 1
    try:          # newline="": a lone CR ends a line, as the csv module expects
        for record in reader:
            if len(record) > 1 or any(cell.strip(WHITESPACE) for cell in record):
                records.append((line, record))
            line = reader.line_num + 1
    except csv.Error as exc:    # a field over csv's size limit, a stray quote at the end
        raise InputError(f"unreadable shot table: {exc}", path, reader.line_num) from None
    header_line, header = records[0] if records else (1, [])
    missing = [c for c in TABLE_COLUMNS if c not in header]
    if missing:
        raise InputError(f"shot table lacks column(s) {', '.join(missing)} (expected "
                         f"{', '.join(TABLE_COLUMNS)})", path, header_line)
    columns = [header.index(c) for c in TABLE_COLUMNS]
    for line, record in records[1:]:
        if len(record) != len(header):
            raise InputError(f"expected {len(header)} fields, as the header has, found "
                             f"{len(record)}", path, line)
    return [(line, [record[i] for i in columns]) for line, record in records[1:]]


def row_error(message: str, path: Path, where: Union[int, str]) -> InputError:
    """`message` at a CSV line (``FILE:LINE``) or a Parquet row (``FILE: row N: …``)."""
    if isinstance(where, int):
        return InputError(message, path, where)
    return InputError(f"{where}: {message}", path)


def select(shots: Sequence[Shot], wanted: Optional[Sequence[str]],
           excluded: Iterable[str]) -> Tuple[List[Shot], List[Failure]]:
    """`wanted` (all when None) in its order, minus `excluded`; wanted ids the input lacks fail."""
    by_id = {s.shot_id: s for s in shots}
    if len(by_id) != len(shots):
        seen: set = set()
        dup = next(s.shot_id for s in shots if s.shot_id in seen or seen.add(s.shot_id))
        raise InputError(f"shot {dup} is listed twice in the input")
    excluded = set(excluded)
    if wanted is None:
        return [s for s in shots if s.shot_id not in excluded], []
    kept, failures, seen = [], [], set()
    for wanted_id in wanted:
        if wanted_id in excluded or wanted_id in seen:
            continue
        seen.add(wanted_id)
        if wanted_id in by_id:
            kept.append(by_id[wanted_id])
        else:
            failures.append(Failure(wanted_id, "", "not in the input (no keyframe, boundary row "
                                                 "or table row)"))
    return kept, failures


def shard_ranges(count: int, size: int = SHARD_SHOTS) -> List[Tuple[int, int]]:
    """``[start, stop)`` row ranges of the shards, in shot-list order."""
    return [(start, min(start + size, count)) for start in range(0, count, size)]
