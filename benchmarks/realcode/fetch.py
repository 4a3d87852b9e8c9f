"""Bring the repositories of ``repos.toml`` to a local folder, each at its pinned commit.

For a developer's machine only (never run by CI; the set is not committed):

    .venv/bin/python benchmarks/realcode/fetch.py --into ~/torchmode-corpus
    .venv/bin/python benchmarks/realcode/score.py --corpus ~/torchmode-corpus

Each repository is cloned into ``<into>/<owner+name>`` and checked out at its
commit; a folder already at the right commit is left alone, so a rerun is cheap.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Repo:
    """One pinned repository of the set."""

    folder: str
    url: str
    commit: str
    kind: str


def load_repos(path: Path = HERE / "repos.toml") -> list[Repo]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return [Repo(r["folder"], r["url"], r["commit"], r.get("kind", "")) for r in data["repo"]]


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _head(folder: Path) -> str | None:
    if not (folder / ".git").exists():
        return None
    try:
        return _git("rev-parse", "HEAD", cwd=folder)
    except subprocess.CalledProcessError:
        return None


def fetch(repo: Repo, into: Path) -> str:
    """Clone (or update) one repository and check out its pin; returns what was done."""
    folder = into / repo.folder
    if _head(folder) == repo.commit:
        return "up to date"
    if not folder.exists():
        _git("clone", "--quiet", "--no-checkout", repo.url, str(folder))
    try:
        _git("checkout", "--quiet", "--detach", repo.commit, cwd=folder)
    except subprocess.CalledProcessError:  # a shallow or old clone: get the pinned commit
        _git("fetch", "--quiet", "origin", repo.commit, cwd=folder)
        _git("checkout", "--quiet", "--detach", repo.commit, cwd=folder)
    return f"checked out {repo.commit[:12]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, required=True, help="folder to clone into")
    parser.add_argument("--only", nargs="*", help="folder names to fetch (default: all)")
    args = parser.parse_args(argv)
    args.into.mkdir(parents=True, exist_ok=True)
    failed = 0
    for repo in load_repos():
        if args.only and repo.folder not in args.only:
            continue
        try:
            print(f"{repo.folder}: {fetch(repo, args.into)}")
        except subprocess.CalledProcessError as exc:
            failed += 1
            print(f"{repo.folder}: failed: {exc.stderr.strip() or exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
