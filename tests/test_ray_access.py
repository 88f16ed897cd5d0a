"""Who can reach a `--workers` run's Ray processes: loopback only and a token for a local run;
a cluster address that does not answer is refused in one line before anything is written."""

import ipaddress
import os
import signal
import subprocess
import sys
import time

import pytest

from async_deeprl import ray_access
from async_deeprl.config import ConfigError

pytest.importorskip("ray")  # the [test] extra installs it; CI always has it

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"


def _listening_sockets():
    """{socket inode: 'address:port'} of every listening TCP socket (IPv4 and IPv6), read from
    /proc/net as `ss -ltn` does."""
    found = {}
    for name, width in (("tcp", 8), ("tcp6", 32)):
        with open(f"/proc/net/{name}") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A":  # LISTEN
                    continue
                hex_ip, hex_port = local.split(":")
                raw = bytes.fromhex(hex_ip)
                # /proc/net writes each 32-bit word of the address in host (little-endian) order.
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found[inode] = (str(ipaddress.ip_address(raw)), int(hex_port, 16))
    return found


def _process_tree(pid):
    """`pid` and all its descendants (from /proc/<pid>/task/*/children)."""
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return tree


def _listening_by_process(pids):
    """{(pid, process name): [(address, port), ...]} of the listening sockets `pids` hold."""
    sockets = _listening_sockets()
    held = {}
    for pid in pids:
        try:
            name = open(f"/proc/{pid}/comm").read().strip()
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            inode = target[len("socket:["):-1] if target.startswith("socket:[") else None
            if inode in sockets:
                held.setdefault((pid, name), []).append(sockets[inode])
    return held


def test_a_local_workers_run_listens_on_loopback_only_and_refuses_a_client_without_token(
        tmp_path):
    cmd = [sys.executable, os.path.join(REPO, "run_dqn.py"), "--game", CATCH,
           "--action_repeat", "1", "--threads", "1", "--workers", "1", "--log_interval", "500",
           "--test_interval", "0", "--seed", "0", "--total_frames", "10000000",
           "--logdir", str(tmp_path / "run")]
    env = {k: v for k, v in os.environ.items()
           if k not in (ray_access.LOOPBACK_ENV, ray_access.AUTH_ENV)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(env, PYTHONUNBUFFERED="1"), start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:  # The first log row: the holder and the worker are training.
            lines.append(line)
            if " frames=" in line:
                break
        assert any(" frames=" in line for line in lines), "".join(lines)
        held = _listening_by_process(_process_tree(proc.pid))
        names = {name for _, name in held}
        print(held)
        assert "gcs_server" in names and "raylet" in names, held
        assert any(name.startswith("ray::") for name in names), held  # holder and worker
        outside = {key: addrs for key, addrs in held.items()
                   if not all(ray_access.is_loopback(host) for host, _ in addrs)}
        assert not outside, outside
        said = [line for line in lines if line.startswith("Ray: ")]
        assert said == ["Ray: a local instance listening on 127.0.0.1 only, token "
                        "authentication on\n"], "".join(lines)
        gcs_port = next(port for (pid, name), addrs in held.items() if name == "gcs_server"
                        for _, port in addrs)
        assert ray_access.enforces_token(f"127.0.0.1:{gcs_port}") is True
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_loopback_addresses():
    assert ray_access.is_loopback("127.0.0.1") and ray_access.is_loopback("127.3.0.1")
    assert ray_access.is_loopback("::1") and ray_access.is_loopback("[::ffff:127.0.0.1]")
    assert not ray_access.is_loopback("0.0.0.0") and not ray_access.is_loopback("::")
    assert not ray_access.is_loopback("192.0.2.2")


def test_a_cluster_address_that_does_not_answer_is_refused_in_one_line():
    start = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        ray_access.wait_for_cluster("127.0.0.1:1", timeout=2)
    assert time.monotonic() - start < 10
    message = str(raised.value)
    assert message.startswith("--ray_address 127.0.0.1:1: no Ray cluster answered within 2 s")
    assert "ray start --head --port 1" in message and "\n" not in message
    ray_access.wait_for_cluster("auto", timeout=0)  # left to Ray, which says so itself
