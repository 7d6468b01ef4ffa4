"""Where batoshelf's own connections may go, checked on the address actually connected to, and how long
they may take.

`guarded()` is a context in which every TCP connect, UDP send and socket a thread started inside it
makes are checked by a policy (by default: only globally routable addresses) when the socket is
connected, not when a URL was saved or a name looked up once: a redirect, a second DNS answer and a
plugin that opens its own sockets all meet the same check. It also bounds the whole of it in time: at
the deadline every socket opened inside is shut down, so a peer that sends a byte a second cannot hold
a worker, and the blocked read ends at once.

Outside `guarded()` nothing changes: the database, Redis and the sources' configured hosts connect as
they always did. The context travels by a ContextVar, which Apprise's thread pool copies into its
workers and which threads started inside are given.
"""

import heapq
import ipaddress
import itertools
import os
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from contextvars import Context, ContextVar, copy_context
from dataclasses import dataclass, field

# Carrier-grade NAT space, where clouds put metadata services (100.100.100.200): not global, not "private".
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class BlockedDestination(ConnectionRefusedError):
    """A connection the policy refuses: an OSError, so every client library fails the way it fails on a
    refused connection, and says why."""


class DeadlinePassed(TimeoutError):
    """The guarded work took longer than its deadline; its sockets were shut."""


def is_public(address):
    """Whether `address` (an ipaddress object) is one anyone on the internet could reach: never this
    machine, a private or shared network, link-local (cloud metadata), multicast or reserved space, nor an
    IPv6 form that wraps such an IPv4 address (mapped, NAT64, 6to4, Teredo)."""
    if address.version == 6:
        wrapped = address.ipv4_mapped or (address.sixtofour if address.sixtofour else None)
        if address.teredo:
            wrapped = address.teredo[1]
        if any(address in network for network in _NAT64):
            wrapped = ipaddress.ip_address(int(address) & 0xFFFFFFFF)
        if wrapped is not None and not is_public(wrapped):
            return False
    if address.is_multicast or address.is_unspecified or address.is_reserved or address.is_loopback:
        return False
    if address.version == 4 and address in _SHARED:
        return False
    return address.is_global and not address.is_link_local


def anywhere(address):
    """A policy that lets every address through (the deadline still holds)."""
    return True


@dataclass
class Guard:
    policy: object  # address -> bool
    deadline: float  # time.monotonic() at which every socket is shut
    what: str  # what is guarded, for the messages: "the channel", "the source"
    sockets: list = field(default_factory=list)
    refusals: list = field(default_factory=list)  # why connections were refused, for the caller to say
    expired: bool = False
    ended: bool = False  # the guarded block is over: nothing left to shut at the deadline

    def track(self, sock):
        if not any(known is sock for known in self.sockets):
            self.sockets.append(sock)
        if self.expired:
            _shut(sock)

    def expire(self):
        self.expired = True
        for sock in list(self.sockets):
            _shut(sock)


_guard: ContextVar[Guard | None] = ContextVar("batoshelf_egress_guard", default=None)


class _Watchdog:
    """One thread that expires guards at their deadlines: a timer thread per guard would cost a channel
    send a fifth of its CPU. Started on first use in each process (a forked worker starts its own)."""

    def __init__(self):
        self._due = []  # (deadline, sequence, guard), a heap
        self._sequence = itertools.count()
        self._woken = threading.Condition()
        self._started = False

    def watch(self, guard):
        with self._woken:
            heapq.heappush(self._due, (guard.deadline, next(self._sequence), guard))
            if not self._started:
                self._started = True
                thread = threading.Thread(target=self._run, name="egress-deadlines", daemon=True)
                Context().run(thread.start)  # outside any guard: it makes no connections of its own
            if self._due[0][2] is guard:  # the soonest now: the thread sleeps until a later one
                self._woken.notify()

    def _run(self):
        with self._woken:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][0] <= now or self._due[0][2].ended):
                    guard = heapq.heappop(self._due)[2]
                    if not guard.ended:
                        guard.expire()
                self._woken.wait(self._due[0][0] - now if self._due else None)


