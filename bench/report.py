# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One line per measured figure, so `make bench` can end with one table of every figure.

A benchmark prints, besides its own lines, ``result(...)`` lines: a tab-separated record after
a marker. ``bench/all.py`` runs every benchmark, passes their output through, and prints the
table of all their records at the end (markdown, as the README's performance section shows it).
"""

import statistics

MARKER = "bench-result\t"
COLUMNS = ("figure", "ours", "baseline", "ratio", "goal", "met")


def spread(samples, unit="s", scale=1.0):
    """``median (min-max, n=N)`` of ``samples``, in ``unit`` after ``scale``."""
    values = [s * scale for s in samples]
    digits = 3 if unit == "s" else 1
    return "%.*f%s (%.*f-%.*f, n=%d)" % (
        digits, statistics.median(values), unit, digits, min(values), digits, max(values), len(values))


def result(figure, ours, baseline, ratio, goal, met):
    """Print one record: what was measured, our figure, the baseline's (same run), their ratio,
    the goal and whether it is met."""
    fields = (figure, ours, baseline, ratio, goal, "met" if met else "NOT met")
    print(MARKER + "\t".join(str(f).replace("\t", " ") for f in fields), flush=True)
    return met


def parse(text):
    """The records in a benchmark's output."""
    return [tuple(line[len(MARKER):].split("\t")) for line in text.splitlines() if line.startswith(MARKER)]


def table(records):
    """The records as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(record) + " |" for record in records]
    return "\n".join(lines)
