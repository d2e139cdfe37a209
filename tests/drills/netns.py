"""Separate hosts on this machine for a drill: network namespaces joined by veth pairs to one bridge.

Each host is a network namespace (``ip netns``) with its own address on a /24 of its own, whose
other end of the veth pair is a port of a bridge in the root namespace; the bridge holds the
gateway address. A process started on a host sees only that host's network: its loopback is its
own, so the machine's PostgreSQL and Redis (listening on 127.0.0.1 only) are out of its reach.
They are reached the way a separate host reaches a database server, over the network: a TCP relay
(``socat``) in the root namespace listens on the gateway address and forwards each connection to
the service's 127.0.0.1 port. The services themselves are not reconfigured; the drill only adds
the relays, and everything it made (relays, processes on its hosts, namespaces, veth pairs, the
bridge) is gone when ``Network.destroy`` returns, whatever happened before.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.drills.servers import wait_for_port


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


def can_make_hosts() -> str | None:
    """Why this machine cannot make namespaced hosts (not root, no ``ip`` or ``socat``), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "socat"):
        if not shutil.which(tool):
            return f"{tool} is not installed (Debian packages iproute2, socat)"
    return None


class Host:
    """One namespace with one address; every process started on it can be killed at once."""

    def __init__(self, namespace: str, address: str):
        self.namespace = namespace
        self.address = address
        # The prefix that runs a command on this host (``ip netns exec`` enters the namespace, then execs it).
        self.enter = ("ip", "netns", "exec", namespace)

    def popen(self, command: list[str], log: Path, **kwargs) -> subprocess.Popen:
        """``command`` on this host, its output appended to ``log``."""
        out = open(log, "ab")  # noqa: SIM115 - closed with the process by the caller
        process = subprocess.Popen([*self.enter, *command], stdout=out, stderr=subprocess.STDOUT, **kwargs)
        process.log = out
        return process

    def pids(self) -> set[int]:
        done = subprocess.run(["ip", "netns", "pids", self.namespace], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"ip netns pids {self.namespace} failed: {done.stderr.strip()}")
        return {int(pid) for pid in done.stdout.split()}

    def kill_everything(self) -> int:
        """SIGKILL every process of this host, as when the machine loses power; returns how many. Repeated
        until the host has none left (a process may be starting while the list is read)."""
        killed: set[int] = set()
        deadline = time.monotonic() + 10
        while (alive := self.pids() - {pid for pid in killed if _is_zombie(pid)}) and time.monotonic() < deadline:
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed |= alive
            time.sleep(0.05)
        return len(killed)


def _is_zombie(pid: int) -> bool:
    """Killed but not yet reaped by its parent (this test process): dead, though still listed."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


class Network:
    """A bridge, its hosts and the relays from the gateway address to services of this machine."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.bridge = f"efbr{tag}"
        self.prefix = f"10.213.{random.randint(1, 254)}"
        self.gateway = f"{self.prefix}.1"
        self.hosts: list[Host] = []
        self.relays: list[subprocess.Popen] = []
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_host(self, name: str) -> Host:
        n = len(self.hosts) + 2
        host = Host(f"ef-{self.tag}-{name}", f"{self.prefix}.{n}")
        outside, inside = f"efv{self.tag}{n}", f"efp{self.tag}{n}"
        ip("netns", "add", host.namespace)
        self.hosts.append(host)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", host.namespace)
        ip("link", "set", outside, "master", self.bridge, "up")
        for args in (
            ("addr", "add", f"{host.address}/24", "dev", inside),
            ("link", "set", inside, "up"),
            ("link", "set", "lo", "up"),
        ):
            ip("-n", host.namespace, *args)
        return host

    def relay(self, port: int, log: Path) -> str:
        """``gateway:port`` forwarding every connection to ``127.0.0.1:port``; returns that address."""
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [
                    "socat",
                    f"TCP-LISTEN:{port},bind={self.gateway},fork,reuseaddr,backlog=512",
                    f"TCP:127.0.0.1:{port},nodelay",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.relays.append(process)
        wait_for_port(port, 10, what="socat relay", host=self.gateway)
        return f"{self.gateway}:{port}"

    def destroy(self) -> None:
        for host in self.hosts:
            host.kill_everything()
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)
        for relay in self.relays:
            # The relay forks a child per connection, all in its session: end them with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(relay.pid, signal.SIGKILL)
            relay.wait(10)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
