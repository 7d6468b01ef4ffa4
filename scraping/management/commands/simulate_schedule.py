import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from scraping.management.progress import ProgressBar
from scraping.schedule.simulation import (
    POLICIES,
    NotReleaseHistories,
    dump_release_histories,
    generate_calendars,
    load_release_histories,
    simulate,
)

OURS = "batoshelf"


class Command(BaseCommand):
    help = (
        "Replay release histories against our check policy and the peers' (seed rules, fixed 24 h and "
        "6 h, Mihon, Miniflux): checks per title-day, latency from release to discovery, efficiency."
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

        reports = simulate(series, horizon=timedelta(days=horizon_days), progress=report_progress)
        progress.finish()
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "source": source,
                        "titles": len(series),
                        "horizon_days": horizon_days,
                        "policies": [r.as_json() for r in reports],
                    },
                    indent=1,
                )
            )
            return
        self.stdout.write(self._table(reports, source, len(series), horizon_days))

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
