"""mutmut over each guarding module with that module's own fast tests, and a score table.

    python tests/mutants/mutmut_modules.py [--retry] [MODULE ...]     e.g. commentsvc/tokens.py

mutmut reads one [tool.mutmut] from pyproject.toml; a module whose functions every request
calls (tokens.keyed_hash, render.render_comment) would otherwise be tried against hundreds of
database tests. So each module runs in a scratch copy of the tree (.mutmut/<name>/, kept so a
second run only tries what changed) whose [tool.mutmut] mutates that module alone, against the
tests [tool.commentsvc-mutmut.modules] in pyproject.toml lists for it. Then:
`cd .mutmut/<name> && mutmut results` lists its survivors, `mutmut show NAME` shows one.
mutmut keeps a verdict once given; --retry tries the survivors (and the mutants no test
reached or that timed out) again, against today's tests: the run after writing tests for them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRATCH = REPO / ".mutmut"
COPIED = ["commentsvc", "templates", "migrations", "bench", "tests", "wsgi.py", "babel.cfg"]
IGNORED = shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc", ".hypothesis")
MUTMUT = Path(sys.executable).parent / "mutmut"
RETRIED = ("survived", "no tests", "timeout")  # what --retry tries again


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def prepare(module: str, tests: list[str], base: dict) -> Path:
    """The scratch tree for one module: today's sources, and a pyproject naming its tests."""
    folder = SCRATCH / re.sub(r"[^a-z0-9]+", "-", module.removesuffix(".py").lower())
    folder.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source, target = REPO / name, folder / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    # The suite finds the shared test corpora beside the checkout; mutmut runs it in mutants/.
    shared = folder / "shared"
    if not shared.exists() and (REPO.parent / "shared").exists():
        shared.symlink_to(REPO.parent / "shared")
    pyproject = (REPO / "pyproject.toml").read_text()
    own = (
        f"[tool.mutmut]\nsource_paths = {toml_list(base['source_paths'])}\n"
        f"only_mutate = {toml_list([module])}\n"
        f"also_copy = {toml_list(base['also_copy'])}\n"
        f"pytest_add_cli_args = {toml_list(base['pytest_add_cli_args'])}\n"
        f"timeout_multiplier = {base.get('timeout_multiplier', 15.0)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n\n"
    )
    pyproject = re.sub(
        r"\[tool\.mutmut\]\n.*?\n\n(?=\[|#)", lambda _: own, pyproject, count=1, flags=re.DOTALL
    )
    (folder / "pyproject.toml").write_text(pyproject)
    return folder


def verdicts(folder: Path) -> dict[str, str]:
    """mutmut's verdict (killed, survived, no tests, timeout, ...) by mutant name."""
    done = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    found = {}
    for line in done.stdout.splitlines():
        if ": " in line:
            name, verdict = line.rsplit(": ", 1)
            found[name.strip()] = verdict.strip()
    return found


def score(folder: Path) -> dict[str, int]:
    """How many mutants got each verdict."""
    counts: dict[str, int] = {}
    for verdict in verdicts(folder).values():
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def main() -> int:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    modules: dict[str, list[str]] = config["commentsvc-mutmut"]["modules"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--retry", action="store_true", help="try the survivors of the last run again"
    )
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help=f"some of: {', '.join(modules)} (default: all)"
    )
    args = parser.parse_args()
    chosen = args.modules or list(modules)
    unknown = [m for m in chosen if m not in modules]
    if unknown:
        parser.error(f"no test selection for: {', '.join(unknown)}")

    rows = []
    for module in chosen:
        folder = prepare(module, modules[module], config["mutmut"])
        print(f"== {module}: mutmut in {folder.relative_to(REPO)}", flush=True)
        again = []
        if args.retry:
            again = [n for n, v in verdicts(folder).items() if v in RETRIED]
            if not again:
                rows.append((module, score(folder)))
                continue
        done = subprocess.run(
            [str(MUTMUT), "run", *again], cwd=folder, check=False, stdout=subprocess.DEVNULL
        )
        if done.returncode:  # e.g. a test that fails without any mutant: nothing was tried
            print(f"   mutmut stopped (exit {done.returncode}); `mutmut run` there says why")
        rows.append((module, score(folder)))

    print(f"{'module':<28}{'mutants':>8}{'killed':>8}{'survived':>9}{'other':>7}  score")
    for module, counts in rows:
        total = sum(counts.values())
        killed = counts.get("killed", 0)
        survived = counts.get("survived", 0)
        rate = f"{100 * killed / total:.1f}%" if total else "-"
        print(
            f"{module:<28}{total:>8}{killed:>8}{survived:>9}{total - killed - survived:>7}  {rate}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
