import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from scraping.management.progress import ProgressBar
from scraping.schedule.simulation import (
    HELD_OUT_KINDS,
    HELD_OUT_SEEDS,
    OURS,
    POLICIES,
    NotReleaseHistories,
    dump_release_histories,
    generate_calendars,
    held_out,
    load_release_histories,
    simulate_by_kind,
)


class Command(BaseCommand):
    help = (
        "Replay release histories against our check policy and the peers' (seed rules, fixed 24 h and "
        "6 h, Mihon, Miniflux): checks per title-day, latency from release to discovery, efficiency; then "
        "the same per kind of calendar beside the best peer for that kind, and (--generated) the held-out seeds."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--releases", metavar="FILE", help="a release-histories JSON file")
        source.add_argument("--generated", action="store_true", help="seeded hard calendars made on the spot")
        parser.add_argument("--seed", type=int, default=7, help="seed for --generated (default 7)")
        parser.add_argument("--save-generated", metavar="FILE", help="also write the generated calendars there")
        parser.add_argument("--horizon-days", type=int, default=180, help="days each title is followed (default 180)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the figures as JSON")

    def handle(self, *args, releases, generated, seed, save_generated, horizon_days, as_json, **options):
        if horizon_days < 1:
            raise CommandError("--horizon-days must be 1 or more")
        if generated:
            series = generate_calendars(seed=seed)
            source = f"generated calendars (seed {seed})"
            if save_generated:
                about = f"batoshelf's hard calendars, generate_calendars(seed={seed})"
                with open(save_generated, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(dump_release_histories(series, about), indent=1))
        else:
            try:
                series = load_release_histories(releases)
            except OSError as exc:
                raise CommandError(f"cannot read {releases}: {exc.strerror}") from None
            except NotReleaseHistories as exc:
                raise CommandError(f"{releases} is not a release-histories file: {exc}") from None
            source = releases
        if not series:
            raise CommandError(f"{source} holds no series with releases")

        progress = ProgressBar(len(POLICIES), self.stderr)

        def report_progress(policy, index, total):
            if index == total:
                progress.step(f"{policy}: {total} titles replayed")

        horizon = timedelta(days=horizon_days)
        reports, kinds = simulate_by_kind(series, horizon=horizon, progress=report_progress)
        progress.finish()
        seeds = held_out(horizon=horizon) if generated else []
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "source": source,
                        "titles": len(series),
                        "horizon_days": horizon_days,
                        "policies": [r.as_json() for r in reports],
                        "kinds": [
                            {
                                "kind": k.kind,
                                "ours": k.ours.as_json(),
                                "best_peer": k.best_peer.as_json(),
                                "ratio": k.ratio,
                            }
                            for k in kinds
                        ],
                        "held_out_seeds": [
                            {"seed": seed, "ratio": ratio, "checks_per_title_day": checks, "kinds_worse": worse}
                            for seed, ratio, checks, worse in seeds
                        ],
                    },
                    indent=1,
                )
            )
            return
        self.stdout.write(self._table(reports, source, len(series), horizon_days))
        self.stdout.write(self._kinds_table(kinds))
        if seeds:
            self.stdout.write(self._held_out_line(seeds))

    def _table(self, reports, source, titles, horizon_days):
        lines = [
            f"{source}: {titles} titles, {horizon_days} days each",
            f"{'policy':<12} {'checks/title-day':>16} {'mean h':>8} {'p50 h':>7} {'p95 h':>8} "
            f"{'weekly p50 h':>12} {'efficiency':>10}",
        ]
        for r in reports:
            weekly = f"{r.weekly_p50_latency_h:.2f}" if r.weekly_p50_latency_h is not None else "-"
            lines.append(
                f"{r.policy:<12} {r.checks_per_title_day:>16.3f} {r.mean_latency_h:>8.2f} {r.p50_latency_h:>7.2f} "
                f"{r.p95_latency_h:>8.2f} {weekly:>12} {r.efficiency:>10.3f}"
            )
        ours = next(r for r in reports if r.policy == OURS)
        best = min((r for r in reports if r.policy != OURS), key=lambda r: r.efficiency)
        lines.append(
            f"efficiency = checks per title-day x mean latency (h), lower is better. Ours is "
            f"{ours.efficiency / best.efficiency:.2f} of the best peer's ({best.policy}, {best.efficiency:.3f})."
        )
        return "\n".join(lines)

    def _kinds_table(self, kinds):
        lines = [
            "",
            "per kind (ratio: ours over the best peer for that kind; a kind with no release in the horizon "
            "compares checks per title-day):",
            f"{'kind':<22} {'titles':>6} {'checks/title-day':>16} {'mean h':>8} {'p95 h':>8} {'efficiency':>10} "
            f"{'best peer':>12} {'its eff.':>9} {'ratio':>6}",
        ]
        for k in kinds:
            held = " (held-out kind)" if k.kind in HELD_OUT_KINDS else ""
            lines.append(
                f"{k.kind:<22} {k.ours.titles:>6} {k.ours.checks_per_title_day:>16.3f} {k.ours.mean_latency_h:>8.2f} "
                f"{k.ours.p95_latency_h:>8.2f} {k.ours.efficiency:>10.3f} {k.best_peer.policy:>12} "
                f"{k.best_peer.efficiency:>9.3f} {k.ratio:>6.2f}{held}"
            )
        return "\n".join(lines)

    def _held_out_line(self, seeds):
        ratios = ", ".join(f"{seed}: {ratio:.2f}" for seed, ratio, _, _ in seeds)
        checks = max(checks for _, _, checks, _ in seeds)
        worse = sorted({kind for *_, kinds_worse in seeds for kind in kinds_worse})
        return (
            f"\nheld-out seeds {HELD_OUT_SEEDS[0]}-{HELD_OUT_SEEDS[-1]} (never tuned on), ours over the best peer's "
            f"efficiency: {ratios}; at most {checks:.3f} checks per title-day; kinds where a peer did better on "
            f"some seed: {', '.join(worse) or 'none'}."
        )
