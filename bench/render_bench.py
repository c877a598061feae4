"""Render cost benchmark: each named worst-case comment text, and a search for slower ones.

Run from the repository root:  .venv/bin/python bench/render_bench.py [--length 10000] [--runs 5]
                               .venv/bin/python bench/render_bench.py --search 300

For every named generator it renders a text of about --length characters --runs times and prints
the best and the worst CPU time (time.process_time), then the best time of each stage:
markdown-it's parsing, the cleaning of its tokens into HTML (what bleach's clean would make of
the parser's HTML), and the second cleaning that follows a dropped link. The cases are those of
tests/test_render_cost.py.
--search runs a hypothesis search over a grammar of Markdown fragments, repeated to --length
characters, that targets the render time, and prints the slowest texts it found as Python
literals, ready to be kept as regression cases.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure the tree this file sits in, wherever the venv points

from commentsvc import render  # noqa: E402
from tests.test_render_cost import CASES, FRAGMENTS, repeat  # noqa: E402


def cpu_times(function: Callable[..., object], *args: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.process_time()
        function(*args)
        times.append(time.process_time() - start)
    return times


def stages(text: str, runs: int) -> dict[str, float]:
    """Best CPU time of each stage of render_comment, in seconds."""
    with render._collection_paused():  # as render_comment runs them
        parse = min(cpu_times(render._markdown.parse, text, runs=runs))
        tokens = render._markdown.parse(text)
        clean = min(cpu_times(lambda: render._clean(render._html_pieces(tokens)), runs=runs))
        pieces, dropped = render._clean(render._html_pieces(tokens))
        second = 0.0
        if dropped:
            second = min(cpu_times(lambda: render._clean(render._joined(pieces)), runs=runs))
    return {"markdown-it": parse, "clean": clean, "second clean": second}


def report(length: int, runs: int, only: list[str]) -> None:
    names = only or list(CASES)
    labels = list(stages("a", 1))
    print(
        f"{'case':28} {'chars':>6} {'best ms':>8} {'max ms':>8}  "
        + "  ".join(f"{label:>12}" for label in labels)
    )
    worst = ("", 0.0)
    for name in names:
        text = CASES[name](length)
        times = cpu_times(render.render_comment, text, runs=runs)
        parts = stages(text, runs)
        print(
            f"{name:28} {len(text):6d} {min(times) * 1000:8.1f} {max(times) * 1000:8.1f}  "
            + "  ".join(f"{parts[label] * 1000:12.1f}" for label in labels),
            flush=True,
        )
        worst = max(worst, (name, min(times)), key=lambda pair: pair[1])
    print(f"worst: {worst[0]} {worst[1] * 1000:.1f} ms (best of {runs})")


def search(examples: int, length: int) -> None:
    """Look for slow texts: a unit of fragments, repeated to length characters."""
    from hypothesis import HealthCheck, given, settings, target
    from hypothesis import strategies as st

    found: list[tuple[float, str]] = []
    units = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join)

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(prefix=st.lists(st.sampled_from(FRAGMENTS), max_size=3).map("".join), unit=units)
    def slow(prefix: str, unit: str) -> None:
        text = repeat(unit, length, prefix=prefix)[:length]
        elapsed = min(cpu_times(render.render_comment, text, runs=2))
        target(elapsed * 1000, label="render ms")
        found.append((elapsed, f"{prefix!r} + {unit!r} * {(length - len(prefix)) // len(unit)}"))

    slow()
    found.sort(reverse=True)
    seen = set()
    print(f"slowest of {len(found)} texts of up to {length} characters:")
    for elapsed, literal in found:
        if literal not in seen and len(seen) < 15:
            seen.add(literal)
            print(f"{elapsed * 1000:8.1f} ms  {literal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=10_000, help="characters per text")
    parser.add_argument("--runs", type=int, default=5, help="renders per case")
    parser.add_argument(
        "--search",
        type=int,
        metavar="EXAMPLES",
        default=0,
        help="run a hypothesis search of this many examples instead",
    )
    parser.add_argument("cases", nargs="*", help="names of the cases to run (default: all)")
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    if args.search:
        search(args.search, args.length)
    else:
        report(args.length, args.runs, args.cases)


if __name__ == "__main__":
    main()
