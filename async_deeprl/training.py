"""The place that picks how a run executes: learner threads in this process
(`threads_backend.ThreadBackend`), or with `--workers` worker processes on Ray
(`distributed.backend.RayBackend`), both under one `runner.Trainer`. Only this module knows
both."""

from async_deeprl import runner
from async_deeprl.config import ConfigError


def make_trainer(config, stop_event=None, show_progress=None):
    """The Trainer of `config`: one process, or with `--workers` worker processes on Ray."""
    if not config.workers:
        from async_deeprl.threads_backend import ThreadBackend

        return runner.Trainer(config, stop_event, show_progress, make_backend=ThreadBackend)
    from async_deeprl import ray_access

    if config.ray_address is None:
        ray_access.prepare_local()  # before Ray is imported: loopback only, token required
    else:
        ray_access.check_cluster(config.ray_address)  # before the logdir is touched
    try:
        from async_deeprl.distributed.backend import RayBackend  # Ray only for --workers
    except ImportError as e:
        raise ConfigError(f"--workers {config.workers} needs Ray ({e}); install it with "
                          "pip install -e '.[ray]' or leave --workers at 0") from None
    return runner.Trainer(config, stop_event, show_progress, make_backend=RayBackend)


def train(config, stop_event=None):
    """Runs (or resumes) `config.algorithm` as configured; returns a summary."""
    return make_trainer(config, stop_event).run()
