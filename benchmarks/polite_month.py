"""Requests per detected chapter and detection latency over a simulated month, against a source that rate-limits.

    .venv/bin/python benchmarks/polite_month.py [--releases FILE] [--copies 1 4] [--days 30]

Every request goes through one channel to one simulated source (scraping.gate.simulation).
The month starts with every title due, as after a restart. Compared in the same run:
batoshelf (learned schedule, the cluster limiter: 4-7 s spacing, 300 requests an hour,
Retry-After honoured), the learned schedule with the seed's waits, and the seed's rules
(its schedule, 4-7 s sequential, a fixed 60 s then 5 min after a 429). Nothing is
asserted: the figures are printed.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraping.gate.simulation import CITIZENS, SourceRules, simulate_month  # noqa: E402
from scraping.schedule.simulation import load_release_histories  # noqa: E402

# 471 real release histories (what they are and where they come from: their "about" and "source_notes").
REAL_HISTORIES = ROOT / "benchmarks" / "data" / "release-histories.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=Path, default=REAL_HISTORIES)
    parser.add_argument(
        "--copies", type=int, nargs="+", default=[1, 4], help="instance sizes, as copies of every series (default 1 4)"
    )
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    series = load_release_histories(args.releases)
    source = SourceRules()
    print(f"{len(series)} series from {args.releases}; {args.days} days; {source.describe()}")
    print()
    print(
        "| titles | tracker | requests | 429s | chapters found | requests / chapter | mean latency h "
        "| p95 h | missed | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for copies in args.copies:
        reports = []
        for citizen in CITIZENS:
            started = time.perf_counter()
            report = simulate_month(series, citizen, source=source, days=args.days, copies=copies)
            reports.append(report)
            print(
                f"| {report.titles} | {report.citizen} | {report.requests:,} | {report.rate_limited:,} "
                f"| {report.detected:,} | {report.requests_per_chapter:.2f} | {report.mean_latency_h:.2f} "
                f"| {report.p95_latency_h:.2f} | {report.undetected} | {time.perf_counter() - started:.1f} |",
                flush=True,
            )
        ours, seed = reports[0], reports[-1]
        print(
            f"|  | **ours / seed** | {ours.requests / seed.requests:.2f}× | "
            f"{ours.rate_limited}/{seed.rate_limited} |  | "
            f"{ours.requests_per_chapter / seed.requests_per_chapter:.2f}× | "
            f"{ours.mean_latency_h / seed.mean_latency_h:.3f}× |  |  |  |"
        )


if __name__ == "__main__":
    main()
