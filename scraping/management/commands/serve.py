import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_GRACE_SECONDS = 30


class Command(BaseCommand):
    help = "Run the whole service: daphne (web, admin, WebSocket) and the django-q2 cluster. Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        if not _can_listen(host, port):
            raise CommandError(
                f"{host}:{port} is taken, by another batoshelf or another program: stop it, or choose another "
                f"port (scripts/run --port {port + 1})"
            )
        manage_py = str(settings.BASE_DIR / "manage.py")
        processes = {
            "web": subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "batoshelf.asgi:application"],
                cwd=settings.BASE_DIR,
            ),
            "worker": subprocess.Popen([sys.executable, manage_py, "worker"], cwd=settings.BASE_DIR),
        }
        self.stdout.write(
            f"batoshelf on http://{host}:{port}/ (shelf and notifications; staff: /admin/), "
            "task worker running; Ctrl-C stops"
        )

        stop_requested = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda received, frame: stop_requested.append(received))
        while not stop_requested and all(p.poll() is None for p in processes.values()):
            time.sleep(0.2)

        exited = {name: p.returncode for name, p in processes.items() if p.returncode is not None}
        self._stop(processes)
        if not stop_requested and exited:
            name, code = next(iter(exited.items()))
            raise CommandError(f"the {name} process exited with status {code}; stopped the rest")
        self.stdout.write("stopped")

    def _stop(self, processes):
        """SIGTERM every child still running (a running check may finish), then kill what lingers."""
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"the {name} process did not stop within {STOP_GRACE_SECONDS} s; killing it")
                process.kill()
                process.wait()


def _can_listen(host, port):
    """Whether daphne could listen at host:port now (said before anything starts, not after)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError:
        return False
    return True
