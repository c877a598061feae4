"""Render cost benchmark: each named worst-case comment text, and a search for slower ones.

Run from the repository root:  .venv/bin/python bench/render_bench.py [--length 10000] [--runs 5]
                               .venv/bin/python bench/render_bench.py --search 300

For every named generator it renders a text of about --length characters --runs times and prints
the best and the worst CPU time (time.process_time), then the best time of each stage: Markdown
parsing and rendering, the first bleach clean, and the second clean that follows a dropped link.
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


def repeat(unit: str, length: int, prefix: str = "", suffix: str = "") -> str:
    """prefix, then unit as often as fits in length characters, then suffix."""
    count = max(1, (length - len(prefix) - len(suffix)) // len(unit))
    return prefix + unit * count + suffix


def nested(opener: str, closer: str, middle: str, length: int) -> str:
    depth = max(1, (length - len(middle)) // (len(opener) + len(closer)))
    return opener * depth + middle + closer * depth


CASES: dict[str, Callable[[int], str]] = {
    # The security review's text: one dropped link, then 2,497 quotes (9,997 characters).
    "reported": lambda n: repeat(">a\n\n", n, prefix="[x](/r)\n\n"),
    "quotes": lambda n: repeat(">a\n\n", n),
    "quotes-lazy": lambda n: repeat(">a\n", n),
    "quotes-nested": lambda n: repeat("> ", n, suffix="a"),
    "list-tight": lambda n: repeat("- a\n", n),
    "list-loose": lambda n: repeat("- a\n\n", n),
    "list-ordered": lambda n: repeat("1. a\n", n),
    "list-nested": lambda n: repeat("- ", n, suffix="a"),
    "list-indented": lambda n: "".join("  " * (i % 40) + "- a\n" for i in range(n // 44)),
    "paragraphs": lambda n: repeat("a\n\n", n),
    "lines": lambda n: repeat("a\n", n),
    "hard-breaks": lambda n: repeat("a  \n", n),
    "emphasis-open": lambda n: repeat("*a", n),
    "emphasis-mixed": lambda n: repeat("*_", n),
    "emphasis-strong": lambda n: repeat("**a*", n),
    "emphasis-underscore": lambda n: repeat("_a_ ", n),
    "emphasis-nested": lambda n: nested("*", "*", "a", n),
    "links": lambda n: repeat("[x](https://example.com) ", n),
    "links-dropped": lambda n: repeat("[x](/r) ", n),
    "links-dropped-joined": lambda n: repeat("0.A[L]() ", n),
    "links-reference": lambda n: repeat("[x][r] ", n, suffix="\n\n[r]: https://example.com"),
    "link-definitions": lambda n: repeat("[a]: https://example.com\n", n),
    "brackets-open": lambda n: repeat("[", n),
    "brackets-one-close": lambda n: repeat("[", n, suffix="]"),
    "brackets-paren": lambda n: repeat("[a](", n),
    "entities-amp": lambda n: repeat("&amp;", n),
    "entities-numeric": lambda n: repeat("&#123;", n),
    "entities-named": lambda n: repeat("&copy;", n),
    "entities-escaped": lambda n: repeat("&amp;lt;", n),
    "ampersands": lambda n: repeat("&", n),
    "angle-brackets": lambda n: repeat("<", n),
    "long-word": lambda n: "a" * n,
    "long-line": lambda n: repeat("a ", n),
    "backticks": lambda n: repeat("`a", n),
    "backtick-runs": lambda n: "".join("`" * i + "a" for i in range(1, int((2 * n) ** 0.5))),
    "fences": lambda n: repeat("```\n", n),
    "indented-code": lambda n: repeat("    a\n", n),
    "urls": lambda n: repeat("https://example.com ", n),
    "domains": lambda n: repeat("a.com ", n),
    "www": lambda n: repeat("www.example.com ", n),
    "autolinks": lambda n: repeat("<https://example.com> ", n),
    "url-dashes": lambda n: repeat("a-", n),
    "url-dash-dots": lambda n: repeat("a-a.", n),
    "url-dots": lambda n: repeat("a.", n),
    "url-parens": lambda n: repeat("(", n, suffix="a.com"),
    "url-parens-closed": lambda n: nested("(", ")", "a.com", n),
    "url-schemes": lambda n: repeat("http:", n),
    "url-scheme-dashes": lambda n: repeat("x-http:a-", n),
    "control-characters": lambda n: repeat("\x01a", n),
    "form-feeds": lambda n: repeat("\x0ca ", n),
}


def cpu_times(function: Callable[..., object], *args: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.process_time()
        function(*args)
        times.append(time.process_time() - start)
    return times


def stages(text: str, runs: int) -> dict[str, float]:
    """Best CPU time of each stage of render_comment, in seconds."""
    markdown = min(cpu_times(render._markdown.render, text, runs=runs))
    html = render._markdown.render(text)
    render._dropped.links = 0
    first = min(cpu_times(render.clean_html, html, runs=1))
    dropped = render._dropped.links
    second = min(cpu_times(render.clean_html, render.clean_html(html), runs=1)) if dropped else 0.0
    return {"markdown": markdown, "clean": first, "second clean": second}


def report(length: int, runs: int, only: list[str]) -> None:
    names = only or list(CASES)
    labels = list(stages("a", 1))
    print(f"{'case':22} {'chars':>6} {'best ms':>8} {'max ms':>8}  "
          + "  ".join(f"{label:>12}" for label in labels))
    worst = ("", 0.0)
    for name in names:
        text = CASES[name](length)
        times = cpu_times(render.render_comment, text, runs=runs)
        parts = stages(text, runs)
        print(f"{name:22} {len(text):6d} {min(times) * 1000:8.1f} {max(times) * 1000:8.1f}  "
              + "  ".join(f"{parts[label] * 1000:12.1f}" for label in labels), flush=True)
        worst = max(worst, (name, min(times)), key=lambda pair: pair[1])
    print(f"worst: {worst[0]} {worst[1] * 1000:.1f} ms (best of {runs})")


FRAGMENTS = [
    "[", "]", "(", ")", "](", "](/r)", "[x](/r)", "[x](https://e.com)", "*", "_", "**", "`",
    "```\n", "> ", ">", "- ", "1. ", "\n", "\n\n", "  \n", "\\", "&amp;", "&#123;", "&lt;", "&",
    "<", "a", "a.com", "http://", "www.", "@", ".", "-", ":", "/", " ", "    ", "!", "#", "=",
    "~", "<https://e.com>", "0.A", "é", "\x01", "\x0c", '"',
]


def search(examples: int, length: int) -> None:
    """Look for slow texts: a unit of fragments, repeated to length characters."""
    from hypothesis import HealthCheck, given, settings, target
    from hypothesis import strategies as st

    found: list[tuple[float, str]] = []
    units = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join)

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
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
    parser.add_argument("--search", type=int, metavar="EXAMPLES", default=0,
                        help="run a hypothesis search of this many examples instead")
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
