"""The log directory of a run: created or checked before anything is written to it."""

import dataclasses
import json
import os
import shutil
import time

from async_deeprl import agents, checkpointing
from async_deeprl.config import ConfigError


def _say(message):
    print(message, flush=True)


# Environment settings added after some runs were written: what those runs had.
ENV_DEFAULTS = {"obs_size": 84}


def run_description(config, env):
    """What run_config.json records: algorithm, network (torso and input), game, actions, env
    and settings (a run_config.json without `network` is of the 'small' network)."""
    return dict(algorithm=config.algorithm, network=config.network, game=config.game,
                num_actions=env.num_actions, action_names=env.action_names,
                input_shape=list(config.input_shape()), env=config.env_kwargs(),
                config=dataclasses.asdict(config))


def prepare_logdir(config, env):
    """Creates or checks `config.logdir`; returns True if it holds a run to resume.

    A logdir that holds a run of another game is refused unless
    `config.overwrite`, in which case the old run is moved aside, not deleted.
    A run of another algorithm, or with other preprocessing, is refused.
    """
    logdir = config.logdir
    try:
        os.makedirs(logdir, exist_ok=True)
        probe = os.path.join(logdir, ".write_test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f"--logdir {logdir!r} is not writable ({e.strerror}); "
                          "choose another --logdir") from None
    previous = checkpointing.read_run_config(logdir)
    if previous is not None:
        if previous.get("game") != config.game or previous.get("num_actions") != env.num_actions:
            if not config.overwrite:
                raise ConfigError(
                    f"--logdir {logdir!r} holds a run of {previous.get('game')!r}, not "
                    f"{config.game!r}; pass --overwrite to move it aside or choose another --logdir")
            aside = f"{logdir.rstrip(os.sep)}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                shutil.move(logdir, aside)
            except OSError as e:
                raise ConfigError(f"--logdir {logdir!r} could not be moved to {aside!r} "
                                  f"({e.strerror}); move it yourself or choose another --logdir") from None
            _say(f"moved the previous run in {logdir} to {aside}")
            os.makedirs(logdir)
            previous = None
    if previous is not None:
        trained = previous.get("algorithm") or agents.DEFAULT
        if trained != config.algorithm:
            raise ConfigError(
                f"--logdir {logdir!r} holds a {trained} run; resume it with --algorithm {trained} "
                "or choose another --logdir")
        trained = previous.get("network", "small")
        if trained != config.network:
            raise ConfigError(
                f"--logdir {logdir!r} holds a run of the {trained!r} network; resume it with "
                f"--network {trained} or choose another --logdir")
        # JSON round trip so that tuples and lists, ints and floats compare alike.
        wanted = json.loads(json.dumps(config.env_kwargs()))
        trained_env = dict(ENV_DEFAULTS, **previous.get("env", {}))
        changed = sorted(k for k in set(wanted) | set(trained_env)
                         if trained_env.get(k) != wanted.get(k))
        if changed:
            was = ", ".join(f"--{k}={trained_env.get(k)}" for k in changed)
            raise ConfigError(
                f"--logdir {logdir!r} was trained with {was}; resume with the same values "
                "(the network was trained on that input) or choose another --logdir")
    if previous is None:
        checkpointing.write_run_config(logdir, run_description(config, env))
    return checkpointing.newest_intact_checkpoint(logdir, _say) is not None
