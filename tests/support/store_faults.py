"""Faults injected into a directory replacement; importable by the subprocess a test kills."""
from pathlib import Path

from trecvid_fpig.base import outputs


def faulty(setattr, step, when, fault):
    """`fault()` runs before or after the `step`-th call of Path.rename or outputs.remove_path
    (patched with `setattr`: pytest's monkeypatch, or the builtin in a subprocess)."""
    kind, nth = step
    calls = {"rename": 0, "remove": 0}
    real = {"rename": Path.rename, "remove": outputs.remove_path}

    def wrap(name):
        def call(*args):
            calls[name] += 1
            hit = name == kind and calls[name] == nth
            if hit and when == "before":
                fault()
            result = real[name](*args)
            if hit and when == "after":
                fault()
            return result
        return call

    setattr(Path, "rename", wrap("rename"))
    setattr(outputs, "remove_path", wrap("remove"))


def replace(target):
    with outputs.atomic_directory(target) as tmp:
        fill(tmp, "new")


def fill(directory, name):
    (directory / "a").write_text(name)
    (directory / "b").write_text(name * 2)
