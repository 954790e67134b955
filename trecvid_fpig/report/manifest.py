"""The manifest: which run files and R@K results belong to which model (format: runs/README.md).

A TOML file; relative paths resolve against the manifest's folder, so a manifest and its runs
can move together. Reading it only checks its shape; whether the named files exist is decided
cell by cell when tables are computed, so that one missing run prints "–" instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from ..base.files import read_text
from ..errors import InputError
from ..formats.topics import REGISTRY
from .paper import RECALL_SETTINGS, S1_YEARS

#: Options passed on to ``recall_from_files`` when a setting names a similarity matrix, with
#: the type each must have.
RECALL_OPTIONS = {"gt": str, "captions_per_video": int, "dsl": bool, "dsl_temperature": float,
                  "nan_as_lowest": bool}
TABLE_KEYS = ("s1", "s2")


def load_toml(path: Union[str, Path], what: str) -> Dict[str, Any]:
    """Parse a TOML file; a syntax error names the file and line."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({what}): {exc}", path) from None


@dataclass(frozen=True)
class RunEntry:
    """One model's run for one TRECVID year, and the qrels to score it with."""
    year: str
    run: Path
    qrels: str            # a shipped topic-set name (tv21) or an absolute path


@dataclass(frozen=True)
class RecallEntry:
    """One model's R@K for one setting: a result JSON, or a similarity matrix to evaluate."""
    setting: str
    result: Optional[Path] = None
    sims: Optional[Path] = None
    options: Tuple[Tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    name: str
    paper: Tuple[Tuple[str, str], ...]          # (table key, published row name)
    trecvid: Dict[str, RunEntry]
    recall: Dict[str, RecallEntry]

    def paper_row(self, table: str) -> Optional[str]:
        return dict(self.paper).get(table)


@dataclass(frozen=True)
class Manifest:
    path: Path
    models: Tuple[ModelEntry, ...]
    published: Optional[Path]
    baselines: Dict[str, Tuple[str, ...]]
    years: Tuple[str, ...] = ()             # Table S1's year columns; () means all five

    @property
    def cache_dir(self) -> Path:
        """Where computed cells are cached: beside the manifest, so moving both keeps the cache."""
        return self.path.parent / ".fpig-cache"

    def model(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise InputError(f"no model {name!r} in the manifest (models: "
                         f"{', '.join(m.name for m in self.models)})", self.path)


def _expect(value: Any, kind: type, where: str, path: Path) -> Any:
    accepted = (int, float) if kind is float else kind
    if not isinstance(value, accepted) or isinstance(value, bool) and kind is not bool:
        raise InputError(f"{where} must be a {_KIND_NAMES[kind]}, got {value!r}", path)
    return value


_KIND_NAMES = {str: "string", dict: "table", list: "list", bool: "boolean (true or false)",
               int: "whole number", float: "number"}


def _no_other_keys(table: Mapping[str, Any], allowed: Tuple[str, ...], where: str, path: Path) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} in {where}; expected {', '.join(allowed)}", path)


def _run_entry(year: str, value: Any, where: str, base: Path, path: Path) -> RunEntry:
    if isinstance(value, str):
        value = {"run": value}
    _expect(value, dict, where, path)
    _no_other_keys(value, ("run", "qrels"), where, path)
    if "run" not in value:
        raise InputError(f"{where} needs run = \"PATH\"", path)
    run = base / _expect(value["run"], str, f"{where}.run", path)
    qrels = _expect(value.get("qrels", year), str, f"{where}.qrels", path)
    return RunEntry(year, run, qrels if qrels in REGISTRY else str(base / qrels))


def _recall_entry(setting: str, value: Any, where: str, base: Path, path: Path) -> RecallEntry:
    if isinstance(value, str):
        value = {"result": value}
    _expect(value, dict, where, path)
    _no_other_keys(value, ("result", "sims") + tuple(RECALL_OPTIONS), where, path)
    if ("result" in value) == ("sims" in value):
        raise InputError(f"{where} needs exactly one of result = \"JSON\" or sims = \"MATRIX\"", path)
    if "result" in value:
        if len(value) > 1:
            raise InputError(f"{where}: options ({', '.join(k for k in value if k != 'result')}) "
                             f"apply to sims only; a result JSON is read as it is", path)
        return RecallEntry(setting, result=base / _expect(value["result"], str, f"{where}.result", path))
    options = {k: _expect(v, RECALL_OPTIONS[k], f"{where}.{k}", path)
               for k, v in value.items() if k != "sims"}
    if ("gt" in options) == ("captions_per_video" in options):
        raise InputError(f"{where}: say which video each caption row belongs to, with exactly one "
                         f"of gt = \"CAPTION_VIDEO.tsv\" or captions_per_video = N "
                         f"(1 for MSR-VTT 1k-A, 20 for 3k)", path)
    if "gt" in options:
        options["gt"] = str(base / options["gt"])
    return RecallEntry(setting, sims=base / _expect(value["sims"], str, f"{where}.sims", path),
                       options=tuple(sorted(options.items())))


def _paper(value: Any, where: str, path: Path) -> Tuple[Tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple((t, value) for t in TABLE_KEYS)
    _expect(value, dict, where, path)
    _no_other_keys(value, TABLE_KEYS, where, path)
    return tuple((t, _expect(v, str, f"{where}.{t}", path)) for t, v in value.items())


def _model(index: int, table: Any, base: Path, path: Path) -> ModelEntry:
    where = f"[[model]] #{index + 1}"
    _expect(table, dict, where, path)
    _no_other_keys(table, ("name", "paper", "trecvid", "recall"), where, path)
    if "name" not in table:
        raise InputError(f"{where} needs name = \"...\"", path)
    name = _expect(table["name"], str, f"{where}.name", path)
    if not name.isprintable() or not name.strip():
        raise InputError(f"{where}.name must be one line of printable text, got {name!r}", path)
    where = f"model {name!r}"
    trecvid = _expect(table.get("trecvid", {}), dict, f"{where} trecvid", path)
    for year in trecvid:
        if year not in REGISTRY:
            raise InputError(f"{where}: unknown TRECVID year {year!r}; expected one of "
                             f"{', '.join(REGISTRY)}", path)
    recall = _expect(table.get("recall", {}), dict, f"{where} recall", path)
    for setting in recall:
        if setting not in RECALL_SETTINGS:
            raise InputError(f"{where}: unknown recall setting {setting!r}; expected one of "
                             f"{', '.join(RECALL_SETTINGS)}", path)
    return ModelEntry(
        name, _paper(table.get("paper"), f"{where} paper", path),
        {y: _run_entry(y, v, f"{where} trecvid.{y}", base, path) for y, v in trecvid.items()},
        {s: _recall_entry(s, v, f"{where} recall.{s}", base, path) for s, v in recall.items()})


def load_manifest(path: Union[str, Path]) -> Manifest:
    """Read and check a manifest; paths inside it become absolute (relative to its folder)."""
    path = Path(path)
    data = load_toml(path, "manifest")
    _no_other_keys(data, ("published", "baselines", "model", "years"), "the manifest", path)
    base = path.resolve().parent
    models = [_model(i, m, base, path) for i, m in enumerate(_expect(data.get("model", []), list,
                                                                      "[[model]]", path))]
    names = [m.name for m in models]
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"model name {name!r} is used twice", path)
    baselines = _expect(data.get("baselines", {}), dict, "[baselines]", path)
    _no_other_keys(baselines, TABLE_KEYS, "[baselines]", path)
    published = data.get("published")
    years = tuple(_expect(y, str, "years entry", path)
                  for y in _expect(data.get("years", []), list, "years", path))
    return Manifest(
        path, tuple(models),
        None if published is None else base / _expect(published, str, "published", path),
        {t: tuple(_expect(n, str, f"[baselines] {t} entry", path)
                  for n in _expect(v, list, f"[baselines] {t}", path)) for t, v in baselines.items()},
        checked_years(years, path))


def checked_years(years: Sequence[str], path: Optional[Path] = None,
                  where: str = "years") -> Tuple[str, ...]:
    """Table S1 years in the paper's order, each a known year, none twice; an error names
    `where` the years came from (the manifest's key at `path`, or an option)."""
    for year in years:
        if year not in S1_YEARS:
            raise InputError(f"unknown TRECVID year {year!r} in {where}; expected some of "
                             f"{', '.join(S1_YEARS)}", path)
        if list(years).count(year) > 1:
            raise InputError(f"year {year!r} is listed twice in {where}", path)
    return tuple(y for y in S1_YEARS if y in years)
