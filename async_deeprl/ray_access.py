"""Who can reach the Ray processes of a `--workers` run.

Ray runs whatever code a client sends it, so its ports are a way into the machine.
- A local run (no `--ray_address`) keeps every Ray process on the loopback interface. Ray
  binds its gRPC servers (GCS, raylet, worker processes) to 127.0.0.1 only when its node IP is
  127.0.0.1, and picks a loopback node IP on Linux only with
  `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` (the rule it applies by default on Windows and macOS),
  read when `ray` is first imported: `prepare_local` sets it before that import. The run also
  asks for Ray's token authentication (`RAY_AUTH_MODE=token`, Ray's own default for local
  clusters from 2.59 on). A value the user set for either variable is kept.
- A run joining a cluster (`--ray_address host:port`) first checks that something answers
  there and that this process holds a token if the cluster asks for one (`check_cluster`,
  before the logdir is touched), and once joined says whether the cluster refuses a client
  that holds no token (`token_line`).
"""

import ipaddress
import os
import socket
import subprocess
import sys
import time

from async_deeprl.config import ConfigError

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
AUTH_ENV = "RAY_AUTH_MODE"
CONNECT_TIMEOUT_S = 30.0

# One GCS call made with no token, in a child process (the auth mode is process-wide in Ray).
_TOKENLESS_CALL = ("import sys; from ray._raylet import GcsClient; "
                   "GcsClient(address=sys.argv[1]).internal_kv_get(b'async_deeprl', None, "
                   "timeout=10)")


def prepare_local():
    """Before `ray` is imported: a local Ray started by this process listens on 127.0.0.1 only
    and requires its token. Both settings are read when `ray` is imported, so once it is they
    are left alone (setting RAY_AUTH_MODE then would split Ray's processes, which read it at
    start, from this one, which read it at import; Ray 2.59 and later turn the token on for a
    local instance themselves, and `local_line` tells where Ray listens). Returns whether Ray
    was already imported."""
    if "ray" in sys.modules:
        return True
    os.environ.setdefault(LOOPBACK_ENV, "0")
    os.environ.setdefault(AUTH_ENV, "token")
    return False


def is_loopback(host):
    """Whether `host` (an IP address, IPv4-mapped IPv6 included) is on the loopback interface."""
    address = ipaddress.ip_address(host.strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def local_line(node_ip):
    """The line a local run prints about who can reach its Ray processes."""
    where = ("127.0.0.1 only" if is_loopback(node_ip) else
             f"{node_ip} and every other interface ({LOOPBACK_ENV}="
             f"{os.environ.get(LOOPBACK_ENV)}, or ray was imported before the run set it; 0, "
             "set before ray is imported, keeps Ray on loopback)")
    auth = os.environ.get(AUTH_ENV, "")
    token = ("token authentication on" if auth.lower() == "token" else
             f"token authentication OFF ({AUTH_ENV}={auth}): anyone who reaches its ports can run "
             "code as you")
    return f"Ray: a local instance listening on {where}, {token}"


def _host_port(address):
    """(host, port) of a 'host:port' address, or None for 'auto' and other forms."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


def wait_for_cluster(address, timeout=None):
    """Returns once something accepts a TCP connection at `address` ('host:port'); raises
    ConfigError (one line) if nothing does within `timeout` seconds. Other forms ('auto') are
    left to Ray, which fails at once when it finds no cluster."""
    target = _host_port(address)
    if target is None:
        return
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(target, timeout=min(5.0, timeout)):
                return
        except OSError as e:
            reason = e.strerror or type(e).__name__
            if time.monotonic() + 1.0 > deadline:
                raise ConfigError(
                    f"--ray_address {address}: no Ray cluster answered within {timeout:.0f} s "
                    f"({reason}); start one there (ray start --head --port {target[1]}) or "
                    "fix the address") from None
            time.sleep(1.0)


def check_cluster(address, timeout=None):
    """Before joining the cluster at `address`: something answers there (`wait_for_cluster`),
    and if it refuses clients without a token, this process is set to send one; ConfigError
    (one line) otherwise."""
    wait_for_cluster(address, timeout)
    if _host_port(address) is None or os.environ.get(AUTH_ENV, "").lower() == "token":
        return
    if enforces_token(address):
        raise ConfigError(
            f"--ray_address {address}: the cluster refuses clients without its token; run with "
            f"{AUTH_ENV}=token and the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN")


def enforces_token(gcs_address):
    """Whether the Ray cluster whose GCS is at `gcs_address` refuses a client without a token:
    True, False, or None when the probe neither got in nor was refused for its token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_TOKEN")}
    env.update({AUTH_ENV: "disabled", "RAY_AUTH_TOKEN_PATH": os.devnull})
    try:
        result = subprocess.run([sys.executable, "-c", _TOKENLESS_CALL, gcs_address], env=env,
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode == 0:
        return False
    refused = ("Unauthenticated" in result.stderr or "InvalidAuthToken" in result.stderr
               or "AuthenticationError" in result.stderr)
    return True if refused else None


def token_line(gcs_address):
    """The line a run joining the cluster at `gcs_address` prints about its token."""
    enforced = enforces_token(gcs_address)
    if enforced:
        return f"Ray: joined the cluster at {gcs_address}, which refuses clients without its token"
    if enforced is None:
        return (f"Ray: joined the cluster at {gcs_address}; whether it enforces a token could not "
                "be told")
    return (f"Ray: joined the cluster at {gcs_address}, which does NOT enforce a token: anyone who "
            "reaches its ports can run code there (start it with RAY_AUTH_MODE=token, see "
            "docs/distributed.md)")
