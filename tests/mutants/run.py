"""Run the tests that guard each safeguard with that safeguard broken (tests/mutants/plugin.py)
and print which mutants the suite kills: every one must be KILLED.

    python tests/mutants/run.py [--quick] [--no-baseline] [MUTANT ...]

--quick stops each run at its first failure (the failed count is then at most 1). The runs use
SQLite only (the safeguards are below the database) and never the browser tests (the mutant
lives in the pytest process; the browser tests' servers are separate processes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # noqa: S405  (our own pytest's report)
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.mutants.plugin import ENV, MUTANTS  # noqa: E402

# The tests that should notice each broken safeguard.
SELECTIONS: dict[str, list[str]] = {
    "csrf-off": [
        "tests/test_admin.py::test_every_post_without_csrf_token_is_refused",
        "tests/test_untested_behaviours_admin.py::test_lifting_a_ban_needs_the_csrf_token",
        "tests/test_admin_display_names.py",
        "tests/test_form_tokens_and_duplicates.py",
    ],
    "anonymous-logged-in": [
        "tests/test_admin.py::test_no_admin_page_or_action_without_login",
        "tests/test_admin_sessions.py",
    ],
    "any-signature": [
        "tests/test_api_comments.py",
        "tests/test_links.py",
    ],
    "autoescape-off": [
        "tests/test_untested_behaviours_admin.py",
        "tests/test_widget_pages.py",
        "tests/test_import_xss.py",
    ],
    "rate-limits-off": [
        "tests/test_rate_limits_hold.py",
        "tests/test_untested_behaviours_limits.py",
        "tests/test_admin_login_throttle.py",
    ],
    "sanitiser-noop": [
        "tests/test_render.py",
        "tests/test_import_xss.py",
    ],
    "markdown-escaping-off": [
        "tests/test_render.py",
        "tests/test_api_comments.py::test_preview_renders_like_saving",
    ],
}
FILTER = ["-k", "not postgresql", "-m", "not browser"]


@dataclass
class Outcome:
    mutant: str
    tests: int
    failed: int
    seconds: float
    exit_code: int
    killers: list[str]

    @property
    def verdict(self) -> str:
        if self.exit_code not in (0, 1) or self.tests == 0:
            return "ERROR"
        if self.mutant == "none":
            return "PASSES" if self.failed == 0 else "FAILS"
        return "KILLED" if self.failed else "SURVIVED"


def run(mutant: str, selection: list[str], quick: bool) -> Outcome:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "CI")}
    if mutant != "none":
        env[ENV] = mutant
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.mutants.plugin",
            f"--junitxml={report}",
            *FILTER,
            *(["-x"] if quick else []),
            *selection,
        ]
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        if not report.exists():
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            return Outcome(mutant, 0, 0, seconds, done.returncode, [])
        suite = ET.parse(report).getroot()  # noqa: S314
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        count = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
        killers = [
            f"{case.get('classname')}::{case.get('name')}"
            for case in suite.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None
        ]
    return Outcome(
        mutant,
        count["tests"] - count["skipped"],
        count["failures"] + count["errors"],
        seconds,
        done.returncode,
        killers,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mutants", nargs="*", metavar="MUTANT", help=f"some of: {', '.join(MUTANTS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="stop each run at its first failure")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the check that the selections pass with nothing broken",
    )
    args = parser.parse_args()
    chosen = args.mutants or list(MUTANTS)
    unknown = [m for m in chosen if m not in MUTANTS]
    if unknown:
        parser.error(f"unknown mutant(s): {', '.join(unknown)}")
    missing = [m for m in MUTANTS if m not in SELECTIONS]
    if missing:
        print(f"no test selection for: {', '.join(missing)}", file=sys.stderr)
        return 2

    outcomes = []
    if not args.no_baseline:
        union = list(dict.fromkeys(t for m in chosen for t in SELECTIONS[m]))
        baseline = run("none", union, quick=False)
        outcomes.append(baseline)
        if baseline.verdict != "PASSES":
            print(
                f"the selections fail with nothing broken ({baseline.failed} failed): "
                "fix that first",
                file=sys.stderr,
            )
            print_table(outcomes)
            return 1
    for mutant in chosen:
        outcomes.append(run(mutant, SELECTIONS[mutant], args.quick))
        print(f"{mutant}: {outcomes[-1].verdict}", file=sys.stderr, flush=True)
    print_table(outcomes)
    bad = [o for o in outcomes if o.verdict in ("SURVIVED", "ERROR", "FAILS")]
    return 1 if bad else 0


def print_table(outcomes: list[Outcome]) -> None:
    print(f"{'mutant':<24}{'tests run':>10}{'failed':>8}{'seconds':>9}  verdict")
    for o in outcomes:
        print(f"{o.mutant:<24}{o.tests:>10}{o.failed:>8}{o.seconds:>9.0f}  {o.verdict}")
    for o in outcomes:
        if o.mutant != "none" and o.killers:
            shown = ", ".join(o.killers[:3]) + (
                f" and {len(o.killers) - 3} more" if len(o.killers) > 3 else ""
            )
            print(f"  {o.mutant} killed by {shown}")


if __name__ == "__main__":
    sys.exit(main())
