"""`fpig-trecvid plot`: real PNG and SVG images of the requested size, byte-identical on rerun."""
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cli_helpers import invoke

SENSITIVITY = """param,value,metric,series
α,0,0.150,TV21
α,0.5,0.172,TV21
α,1,0.161,TV21
α,0,0.120,TV23
α,0.5,0.141,TV23
α,1,0.133,TV23
top-k,1,0.150,TV21
top-k,5,0.181,TV21
top-k,10,0.170,TV21
"""




def plot(*args, ok=True):
    return invoke("plot", *args, ok=ok)


def png_size(path):
    """Width and height from the PNG header, read independently of matplotlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def check_images(prefix, width_in, height_in, dpi=100):
    """PNG of inches x dpi pixels with something drawn; SVG of inches x 72 points."""
    import matplotlib.image
    width_px, height_px = round(width_in * dpi), round(height_in * dpi)
    png = prefix.with_suffix(".png")
    assert png_size(png) == (width_px, height_px)
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (height_px, width_px)
    assert np.ptp(pixels[..., :3]) > 0.5                       # something drawn, not a blank
    root = ET.parse(prefix.with_suffix(".svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == (f"{width_in * 72:g}pt", f"{height_in * 72:g}pt")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10


def test_per_topic_bars_from_runs(tmp_path, data_dir):
    result = plot("topics", "--qrels", "tv21", "--out", tmp_path / "fig", "--width", "8", "--height", "3",
                  data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz")
    assert result.stdout.split() == [str(tmp_path / "fig.png"), str(tmp_path / "fig.svg")]
    check_images(tmp_path / "fig", 8, 3)


def test_per_topic_bars_from_manifest_and_rerun_is_identical(tmp_path, data_dir):
    manifest = tmp_path / "m.toml"
    run = (data_dir / "tv23.runA.txt.gz").as_posix()
    manifest.write_text(f'[[model]]\nname = "A"\ntrecvid.tv23 = "{run}"\n')
    plot("topics", "--manifest", manifest, "--year", "tv23", "--out", tmp_path / "a", "--dpi", "50")
    check_images(tmp_path / "a", 10, 4, dpi=50)
    plot("topics", "--manifest", manifest, "--year", "tv23", "--out", tmp_path / "b", "--dpi", "50")
    for ext in ("png", "svg"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()


def test_sensitivity_figure(tmp_path):
    (tmp_path / "s.csv").write_text(SENSITIVITY, encoding="utf-8")
    plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "s")
    check_images(tmp_path / "s", 8, 3)       # 4 inches per panel, 2 panels
    plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "w", "--width", "5", "--height", "2.5")
    check_images(tmp_path / "w", 5, 2.5)


@pytest.mark.parametrize("text,message", [
    ("param,value\nα,1\n", "header must be param,value,metric"),
    ("param,value,metric\nα,one,0.1\n", ":2: value must be a finite number"),
    ("param,value,metric\nα,1,nan\n", ":2: metric must be a finite number"),
    ("param,value,metric\nα,1,0.1\nα,1,0.2\n", ":3: α = 1 repeats line 2"),
    ("param,value,metric\nα,1\n", ":2: expected 3 fields"),
    ("param,value,metric\n", "no data lines"),
])
def test_bad_sensitivity_csv(tmp_path, text, message):
    (tmp_path / "s.csv").write_text(text, encoding="utf-8")
    result = plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "s", ok=False)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "s.png").exists()


def test_plot_needs_runs_or_manifest(tmp_path):
    result = plot("topics", "--out", tmp_path / "x", ok=False)
    assert result.exit_code == 2 and "either --qrels" in result.stderr
