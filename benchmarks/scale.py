"""What each page, answer and job costs as batoshelf grows: S, M (and L when asked), on this run's database.

    .venv/bin/python benchmarks/scale.py [--sizes S M L] [--runs 5] [--explain]
    DATABASE_URL=mysql://root@127.0.0.1:3306/batoshelf .venv/bin/python benchmarks/scale.py

Each size is a throwaway database built through the models with bulk inserts (tests/bulk.py):

    S = 100 titles, 20k chapters, 10 readers with 100 follows, 10k notifications, 5k check logs
    M = 10,000 titles, 1M chapters, 1,000 readers with 100 follows, 1M notifications, 500k check logs
    L = 50,000 titles, 5M chapters, 5,000 readers with 100 follows, 10M notifications, 2.5M check logs

Pages and answers are served in-process (Django's test client, logged in as staff or as the busiest
reader); jobs run in a transaction rolled back after each run, so every run finds the same work. It
prints each operation's median of the runs and its SQL statements, the growth from the first size
to the last (the baseline is the first size, measured in the same run), and each database's size on
disk. With --explain, the plan of each operation's slowest statement. With --keep, each size's
database is kept, and used again by the next run with --keep instead of being built anew. Nothing is asserted: the test
suite holds the query counts (tests/test_scale.py), this prints where we stand.
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("CACHE_DIR", str(Path(tempfile.gettempdir()) / "batoshelf-scale-cache"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from readers.models import Follow, Reader  # noqa: E402
from scraping.checking import jobs  # noqa: E402
from scraping.checking.pipeline import check_title, import_title  # noqa: E402
from scraping.checking.tasks import dispatch_due_checks  # noqa: E402
from scraping.models import CheckSchedule, Title  # noqa: E402
from scraping.sources import TitleRef  # noqa: E402
from tests import bulk  # noqa: E402
from tests.standins import MangaDexStandIn  # noqa: E402

DUE = 100
FOLLOWERS = 1000
LIMIT = {"reader": 0.1, "staff": 0.5}  # seconds: the goal for each kind of page


def staff_pages(size):
    # The last page the admin reaches (it pages through the first 10,000 rows of a list at most).
    def deep(rows):
        return min(100, -(-rows // 100))

    chapters = size.titles * size.chapters_per_title
    logs = size.titles * size.logs_per_title
    return {
        "admin titles list, page 1": "/admin/scraping/title/",
        "admin titles list, deep page": f"/admin/scraping/title/?p={deep(size.titles)}",
        "admin titles list, search": "/admin/scraping/title/?q=Moon+Sword",
        "admin titles list, by latest release": "/admin/scraping/title/?o=-7",
        "admin chapters, page 1": "/admin/scraping/chapter/",
        "admin chapters, deep page": f"/admin/scraping/chapter/?p={deep(chapters)}",
        "admin chapters, search": "/admin/scraping/chapter/?q=Moon+Sword",
        "admin check logs, page 1": "/admin/scraping/checklog/",
        "admin check logs, deep page": f"/admin/scraping/checklog/?p={deep(logs)}",
        "admin check logs, failed only": "/admin/scraping/checklog/?outcome__exact=failed",
        "admin check logs, search": "/admin/scraping/checklog/?q=Moon+Sword",
        "admin schedules, page 1": "/admin/scraping/checkschedule/",
        "admin schedules, search": "/admin/scraping/checkschedule/?q=Moon+Sword",
        "admin follows, page 1": "/admin/readers/follow/",
        "admin follows, search": "/admin/readers/follow/?q=Moon+Sword",
        "admin notifications, page 1": "/admin/notifications/notification/",
        "admin notifications, search": "/admin/notifications/notification/?q=reader1",
        "admin job runs, page 1": "/admin/scraping/jobrun/",
        "staff dashboard": "/admin/dashboard/",
        "/api/admin/stats": "/api/admin/stats",
        "/api/admin/logs": "/api/admin/logs",
    }


def reader_pages(title_id, feed_token):
    return {
        "shelf (100 follows, 50 a page)": "/shelf/",
        "notifications page": "/notifications/",
        "/api/notifications?limit=100": "/api/notifications?limit=100",
        "/api/shelf": "/api/shelf",
        "title page": f"/titles/{title_id}/",
        "/api/titles/<id>/chapters": f"/api/titles/{title_id}/chapters",
        "private feed": f"/feeds/{feed_token}/",
    }


class Measured:
    def __init__(self):
        self.seconds, self.queries, self.slowest, self.plan = [], 0, None, ""

    @property
    def median(self):
        return statistics.median(self.seconds)


def measure(action, runs, rolled_back=False):
    measured = Measured()
    for _ in range(runs):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            if rolled_back:
                with transaction.atomic():
                    action()
                    transaction.set_rollback(True)
            else:
                action()
            measured.seconds.append(time.perf_counter() - started)
        statements = [q for q in queries if q["sql"].split(" ", 1)[0] not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
        measured.queries = len(statements)
        selects = [q for q in statements if q["sql"].startswith("SELECT")]
        measured.slowest = max(selects, key=lambda q: float(q["time"]), default=None)
    return measured


def get(client, url):
    def action():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    return action


def explain(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return "; ".join(row[-1] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + sql)
        names = [column[0] for column in cursor.description]
        return "; ".join(
            f"{row['table']}: {row['type']} key={row['key']} rows={row['rows']} {row['Extra'] or ''}".strip()
            for row in (dict(zip(names, values, strict=True)) for values in cursor.fetchall())
        )


def disk_bytes():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            return os.path.getsize(connection.settings_dict["NAME"])
        cursor.execute(
            "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = %s",
            [connection.settings_dict["NAME"]],
        )
        return int(cursor.fetchone()[0])


def a_followed_title(mangadex, readers):
    """A title on the MangaDex stand-in with up to FOLLOWERS followers, to time its checks."""
    settings.MANGADEX_API_URL = mangadex.api_url
    ref = TitleRef("mangadex", mangadex.add_title(name="Scale Check", chapters=100).dex_id)
    title = import_title(ref).title
    users = get_user_model().objects.filter(username__in=readers[:FOLLOWERS]).values_list("pk", flat=True)
    Follow.objects.bulk_create([Follow(user_id=pk, title=title) for pk in users], batch_size=bulk.BATCH)
    return ref, title


def analyze():
    """MariaDB keeps its tables' statistics current by itself as rows change; bulk inserts just made."""
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f"ANALYZE TABLE `{table}`")
                cursor.fetchall()


