"""`fpig-trecvid plot`: real PNG and SVG images of the requested size, byte-identical on rerun."""
import math
import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from support.cli import invoke

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
    pdf = prefix.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"CreationDate" not in pdf
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert (float(box[1]), float(box[2])) == pytest.approx((width_in * 72, height_in * 72))


@pytest.mark.slow       # renders PNG, SVG and PDF
def test_per_topic_bars_from_runs(tmp_path, data_dir):
    result = plot("topics", "--qrels", "tv21", "--out", tmp_path / "fig", "--width", "8", "--height", "3",
                  data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz")
    assert result.stdout.split() == [str(tmp_path / f"fig.{e}") for e in ("png", "svg", "pdf")]
    check_images(tmp_path / "fig", 8, 3)


@pytest.mark.slow       # renders the figure twice
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
    ("param,value\nα,1\n", "header must be param,value,METRIC"),
    ("param,value,metric\nα,one,0.1\n", ":2: value must be a finite number"),
    ("param,value,metric\nα,1,nan\n", ":2: metric must be a finite number"),
    ("param,value,metric\nα,1,0.1\nα,1,0.2\n", ":3: α = 1 repeats line 2"),
    ("param,value,metric\nα,1\n", ":2: expected 3 fields"),
    ("param,value,metric\n", "no data lines"),
    ("param,value,metric\nα,1,1.7e308\nα,2,0\n", ":2: metric must be between -1e+200 and 1e+200"),
    ("param,value,metric\nα,1e300,1\nα,2,0\n", ":2: value must be between -1e+200 and 1e+200"),
])
def test_bad_sensitivity_csv(tmp_path, text, message):
    (tmp_path / "s.csv").write_text(text, encoding="utf-8")
    result = plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "s", ok=False)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "s.png").exists()


def test_sensitivity_values_up_to_the_bound_plot_without_a_warning(tmp_path):
    # beyond it matplotlib's axis arithmetic overflowed: a traceback, or a RuntimeWarning
    (tmp_path / "s.csv").write_text("param,value,metric\nα,1e200,1e200\nα,5e-324,-1e200\n"
                                    "β,-1e200,0\nβ,1e200,1\n", encoding="utf-8")
    result = plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "s", "--logx", "α",
                  "--dpi", "20")
    assert result.stderr == ""
    check_images(tmp_path / "s", 8, 3, dpi=20)


def test_plot_needs_runs_or_manifest(tmp_path):
    result = plot("topics", "--out", tmp_path / "x", ok=False)
    assert result.exit_code == 2 and "either --qrels" in result.stderr


def svg_texts(prefix):
    """Every text the SVG carries (matplotlib writes text as glyphs with the text in comments
    only when asked, so the test renders with svg.fonttype none)."""
    return prefix.with_suffix(".svg").read_text()


def test_per_topic_labels_paper_ids_title_and_missing_topics(tmp_path, data_dir):
    lines = __import__("gzip").open(data_dir / "tv21.runA.txt.gz", "rt").read().splitlines()
    partial = tmp_path / "partial.txt"
    partial.write_text("\n".join(l for l in lines if not l.startswith("1662 ")) + "\n")
    import matplotlib

    from trecvid_fpig.evaluate.score import score_runs
    from trecvid_fpig.formats.qrels import load_qrels
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        result = plot("topics", "--qrels", "tv21", "--out", tmp_path / "f", "--label", "ours",
                      "--label", "theirs", "--topic-text", partial, data_dir / "tv21.runB.txt.gz")
    text = svg_texts(tmp_path / "f")
    scored = score_runs(load_qrels("tv21"), [partial])[0].result.topics
    mean = sum(t.infAP for t in scored) / len(scored)            # over the run's 19 topics
    assert len(scored) == 19 and f"ours (mean {mean:.4f} over 19 of 20 topics, 1 missing ×)" in text
    assert "theirs (mean" in text and "infAP per topic, TV21" in text
    assert "662 a woman" in text and ">1662" not in text           # texts wrapped in two lines
    assert "ours: no score for 1 topic(s): 1662" in result.stderr      # named by its --label
    check_images(tmp_path / "f", 10, 4)
    failed = plot("topics", "--qrels", "tv21", "--out", tmp_path / "g", "--label", "x", partial,
                  data_dir / "tv21.runB.txt.gz", ok=False)
    assert failed.exit_code == 2 and "give one label per run: 1 for 2 run(s)" in failed.stderr


def test_nist_style_draws_median_and_max(tmp_path, data_dir):
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot("topics", "--qrels", "tv21", "--style", "nist", "--out", tmp_path / "n", "--title", "T",
             data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz")
    text = svg_texts(tmp_path / "n")
    assert "median of the runs" in text and "max of the runs" in text
    check_images(tmp_path / "n", 10, 4)


@pytest.mark.parametrize("args,message", [
    (("--dpi", "100000"), "100000 is not in the range 10<=x<=1200"),
    (("--width", "1e6"), "x<=50"),
    (("--width", "40", "--dpi", "1000"), "at most 20000 a side"),
])
def test_figure_size_is_bounded(tmp_path, data_dir, args, message):
    result = plot("topics", "--qrels", "tv21", "--out", tmp_path / "x", *args,
                  data_dir / "tv21.runA.txt.gz", ok=False)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_sensitivity_ticks_logx_letters_and_metric_label(tmp_path):
    (tmp_path / "s.csv").write_text("param,value,R@1\nlr,1e-5,40\nlr,3e-5,42\nlr,1e-4,41\n"
                                    "lr,3e-4,38\nk,1,40\nk,2,41\nk,10,42\nk,100,39\n")
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "s", "--logx", "lr",
             "--width", "3.3", "--height", "2")
    text = svg_texts(tmp_path / "s")
    assert "(a)" in text and "(b)" in text and ">R@1<" in text
    assert ">1e-5<" in text and ">3e-4<" in text and ">100<" in text     # one format on a log axis
    assert ">2<" not in text          # 1, 2 and 10 would overlap at 3.3 in: 2 gives way
    check_images(tmp_path / "s", 3.3, 2)
    failed = plot("sensitivity", tmp_path / "s.csv", "--out", tmp_path / "t", "--logx", "nope", ok=False)
    assert failed.exit_code == 2 and "not a param of the CSV" in failed.stderr


def test_tick_labels_never_overlap():
    from trecvid_fpig.report.plots import _spaced_ticks
    values = [1e-5, 2e-5, 3e-5, 1e-4, 3e-4, 1e-3]
    for inches in (1.0, 2.0, 4.0):
        kept = _spaced_ticks(values, True, inches)
        assert kept[0] == values[0] and kept[-1] == values[-1]
        position = [math.log10(v) for v in kept]
        span = math.log10(values[-1]) - math.log10(values[0])
        for a, b, pa, pb in zip(kept, kept[1:], position, position[1:]):
            label_inches = 0.62 * 8 / 72 * (len(f"{a:g}") + len(f"{b:g}")) / 2
            assert (pb - pa) / span * inches >= label_inches
    assert _spaced_ticks(values, True, 20.0) == values
