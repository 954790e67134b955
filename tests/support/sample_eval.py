"""What NIST's sample_eval.pl printed for the shipped test runs (tests/data/*.sample_eval*.out)."""


def nist_all(data_dir, name):
    """The `all` values, {measure: value}."""
    out = {}
    for line in (data_dir / f"{name}.sample_eval.out").read_text().splitlines():
        key, _, value = line.split()
        out[key] = float(value)
    return out


def nist_per_topic(data_dir, name):
    """The per-topic values, {topic: {measure: value}}."""
    out = {}
    for line in (data_dir / f"{name}.sample_eval_q.out").read_text().splitlines():
        key, topic, value = line.split()
        if topic != "all":
            out.setdefault(topic, {})[key] = float(value)
    return out