def measure_size(name, size, runs, with_plans, say):
    started = time.perf_counter()
    if Title.objects.exists():  # kept from a run with --keep
        readers = [f"reader{r}" for r in range(size.readers)]
        say(f"  {name}: the kept database, {disk_bytes() / 2**20:,.0f} MiB on disk")
    else:
        readers = bulk.build(size, timezone.now(), progress=lambda what: say(f"  {name}: building {what}"))
        analyze()
        say(f"  {name}: built in {time.perf_counter() - started:.0f} s, {disk_bytes() / 2**20:,.0f} MiB on disk")
    results = {}
    staff = Client()
    staff_user = get_user_model().objects.filter(username="scale-staff").first()
    staff.force_login(staff_user or get_user_model().objects.create_superuser("scale-staff", password="x"))
    for label, url in staff_pages(size).items():
        results[label] = ("staff", measure(get(staff, url), runs))
    reader = get_user_model().objects.get(username=readers[0])
    client = Client()
    client.force_login(reader)
    title_id = reader.follows.values_list("title_id", flat=True).first()
    for label, url in reader_pages(title_id, Reader.objects.get(user=reader).feed_token).items():
        results[label] = ("reader", measure(get(client, url), runs))

    def job(job_name):
        job_type = jobs.REGISTRY[job_name]
        return lambda: job_type.run(job_type.default_options, timezone.now())

    results["job roll_up_statistics"] = ("job", measure(job("roll_up_statistics"), runs, rolled_back=True))
    results["job prune_history (one day to delete)"] = ("job", measure(job("prune_history"), runs, rolled_back=True))

    due = Title.objects.order_by("pk").values_list("pk", flat=True)[:DUE]
    CheckSchedule.objects.filter(title_id__in=list(due)).update(next_check_at=timezone.now())
    dispatch_due_checks(limit=1)  # the first keeps the source's state; then the same 100 are due each run
    CheckSchedule.objects.update(claim_token=None, claimed_until=None)
    results[f"dispatch_due_checks ({DUE} due)"] = (
        "job",
        measure(lambda: dispatch_due_checks(limit=DUE), runs, rolled_back=True),
    )

    with MangaDexStandIn() as mangadex:
        ref, title = a_followed_title(mangadex, readers)
        followers = Follow.objects.filter(title=title).count()

        def fresh():
            return Title.objects.select_related("schedule").get(pk=title.pk)

        results["a check, unchanged"] = ("job", measure(lambda: check_title(fresh()), runs))

        def five_new():
            mangadex.add_chapters(ref.source_id, 5)
            check_title(fresh())

        results["a check, 5 new, told to every follower"] = ("job", measure(five_new, runs))
    if with_plans:
        for _, entry in results.values():
            entry.plan = explain(entry.slowest["sql"]) if entry.slowest else ""
    return results, disk_bytes(), followers


