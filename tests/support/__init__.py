"""What several test modules share: paths, the CLI runner, generated media and towers, faults."""
from pathlib import Path

#: tests/, the repository, and the shipped test data
TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
