"""The place that picks how a run executes: learner threads in this process
(`runner.Trainer`), or with `--workers` worker processes on Ray
(`distributed.DistributedTrainer`). Only this module knows both."""

from async_deeprl import runner
from async_deeprl.config import ConfigError


def make_trainer(config, stop_event=None, show_progress=None):
    """The Trainer of `config`: one process, or with `--workers` worker processes on Ray."""
    if not config.workers:
        return runner.Trainer(config, stop_event, show_progress)
    from async_deeprl import ray_access

    if config.ray_address is None:
        ray_access.prepare_local()  # before Ray is imported: loopback only, token required
    else:
        ray_access.check_cluster(config.ray_address)  # before the logdir is touched
    try:
        from async_deeprl import distributed  # Ray is imported only for --workers.
    except ImportError as e:
        raise ConfigError(f"--workers {config.workers} needs Ray ({e}); install it with "
                          "pip install -e '.[ray]' or leave --workers at 0") from None
    return distributed.DistributedTrainer(config, stop_event, show_progress)


def train(config, stop_event=None):
    """Runs (or resumes) `config.algorithm` as configured; returns a summary."""
    return make_trainer(config, stop_event).run()