def run(sizes, runs, with_plans, keep, say):
    measured = {}
    old_name = connection.settings_dict["NAME"]
    for name in sizes:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(
                Path(tempfile.gettempdir()) / f"batoshelf-scale-{name}.sqlite3"
            )
        else:
            connection.settings_dict["TEST"]["NAME"] = f"batoshelf_scale_{name.lower()}"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep, serialize=False)
        try:
            measured[name] = measure_size(name, bulk.SIZES[name], runs, with_plans, say)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)
    return measured


def seconds(value):
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def print_table(measured, runs, with_plans):
    names = list(measured)
    first, last = names[0], names[-1]
    followers = ", ".join(f"{name} {measured[name][2]:,}" for name in names)
    print(f"\n{connection.vendor}, median of {runs} runs; (n) is SQL statements; growth is {last} / {first}")
    print(f"followers of the checked title: {followers}\n")
    print(f"| operation | {' | '.join(names)} | growth | goal |")
    print(f"|---|{'---|' * len(names)}---|---|")
    for label, (kind, base) in measured[first][0].items():
        cells = " | ".join(f"{seconds(m.median)} ({m.queries})" for m in (measured[n][0][label][1] for n in names))
        growth = measured[last][0][label][1].median / base.median
        goal = f"≤ {seconds(LIMIT[kind])}" if kind in LIMIT else ""
        print(f"| {label} | {cells} | {growth:.1f}× | {goal} |")
    print(f"| on disk | {' | '.join(f'{measured[n][1] / 2**20:,.0f} MiB' for n in names)} | | |")
    if with_plans:
        print(f"\nThe slowest statement of each operation at {last}, and its plan:")
        for label, (_, entry) in measured[last][0].items():
            if entry.slowest:
                print(f"- {label} ({float(entry.slowest['time']) * 1000:.0f} ms): {entry.slowest['sql'][:160]}")
                print(f"    {entry.plan}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(bulk.SIZES), default=["S", "M"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the plan of each operation's slowest statement")
    parser.add_argument("--keep", action="store_true", help="keep each size's database, and use a kept one")
    args = parser.parse_args()
    setup_test_environment()  # the test client's host, and the local-memory mail box
    logging.getLogger("batoshelf.performance").setLevel(logging.WARNING)  # a line per check: not here

    def say(line):
        print(line, file=sys.stderr, flush=True)

    print_table(run(args.sizes, args.runs, args.explain, args.keep, say), args.runs, args.explain)


if __name__ == "__main__":
    main()
