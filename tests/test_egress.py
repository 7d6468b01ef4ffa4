"""Channels cannot become a way into the network: the services readers may use are a list, and every
connection a send makes is checked on the address it actually connects to, whatever redirects, second
DNS answers or plugins do; a send is bounded in time. Each bypass found so far is a test here, against
real listeners on loopback that must never be reached."""

import ipaddress
import multiprocessing
import socket
import socketserver
import threading
import time

import pytest

from batoshelf import egress
from notifications import channels
from notifications.channels import ChannelRefused, check_target, send
from tests.standins.webhook import WebHookStandIn

# 127.0.0.2 stands for a public server: the only address the tests' policy lets through.
PUBLIC_STAND_IN = ipaddress.ip_address("127.0.0.2")


@pytest.fixture
def only_127_0_0_2(monkeypatch, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(channels, "target_policy", lambda: lambda address: address == PUBLIC_STAND_IN)


@pytest.fixture
def inside():
    """A listener on 127.0.0.1: this machine, which no channel may reach."""
    with WebHookStandIn(host="127.0.0.1") as server:
        yield server


@pytest.fixture
def outside():
    with WebHookStandIn(host="127.0.0.2") as server:
        yield server


class CountingTCP(socketserver.ThreadingTCPServer):
    """A raw TCP listener that counts who connected (for irc:// and friends)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.connections = 0
        super().__init__(("127.0.0.1", 0), socketserver.BaseRequestHandler)

    def process_request(self, request, client_address):
        self.connections += 1
        request.close()


@pytest.fixture
def raw_listener():
    server = CountingTCP()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_into_the_network_is_refused_where_it_connects(only_127_0_0_2, inside, outside, status):
    outside.redirect = (status, f"{inside.url}/secret")
    # form:// is sent by Apprise, which follows redirects (json:// is ours and follows none).
    problem = send(outside.channel_url().replace("json://", "form://", 1), "t", "b")
    assert problem and "on this machine or a private network" in problem
    assert len(outside.posts()) == 1, "the allowed server was asked"
    assert inside.api_requests() == [], "the redirect's target was never reached, the body never resent"


def test_a_name_that_answers_otherwise_at_send_reaches_nothing(only_127_0_0_2, inside, monkeypatch):
    port = inside._server.server_address[1]
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"])
    real = socket.getaddrinfo

    def changing(host, *args, **kwargs):
        if host == "hook.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", changing)
    url = f"json://hook.example:{port}/hook"
    assert check_target(url), "when saved, it named a public server"
    problem = send(url, "t", "b")
    assert problem and "on this machine or a private network" in problem
    assert inside.api_requests() == []


def test_a_name_that_does_not_resolve_is_refused_not_waved_through(only_127_0_0_2, monkeypatch):
    def failing(*args, **kwargs):
        raise socket.gaierror("no such name")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(ChannelRefused, match="has no address"):
        check_target("json://nowhere.example/hook")


@pytest.mark.parametrize(
    "scheme", ["hassio", "kodi", "xbmc", "enigma2", "notica", "irc", "rsyslog", "syslog", "emby", "jellyfin"]
)
def test_services_that_reach_this_machine_or_raw_ports_are_not_among_those_allowed(settings, scheme):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True  # not even where private targets are allowed
    with pytest.raises(ChannelRefused, match=f"does not send to {scheme}://"):
        check_target(f"{scheme}://127.0.0.1:9200/TOKEN")


def test_staff_may_add_a_service_and_its_connections_are_still_checked(only_127_0_0_2, settings, raw_listener):
    settings.NOTIFY_EXTRA_SCHEMES = ["irc"]
    port = raw_listener.server_address[1]
    with pytest.raises(ChannelRefused, match="on this machine or a private network"):
        check_target(f"irc://batoshelf@127.0.0.1:{port}/#news")
    monkeypatch_free = send(f"irc://batoshelf@127.0.0.2:{port}/#news", "t", "b")
    assert monkeypatch_free  # nothing answers on 127.0.0.2 at that port: not sent
    assert raw_listener.connections == 0


@pytest.mark.parametrize(
    "address, public",
    [
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("100.100.100.200", False),  # a cloud's metadata address there
        ("169.254.169.254", False),
        ("10.1.2.3", False),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast, which Python calls global
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("fe80::1", False),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_only_addresses_anyone_on_the_internet_could_reach_are_public(address, public):
    assert egress.is_public(ipaddress.ip_address(address)) is public


def test_shared_address_space_is_refused_when_the_channel_is_saved(settings, monkeypatch):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("100.100.100.200", 80))]
    )
    with pytest.raises(ChannelRefused, match="private network"):
        check_target("json://metadata.example/latest")


def test_a_send_that_hangs_ends_at_its_deadline_with_its_socket_shut(monkeypatch, settings, outside):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    monkeypatch.setattr(channels, "SEND_DEADLINE", 1)
    outside.hang_seconds = 6
    outside.set_fault("hang")
    problem = send(outside.channel_url(), "t", "b")
    assert problem.startswith("The web hook at ") and problem.endswith(" did not answer within 1 s")


def test_a_forked_worker_still_ends_a_hanging_connection_at_its_deadline(outside):
    """django-q forks its workers from a process that may have guarded a send already (and so started the
    thread that keeps the deadlines): the child needs one of its own."""
    with egress.guarded(5, policy=egress.anywhere):
        pass
    outside.hang_seconds = 6
    outside.set_fault("hang")
    fork = multiprocessing.get_context("fork")
    result = fork.Queue()
    child = fork.Process(target=_hang_in_a_guard, args=(outside._server.server_address[:2], result))
    child.start()
    expired, took = result.get(timeout=15)
    child.join(5)
    assert expired and took < outside.hang_seconds - 1, "the socket was shut at the 1 s deadline, not the answer"


def _hang_in_a_guard(address, result):
    started = time.monotonic()
    with egress.guarded(1, policy=egress.anywhere) as guard:
        try:
            with socket.create_connection(address, timeout=10) as sock:
                sock.sendall(b"GET /hook HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.recv(1)
        except OSError:
            pass
    result.put((guard.expired, time.monotonic() - started))


def test_outside_a_guard_connections_are_untouched(inside):
    with socket.create_connection(inside._server.server_address[:2], timeout=2):
        pass
    with egress.guarded(5, policy=lambda address: False, what="the test"):
        with pytest.raises(egress.BlockedDestination, match="the test's server"):
            socket.create_connection(inside._server.server_address[:2], timeout=2)
        started = []
        thread = threading.Thread(target=lambda: started.append(_try(inside)))
        thread.start()
        thread.join()
    assert started == ["blocked"], "a thread started inside the guard stays in it"


def _try(server):
    try:
        socket.create_connection(server._server.server_address[:2], timeout=2).close()
    except egress.BlockedDestination:
        return "blocked"
    return "connected"
