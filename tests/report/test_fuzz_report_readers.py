"""Fuzzing the report's readers of outside files (the CSV that `plot sensitivity` reads, the
published-numbers TOML): hostile bytes give a clean InputError or a parse, nothing else."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trecvid_fpig.errors import InputError
from trecvid_fpig.report.plots import read_sensitivity
from trecvid_fpig.report.published import load_published

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CSV_TOKENS = ["param", "value", "metric", "infAP", "series", "α", "1", "0.5", "-1", "1e400", "nan",
              "inf", "\u00b2", "9" * 30, '"', '""', ",", "\n", "\r", "\x00", "\ufeff", " ", "x" * 50]
TOML_TOKENS = ["[s1]", "[s2]", "[[s1.row]]", 'name = "F-Pig"', "tv21 = 0.216", "tv21 = nan",
               "tv21 = 1e400", 'tv21 = "x"', "mean = 0.1", "= 1", '"', "\n", "\x00", "[", "]",
               "note = '''", "\ufeff", "1k = { R1 = 47.5 }"]


def text_of(tokens):
    return st.one_of(st.binary(max_size=200),
                     st.lists(st.sampled_from(tokens), max_size=25).map(lambda t: "".join(t).encode(
                         "utf-8", "surrogatepass")))


def parses_or_input_error(reader, path, data):
    path.write_bytes(data)
    try:
        reader(path)
    except InputError:
        pass


@FUZZ
@given(data=text_of(CSV_TOKENS))
def test_sensitivity_csv(tmp_path, data):
    parses_or_input_error(read_sensitivity, tmp_path / "s.csv", b"param,value,metric\n" + data)
    parses_or_input_error(read_sensitivity, tmp_path / "s.csv", data)


@FUZZ
@given(data=text_of(TOML_TOKENS))
def test_published_toml(tmp_path, data):
    parses_or_input_error(load_published, tmp_path / "p.toml", data)


def test_a_field_over_csvs_size_limit_is_an_input_error(tmp_path):
    (tmp_path / "s.csv").write_text('param,value,metric\n"' + "a" * 200_000 + ",1,2\n")
    with pytest.raises(InputError, match=r"s.csv:2: not a readable CSV: field larger than field limit"):
        read_sensitivity(tmp_path / "s.csv")
