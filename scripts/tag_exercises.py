"""Mark the exercise and setup cells of course notebooks, in place; only metadata changes.

    python scripts/tag_exercises.py notebooks/0[1-7]*.ipynb

Each exercise cell gets ``metadata["inception_edu"] = {"exercise": "NN.k"}`` and the tag
``exercise``; the cells up to the one importing the checkers get the tag ``setup``. Running it
again changes nothing. It stops, naming the notebook and cell, if any exercise cannot be identified.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from inception_edu.classroom.tagging import TaggingError, tag_notebook


def main(argv: list[str] | None = None) -> int:
    """Tag every notebook given; return 1 (and write none of them) if one cannot be tagged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    args = parser.parse_args(argv)
    tagged = []
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            ids = tag_notebook(nb, path.name)
        except TaggingError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        tagged.append((path, nb, ids))
    # Written only once all are identified: a failure leaves every notebook as it was.
    for path, nb, ids in tagged:
        nbformat.write(nb, path)
        print(f"{path}: {', '.join(ids) or 'no exercises'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
