"""The plain-value configuration of a training run, with its checks."""

import dataclasses
from typing import Optional

from async_deeprl import environment, network


class ConfigError(ValueError):
    """A setting the run cannot use; the message is one line naming it and the fix."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of an asynchronous one-step Q-learning run.

    Counts named *_steps, *_interval and total_frames are global agent steps
    (one action of one thread), summed over threads. One agent step is
    `action_repeat` emulator frames.
    """
    game: str = "SpaceInvaders-v0"
    logdir: str = "runs/SpaceInvaders-v0"
    threads: int = 8
    total_frames: int = 80_000_000  # global agent steps (the blog's "frames")
    action_repeat: int = 4  # emulator frames per agent step
    memory_len: int = 4  # frames stacked per observation
    noop_max: int = 30  # most random no-ops at a game's start
    sticky_prob: Optional[float] = None  # None: the game id's own probability
    action_set: str = "reduced"
    id_frameskip: bool = False  # repeat on top of the id's own frameskip (2016 behaviour)
    life_loss_terminal: bool = True  # a lost life ends the learning episode in training
    gamma: float = 0.99
    optimizer: str = "rmsprop"
    lr: float = 7e-4  # initial learning rate, annealed to 0 at total_frames for rmsprop
    grad_clip_norm: float = 40.0
    tmax: int = 5  # transitions per asynchronous update
    tf_servers: int = 2  # threads that batch all TF calls; 0: each learner thread calls TF itself
    update_interval: int = 40_000  # global agent steps between target syncs
    eps_start: float = 1.0
    eps_steps: int = 4_000_000  # global agent steps to anneal epsilon to each eps_min
    seed: Optional[int] = None
    log_interval: int = 20_000  # global agent steps between log rows and checkpoints
    test_interval: int = 80_000  # global agent steps between test games; 0 disables
    test_games: int = 3
    test_epsilon: float = 0.0
    test_max_steps: int = 27_000  # agent steps before a test game is cut
    overwrite: bool = False
    max_nonfinite_updates: int = 100  # consecutive skipped non-finite updates that stop the run

    def validate(self):
        """Raises ConfigError (one line) for the first setting out of range."""
        checks = [
            (self.threads >= 1, f"--threads {self.threads}: must be >= 1"),
            (self.tmax >= 1, f"--tmax {self.tmax}: must be >= 1"),
            (0.0 <= self.gamma <= 1.0, f"--gamma {self.gamma}: must be in [0, 1]"),
            (self.lr > 0, f"--lr {self.lr}: must be > 0"),
            (self.total_frames >= 1, f"--total_frames {self.total_frames}: must be >= 1"),
            (self.action_repeat >= 1, f"--action_repeat {self.action_repeat}: must be >= 1"),
            (self.memory_len >= 1, f"--memory_len {self.memory_len}: must be >= 1"),
            (self.noop_max >= 0, f"--noop_max {self.noop_max}: must be >= 0"),
            (self.update_interval >= 1, f"--update_interval {self.update_interval}: must be >= 1"),
            (self.log_interval >= 1, f"--log_interval {self.log_interval}: must be >= 1"),
            (self.test_interval >= 0, f"--test_interval {self.test_interval}: must be >= 0"),
            (self.eps_steps >= 0, f"--eps_steps {self.eps_steps}: must be >= 0"),
            (0.0 <= self.eps_start <= 1.0, f"--eps_start {self.eps_start}: must be in [0, 1]"),
            (0.0 <= self.test_epsilon <= 1.0, f"--test_epsilon {self.test_epsilon}: must be in [0, 1]"),
            (self.sticky_prob is None or 0.0 <= self.sticky_prob <= 1.0,
             f"--sticky_prob {self.sticky_prob}: must be in [0, 1]"),
            (self.optimizer in network.OPTIMIZERS,
             f"--optimizer {self.optimizer!r}: must be one of {', '.join(network.OPTIMIZERS)}"),
            (self.action_set in environment.ACTION_SETS,
             f"--action_set {self.action_set!r}: must be one of {', '.join(environment.ACTION_SETS)}"),
            (self.tf_servers >= 0, f"--tf_servers {self.tf_servers}: must be >= 0"),
            (self.grad_clip_norm > 0, f"--grad_clip_norm {self.grad_clip_norm}: must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def env_kwargs(self):
        """Keyword arguments of `environment.make_env` for this run (without the seed)."""
        return dict(action_repeat=self.action_repeat, memory_len=self.memory_len,
                    noop_max=self.noop_max, sticky_prob=self.sticky_prob,
                    action_set=self.action_set, id_frameskip=self.id_frameskip)
