"""Write the course's repository address into every place that needs it, from its one source.

    python scripts/set_repository_url.py                      # copy pyproject's address everywhere
    python scripts/set_repository_url.py https://github.com/me/my-fork    # a fork or class copy
    python scripts/set_repository_url.py --check              # exit 1 if any place differs

The address lives in ``pyproject.toml`` (``[project.urls] Repository``). This script writes it
into each notebook's setup cell (what Colab installs) and "Open in Colab" badge, and into the Colab
links of README.md. Notebooks are edited as JSON, outputs untouched: nothing needs re-running.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
SETUP_MARKER = "# Setup"

SETUP_CELL = """\
# NBVAL_IGNORE_OUTPUT
# Setup. On Colab this installs the course from its repository; it is safe to run twice and keeps
# Colab's own torch, torchvision, numpy and ipywidgets. In JupyterLab `make lab` installed it.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "inception-edu @ git+{url}"
    import importlib

    importlib.invalidate_caches()
import inception_edu
import matplotlib

# 80 dpi: a figure up to 12.5 inches wide fits a notebook column (1000 px), stored and on screen.
matplotlib.rcParams["figure.dpi"] = 80
print(inception_edu.versions())"""

BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/")


def main() -> int:
    """Set or check the repository address; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a new address (default: keep pyproject's)")
    parser.add_argument("--check", action="store_true", help="only report places that differ")
    args = parser.parse_args()
    if args.url and args.check:
        parser.error("--check takes no address")
    if args.url:
        set_pyproject_url(args.url)
    url = repository_url()
    stale = [path for path in files() if update(path, url, write=not args.check)]
    if args.check and stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"not pointing at {url}: {names}. Run: python scripts/set_repository_url.py")
        return 1
    for path in stale:
        print(f"updated {path.relative_to(ROOT)}")
    return 0


def repository_url() -> str:
    """Return the repository address from pyproject.toml, without a trailing slash or .git."""
    # A pattern, not tomllib: tomllib is Python 3.11+, the course runs on 3.10.
    match = re.search(r'(?m)^Repository = "(.*)"$', PYPROJECT.read_text())
    if match is None:
        raise SystemExit("pyproject.toml has no [project.urls] Repository = \"...\" line")
    return match.group(1).rstrip("/").removesuffix(".git")


def set_pyproject_url(url: str) -> None:
    """Write ``url`` as the Repository address in pyproject.toml."""
    match = re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url.rstrip("/"))
    if match is None:
        raise SystemExit(f"expected https://github.com/OWNER/REPO (Colab opens GitHub), got {url}")
    text = PYPROJECT.read_text()
    text = re.sub(r'(?m)^Repository = ".*"$', f'Repository = "{url.rstrip("/")}"', text)
    PYPROJECT.write_text(text)


def files() -> list[Path]:
    """Return the files that carry the address: README.md and every course notebook."""
    return [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb"))]


def update(path: Path, url: str, write: bool) -> bool:
    """Return whether ``path`` needed a change to point at ``url`` (and make it if ``write``)."""
    owner_repo = url.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{owner_repo}/blob/"
    text = path.read_text()
    if path.suffix != ".ipynb":
        new = BADGE.sub(badge, text)
    else:
        nb = json.loads(text)
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                source = BADGE.sub(badge, source)
            elif SETUP_MARKER in source:
                source = SETUP_CELL.format(url=url)
            cell["source"] = source.splitlines(keepends=True)
        new = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    changed = new != text
    if changed and write:
        path.write_text(new)
    return changed


if __name__ == "__main__":
    sys.exit(main())
