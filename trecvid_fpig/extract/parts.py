"""``--shard I/N`` (job arrays without Ray) and ``features merge`` (their parts -> one store).

Part I of N is a run of whole shards: shards ``floor((I-1)*S/N) .. floor(I*S/N)`` of the S
shards of the full shot list. Cutting at shard boundaries keeps every tower batch exactly as a
one-machine run forms it, so the merged store is byte for byte the one-machine store. A part's
manifest records I, N, its shards and rows, and the settings hash of the whole run (the same
for every part); merge accepts the parts only if they are 1..N, each once, with one settings
hash and one tower.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..base.locks import being_written, output_lock
from ..base.outputs import refuse_input_as_output
from ..errors import InputError
from ..formats.store import check_store_destination, read_store, store_part, verify_store
from ..formats.store_manifest import IDS, MANIFEST, NormStats, read_manifest
from . import writer
from .shots import Failure

NORMS = ("min", "mean", "max")
_PART = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*", re.ASCII)


def parse_part(text: str) -> Tuple[int, int]:
    """``"3/8"`` -> (3, 8); I counts from 1, as ``$SLURM_ARRAY_TASK_ID`` with ``--array=1-N``."""
    m = _PART.fullmatch(text or "")
    if m is None:
        raise InputError(f"--shard must be I/N (e.g. 3/8), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= index <= count:
        raise InputError(f"--shard {text}: I must be between 1 and N (parts count from 1)")
    return index, count


def part_shards(shards: int, index: int, count: int) -> Tuple[int, int]:
    """``[first, stop)`` shard numbers of part `index` of `count`."""
    first, stop = (index - 1) * shards // count, index * shards // count
    if first == stop:
        raise InputError(f"--shard {index}/{count}: the shot list has only {shards} shard(s) "
                         f"of --shard-size shots, so part {index} would be empty; use N <= "
                         f"{shards} or a smaller --shard-size")
    return first, stop


def merge_stores(out: Path, parts: Sequence[str], overwrite: bool = False) -> dict:
    """One store from the partial stores of ``--shard 1/N .. N/N``; returns its manifest."""
    out = Path(out)
    if not parts:
        raise InputError("give the partial stores to merge")
    refuse_input_as_output([out], [(f"part {n}", p) for n, p in enumerate(parts, 1)])
    if _part_of(out):
        raise InputError(f"is part {_part_of(out)} of a split extraction, not an output: the "
                         f"merged store comes first (`features merge OUT PART...`)", out)
    check_store_destination(out, overwrite)
    for part in map(Path, parts):
        _refuse_if_being_written(part)
    stores = [read_store(p) for p in parts]
    manifests = [store.manifest for store in stores]
    records = [_part_record(Path(p), m) for p, m in zip(parts, manifests)]
    first_path, first = Path(parts[0]), records[0]
    count = first["part"]["of"]
    by_index = {}
    for path, record, manifest in zip(map(Path, parts), records, manifests):
        part = record["part"]
        if part["of"] != count:
            raise InputError(f"is part {part['index']}/{part['of']}, but {first_path} is part "
                             f"{first['part']['index']}/{count}: parts of different splits", path)
        if part["run_settings_sha256"] != first["part"]["run_settings_sha256"]:
            raise InputError(f"was extracted with other settings than {first_path} ("
                             + _differences(first["settings"], record["settings"]) + ")", path)
        if record["tower"] != first["tower"]:
            raise InputError(f"was extracted with another tower than {first_path}", path)
        if manifest["dtype"] != manifests[0]["dtype"]:
            raise InputError(f"is {manifest['dtype']}, {first_path} {manifests[0]['dtype']}: "
                             f"extract every part with the same --dtype", path)
        if part["index"] in by_index:
            raise InputError(f"part {part['index']}/{count} is given twice: "
                             f"{by_index[part['index']]} and {path}", path)
        by_index[part["index"]] = path
    missing = [i for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise InputError(f"part(s) {', '.join(f'{i}/{count}' for i in missing)} missing: "
                         f"every part of the {count} must be given once (got "
                         f"{', '.join(str(i) for i in sorted(by_index))})")
    position = {Path(p): n for n, p in enumerate(parts)}
    ordered = [by_index[i] for i in range(1, count + 1)]
    for path in ordered:    # the merged store gets fresh hashes: a changed part must stop here
        verify_store(stores[position[path]])
    in_order = [records[position[p]] for p in ordered]
    _check_tiling(ordered, in_order)
    norms = NormStats()             # the tower's norms, which the parts' rows no longer have
    for record, path in zip(in_order, ordered):
        part = stores[position[path]]
        norms.add_store(part.manifest["norms"], part.count, record["part"].get("norms_sum"))
    with output_lock(out):
        check_store_destination(out, overwrite)     # again: another process may have been first
        manifest = writer.write_store(
            out, ordered, manifests[0]["dtype"], bool(first["settings"].get("keep_frames")),
            _merged_record(ordered, in_order, [manifests[position[p]] for p in ordered]),
            stored_rows=True, norms=norms)
        # as a one-machine run: the failed shots listed beside the store, or a stale list gone
        writer.write_failures(out, [Failure(*row) for row in manifest["extract"]["failed"]])
        return manifest


def _part_of(store: Path) -> Optional[str]:
    """"I/N" when `store` is a partial store; None for anything else (a damaged store too:
    --overwrite replaces it)."""
    try:
        return store_part(read_manifest(store)) if (store / MANIFEST).is_file() else None
    except InputError:
        return None


def _refuse_if_being_written(part: Path) -> None:
    """An extraction writing into `part` now (``--overwrite``, a resubmitted task) holds its
    lock: merging would take the store it replaces, or one swapped half-way through."""
    if being_written(part):
        raise InputError("an extraction is writing this part now; merge when it has finished",
                         part)


def _part_record(store: Path, manifest: dict) -> dict:
    """The manifest's extraction record, with the keys a merge reads."""
    record = manifest.get("extract")
    if not isinstance(record, dict) or not record.get("part"):
        raise InputError("is not a partial store of `features extract --shard I/N`", store)
    part, settings = record["part"], record.get("settings")
    lacking = [f"extract.part.{key}" for key in ("index", "of", "rows", "run_settings_sha256")
               if not isinstance(part, dict) or key not in part]
    if not isinstance(settings, dict) or "shots" not in settings:
        lacking.append("extract.settings.shots")
    if "tower" not in record:
        lacking.append("extract.tower")
    if lacking:
        raise InputError(f"manifest lacks {', '.join(lacking)}", store / MANIFEST)
    index, count, rows = part["index"], part["of"], part["rows"]
    norms = manifest.get("norms")
    malformed = [key for key, good in (
        ("norms", isinstance(norms, dict) and _numbers(*(norms.get(k) for k in NORMS))),
        ("extract.part.norms_sum", _numbers(part.get("norms_sum", 0.0))),
        ("extract.part.index/of", _whole(index, count) and 1 <= index <= count),
        ("extract.part.rows", isinstance(rows, list) and len(rows) == 2 and _whole(*rows)
         and 0 <= rows[0] < rows[1]),
        ("extract.part.run_settings_sha256", isinstance(part["run_settings_sha256"], str)),
        ("extract.settings.shots", _whole(settings["shots"]))) if not good]
    if malformed:       # edited by hand or damaged: merge would stop on it with a traceback
        raise InputError(f"manifest has a malformed {', '.join(malformed)}; extract the part "
                         f"again", store / MANIFEST)
    return record


