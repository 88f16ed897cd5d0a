"""Processes and their listening sockets, read from /proc (Linux), for the Ray tests."""

import ipaddress
import os


def listening_sockets():
    """{socket inode: (address, port)} of every listening TCP socket (IPv4 and IPv6), read from
    /proc/net as `ss -ltn` does."""
    found = {}
    for name in ("tcp", "tcp6"):
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


def process_tree(pid):
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


def listening_by_process(pids):
    """{(pid, process name): [(address, port), ...]} of the listening sockets `pids` hold."""
    sockets = listening_sockets()
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


def named(pid, name):
    """The pids in the process tree of `pid` whose command name is `name`."""
    found = []
    for p in process_tree(pid):
        try:
            if open(f"/proc/{p}/comm").read().strip() == name:
                found.append(p)
        except OSError:
            pass
    return found
