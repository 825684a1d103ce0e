"""Fetch the labelled Rotten Tomatoes snippets into data/ (models/fetch.py does the work)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.data import RT_FILE  # noqa: E402
from models.fetch import fetch_rotten_tomatoes  # noqa: E402

if __name__ == "__main__":
    print(fetch_rotten_tomatoes(Path(sys.argv[1]) if len(sys.argv) > 1 else RT_FILE))