def _whole(*values) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _differences(a: dict, b: dict) -> str:
    keys = sorted(k for k in set(a) | set(b) if k != "part" and a.get(k) != b.get(k))
    return "; ".join(f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys) or "settings hash"


def _check_tiling(stores: Sequence[Path], records: Sequence[dict]) -> None:
    """Parts 1..N of one split must follow each other row for row, and no shot may repeat."""
    row = 0
    for store, record in zip(stores, records):
        start, stop = record["part"]["rows"]
        if start != row:
            raise InputError(f"part {record['part']['index']} starts at shot row {start}, "
                             f"expected {row}: parts of different splits", store)
        row = stop
    total = records[0]["settings"]["shots"]
    if row != total:
        raise InputError(f"the parts cover {row} of the {total} shots of the run")
    import numpy as np

    seen: set = set()
    for store in stores:
        for shot in np.load(store / IDS).tolist():
            if shot in seen:
                raise InputError(f"shot {shot.decode()} is in more than one part", store)
            seen.add(shot)


def _merged_record(stores: Sequence[Path], records: Sequence[dict],
                   manifests: Sequence[dict]) -> dict:
    """The extraction record of the whole run: the parts' settings without the part, their
    failures together, and where each part came from. The rest is part 1's, whatever the
    order of the arguments (parts may name their input by other paths)."""
    first = records[0]
    settings = {k: v for k, v in first["settings"].items() if k != "part"}
    failed: List[list] = [row for r in records for row in r.get("failed", [])]
    gpu_hours = sum(r.get("timings", {}).get("gpu_hours", 0.0) for r in records)
    # Parts may resize in the workers or beside the tower (the same bytes): say so if they mix.
    where = sorted({str(r.get("preprocess")) for r in records})
    return dict(
        {k: v for k, v in first.items() if k not in ("part", "timings", "failed")},
        settings=settings, settings_sha256=first["part"]["run_settings_sha256"],
        failed=failed, engine="merge", preprocess=where[0] if len(where) == 1 else "+".join(where),
        timings={"gpu_hours": round(gpu_hours, 6),
                 "parts_wall_s": [r.get("timings", {}).get("wall_s") for r in records]},
        merged_from=[{"part": r["part"]["index"], "path": str(s),
                      "features_sha256": m["features_sha256"]}
                     for s, r, m in zip(stores, records, manifests)])
