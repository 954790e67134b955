from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def fetched_data(tmp_path_factory, monkeypatch) -> Path:
    """An empty data folder for `qrels fetch` (FPIG_TRECVID_DATA, inherited by subprocesses): a
    test never sees, nor writes, the qrels the user fetched."""
    folder = tmp_path_factory.mktemp("fpig-data")
    monkeypatch.setenv("FPIG_TRECVID_DATA", str(folder))
    return folder
