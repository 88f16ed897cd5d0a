"""Who can reach a `--workers` run's Ray processes: loopback only and a token for a local run;
a cluster address that does not answer is refused in one line before anything is written."""

import os
import signal
import subprocess
import sys
import time

import pytest

from async_deeprl import ray_access
from async_deeprl.config import ConfigError
from proc_utils import listening_by_process, process_tree

pytest.importorskip("ray")  # the [test] extra installs it; CI always has it

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"


@pytest.mark.slow
def test_a_local_workers_run_listens_on_loopback_only_and_refuses_a_client_without_token(
        tmp_path):
    cmd = [sys.executable, os.path.join(REPO, "run_dqn.py"), "--game", CATCH,
           "--action_repeat", "1", "--threads", "1", "--workers", "1", "--log_interval", "250",
           "--test_interval", "0", "--seed", "0", "--total_frames", "10000000",
           # what listens does not depend on the model: the smallest network keeps it cheap
           "--network", "universe", "--obs_size", "42", "--noxla",
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
        held = listening_by_process(process_tree(proc.pid))
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