_watchdog = _Watchdog()
# A forked child has no such thread, and its copy of the lock may have been held at the fork: all anew.
os.register_at_fork(after_in_child=_watchdog.__init__)
_install_lock = threading.Lock()
_installed = False


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _address_of(address, family, kind):
    """The (host, port, ...) to connect to, checked by the policy in force; a name is resolved here, once,
    and the connection pinned to an address that passed."""
    guard = _guard.get()
    if guard is None:
        return address
    try:
        return _checked(guard, address, family, kind)
    except BlockedDestination as refused:
        guard.refusals.append(str(refused))
        raise


def _checked(guard, address, family, kind):
    if guard.expired or time.monotonic() >= guard.deadline:
        raise DeadlinePassed(f"{guard.what} took longer than it may")
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise BlockedDestination(f"{guard.what} may not use local sockets")
    host, port = address[0], address[1]
    try:
        ipaddress.ip_address(host.split("%")[0])
        candidates = [(host, address)]
    except ValueError:  # a name: looked up here, once
        try:
            answers = socket.getaddrinfo(host, port, family, kind)
        except socket.gaierror:
            raise BlockedDestination(f"{guard.what}'s server {host} has no address") from None
        candidates = [(info[4][0], info[4]) for info in answers]
    for ip_text, resolved in candidates:
        if guard.policy(ipaddress.ip_address(ip_text.split("%")[0])):
            return resolved
    raise BlockedDestination(
        f"{guard.what}'s server ({host}) is on this machine or a private network, which it may not reach"
    )


def install():
    """Check every socket's connections from now on (a no-op outside `guarded()`). Idempotent."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original = {
            name: getattr(socket.socket, name)
            for name in ("connect", "connect_ex", "sendto", "sendmsg", "send", "sendall")
        }

        def connect(self, address):
            checked = _address_of(address, self.family, self.type)
            guard = _guard.get()
            if guard is not None:
                guard.track(self)
            return original["connect"](self, checked)

        def connect_ex(self, address):
            checked = _address_of(address, self.family, self.type)
            guard = _guard.get()
            if guard is not None:
                guard.track(self)
            return original["connect_ex"](self, checked)

        def sendto(self, data, *rest):
            *flags, address = rest
            return original["sendto"](self, data, *flags, _address_of(address, self.family, self.type))

        def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
            if address is not None:
                address = _address_of(address, self.family, self.type)
                return original["sendmsg"](self, buffers, ancdata, flags, address)
            return original["sendmsg"](self, buffers, ancdata, flags)

        def tracked(kind, name):
            # A connection kept from before (a session's pool) is bounded too, from its first send in here.
            sending = getattr(kind, name)

            def send(self, *args, **kwargs):
                guard = _guard.get()
                if guard is not None:
                    guard.track(self)
                return sending(self, *args, **kwargs)

            return send

        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        for kind in (socket.socket, ssl.SSLSocket):
            kind.send = tracked(kind, "send")
            kind.sendall = tracked(kind, "sendall")
        socket.socket.sendto = sendto
        socket.socket.sendmsg = sendmsg

        start = threading.Thread.start

        def start_in_context(self):
            # A thread started inside a guard stays in it (a plugin's own thread cannot step outside).
            if _guard.get() is not None:
                context, run = copy_context(), self.run
                self.run = lambda: context.run(run)
            return start(self)

        threading.Thread.start = start_in_context
        _installed = True


@contextmanager
def guarded(seconds, *, policy=is_public, what="the connection"):
    """Run the block with every connection checked by `policy` and all of it bounded to `seconds`:
    then its sockets are shut, and DeadlinePassed tells the caller it ran out of time."""
    install()
    guard = Guard(policy=policy, deadline=time.monotonic() + seconds, what=what)
    _watchdog.watch(guard)
    token = _guard.set(guard)
    try:
        yield guard
    finally:
        guard.ended = True
        _guard.reset(token)
        for sock in guard.sockets:
            # Sockets left open by a plugin that gave up: close them, the thread that holds one sees why.
            if guard.expired:
                _shut(sock)
