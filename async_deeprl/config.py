"""Every setting of a run, defined once (default, help with units, bounds); flags are made from these.

Counts named *_steps, *_interval and total_frames are global agent steps (one
action of one thread), summed over threads. One agent step is `action_repeat`
emulator frames.
"""

import dataclasses
import os
from typing import Optional

from async_deeprl import agents, environment, replay, settings
from async_deeprl.network import OPTIMIZERS, TORSOS
from async_deeprl.settings import setting

DEFAULT_LR = {"rmsprop": 7e-4, "adam": 1e-4}
DEFAULT_THREADS = {"dqn": 1}  # acting threads when --threads is unset; 8 for the others


class ConfigError(ValueError):
    """A setting the run cannot use; the message is one line naming it and the fix."""


def default_logdir(game):
    """runs/<game> with path separators and colons made safe."""
    return os.path.join("runs", game.replace("/", "_").replace(":", "_"))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (see the module docstring for the units)."""
    algorithm: str = setting(
        "one_step_q", "Agent of the family: one_step_q, one_step_sarsa, n_step_q (the paper's "
        "asynchronous value-based methods), a3c (advantage actor-critic), a3c_lstm (A3C with the "
        "paper's 256-cell LSTM after the last hidden layer) or dqn (one learner with a replay "
        "buffer, the seeds' Pong DQN); a logdir trained with another is refused.",
        choices=agents.NAMES)
    network: str = setting(
        "small", "Torso of the agent's network: 'small' (Conv 16 8x8/4, Conv 32 4x4/2, Dense "
        "256: the async paper's, ~3x fewer multiply-adds), 'nature' (Conv 32 8x8/4, Conv 64 "
        "4x4/2, Conv 64 3x3/1, Dense 512: Nature DQN's, the DQN seeds') or 'universe' (four "
        "Conv 32 3x3/2, ELU, no hidden layer: pytorch-a3c's, for --obs_size 42); a logdir "
        "trained with another is refused.", choices=tuple(TORSOS))
    game: str = setting(
        "SpaceInvaders-v0", "Gymnasium id: SpaceInvaders-v0, PongNoFrameskip-v4, ALE/Breakout-v5, "
        "or module:EnvName-v0 for any env with RGB pixel observations.", alias="env")
    logdir: Optional[str] = setting(
        None, "Directory for checkpoints, TensorBoard events and CSV logs; training resumes from "
        "its latest checkpoint. Unset: runs/<game> ('/' and ':' made '_'); --eval needs it given.",
        shown="`runs/<game>`")
    threads: Optional[int] = setting(
        None, "Learner threads, each with its own environment; at most 64 (one process stops "
        "scaling near 4 cores, and each thread adds an emulator: ~0.4 s to start, ~1 MB). "
        "Unset: 8, or 1 for dqn (one acting thread, as the seeds).", low=1, high=64,
        shown="8 (dqn: 1)")
    total_frames: int = setting(
        80_000_000, "Training length in global agent steps, summed over threads (the blog's "
        "'frames'; emulator frames are action_repeat times more).", low=1)
    action_repeat: int = setting(
        4, "Emulator frames per agent step (id steps with --id_frameskip).", low=1)
    memory_len: int = setting(
        4, "Preprocessed frames stacked into one observation, one per agent step.", low=1)
    obs_size: int = setting(
        84, "Side of the square grayscale frame the network sees, in pixels (the paper's 84; "
        "42 quarters the first convolution's work, as pytorch-a3c's fast Pong agent).",
        low=36, high=210)
    noop_max: int = setting(
        30, "Most random no-ops at the start of an ALE game: single emulator frames (id steps "
        "with --id_frameskip).", low=0)
    sticky_prob: Optional[float] = setting(
        None, "Sticky-action probability per emulator frame (0..1); unset keeps the game id's own "
        "(v0, v5: 0.25; v4: 0).", low=0.0, high=1.0)
    action_set: str = setting(
        "reduced", "'reduced': the 2016 code's [FIRE, RIGHT, LEFT] for SpaceInvaders, Pong, "
        "Breakout (minimal set elsewhere); 'minimal': the game's minimal action set.",
        choices=environment.ACTION_SETS)
    id_frameskip: bool = setting(
        False, "Repeat each action on top of the id's own frameskip (v0: a random 2-4 emulator "
        "frames per id step), as the 2016 code did; slower (Python wrappers hold the GIL).")
    life_loss_terminal: bool = setting(
        True, "In training, a lost life ends the learning episode (no bootstrap) while the game "
        "goes on.")
    gamma: float = setting(0.99, "Discount factor per agent step, in [0, 1].", low=0.0, high=1.0)
    optimizer: str = setting(
        "rmsprop", "'rmsprop': the paper's shared RMSProp (decay 0.99, epsilon 0.1), lr annealed "
        "linearly to 0 at --total_frames; 'adam': the blog's final code, constant --lr.",
        choices=OPTIMIZERS)
    lr: Optional[float] = setting(
        None, "Initial learning rate of each update; unset: 7e-4 for rmsprop (annealed to 0), "
        "1e-4 for adam (constant, the blog's).", above=0.0, shown="7e-4 (rmsprop), 1e-4 (adam)")
    rmsprop_epsilon: float = setting(
        0.1, "rmsprop: the epsilon added to the squared-gradient average inside the square root "
        "(the paper's 0.1; at 0.1 a step is close to plain SGD wherever that average is far "
        "below 0.1; OpenAI baselines' A2C used 1e-5).", above=0.0)
    grad_clip_norm: float = setting(
        40.0, "Global gradient-norm clip of each update (rmsprop); 0: no clipping.", low=0.0)
    tmax: int = setting(
        5, "Transitions per asynchronous update of a thread (fewer at a terminal); for n_step_q "
        "and a3c the longest return, for a3c_lstm also the unroll.", low=1)
    entropy_beta: float = setting(
        0.01, "a3c, a3c_lstm: weight of the policy-entropy bonus in each update (the paper's "
        "beta).",
        low=0.0)
    gae_lambda: float = setting(
        1.0, "a3c, a3c_lstm: lambda of generalized advantage estimation for the policy term "
        "(Schulman et al. 2016); 1: the paper's n-step advantages R_i - V(s_i). The value "
        "target stays the n-step return.", low=0.0, high=1.0)
    value_loss_coef: float = setting(
        0.5, "a3c, a3c_lstm: weight of the value loss (R - V)^2 against the policy loss in each "
        "update.",
        above=0.0)
    eval_policy: str = setting(
        "sample", "a3c, a3c_lstm: how test games and --eval act: 'sample' from the policy (as trained; "
        "the shipped Pong agent scores higher so, docs/results.md) or 'greedy' (its most "
        "probable action); the value-based agents are always greedy.",
        choices=("sample", "greedy"))
    replay_capacity: int = setting(
        100_000, "dqn: transitions the replay buffer holds, one 84x84 frame each (~7 KB): the "
        "seeds' 100,000 take ~0.7 GB, Nature's 1,000,000 ~7.1 GB.", low=16)
    replay_initial: int = setting(
        10_000, "dqn: transitions stored before the first update (again after a resume: the "
        "buffer is not in checkpoints).", low=1)
    batch_size: int = setting(32, "dqn: transitions per minibatch update.", low=1)
    train_freq: int = setting(
        4, "dqn: agent steps of each acting thread between its minibatch updates.", low=1)
    td_loss: str = setting(
        "huber", "dqn: loss of the TD error, 'huber' (DQN's; gradient at most 1) or 'squared'.",
        choices=("huber", "squared"))
    double_q: bool = setting(
        False, "dqn: double-DQN targets (the online network picks the next action, the target "
        "network values it).")
    eps_final: float = setting(
        0.01, "dqn: final exploration rate of every acting thread (the seeds'; the asynchronous "
        "agents draw each thread's from {0.1, 0.01, 0.5}).", low=0.0, high=1.0)
    eps_schedule: str = setting(
        "linear", "How epsilon falls from --eps_start (value-based agents): 'linear' reaches the "
        "final rate at --eps_steps; 'exponential' (the DQN seeds') is final + (start - final) * "
        "exp(-T / --eps_steps).", choices=("linear", "exponential"))
    tf_servers: int = setting(
        2, "Threads that run the learner threads' acting and update calls, each batching the "
        "requests of learner threads waiting at the same moment (each segment is still its own "
        "update); 0: each learner thread calls TensorFlow itself, updating the shared weights "
        "lock-free as in the paper.", low=0)
    xla: bool = setting(
        True, "Compile the agent's acting, update and gradient calls with XLA (TensorFlow's "
        "jit_compile), once per process at start-up: 2-8 CPU-seconds per agent on 2 cores (A3C "
        "LSTM the most). "
        "--noxla runs TensorFlow's graph kernels instead, computing the same numbers "
        "(tests/test_xla.py) and starting sooner: for short runs and tests.")
    workers: int = setting(
        0, "Worker processes on Ray, each running --threads learner threads with its own "
        "environments, all updating one shared model (weights and RMSProp statistics held by a "
        "parameter-holder process); 0: one process, no Ray. Needs pip install -e '.[ray]'; not "
        "for dqn.", low=0, high=64)
    holder_shards: int = setting(
        1, "--workers > 0: processes the shared model is split across, each holding one "
        "contiguous slice of the flat weights and of the optimizer's statistics and applying "
        "that slice of every update (a worker clips each gradient by its global norm before "
        "slicing it); 1: one holder process applies whole updates.", low=1, high=64)
    gradients_per_message: int = setting(
        1, "--workers > 0: segment gradients a worker gathers before sending them to the holder "
        "in one message (applied there one after another, each its own update); its weights "
        "refresh with each message, so it acts up to this many of its own updates behind. 1: "
        "every TF call that finishes a segment sends (the paper's per-segment refresh).",
        low=1, high=64)
    ray_address: Optional[str] = setting(
        None, "--workers > 0: address of a running Ray cluster to join (e.g. 10.0.0.1:6379, or "
        "'auto'); unset: a local Ray instance starts and stops with the run.", shown="local")
    tf_threads: int = setting(
        0, "--workers > 0: TensorFlow intra- and inter-op threads of each worker process and of "
        "the parameter holder; 0: the machine's cores divided by --workers.", low=0)
    update_interval: int = setting(
        40_000, "Target network sync period, in global agent steps (value-based agents).", low=1)
    eps_start: float = setting(
        1.0, "Initial exploration rate of every thread (value-based agents).", low=0.0, high=1.0)
    eps_steps: int = setting(
        4_000_000, "Global agent steps over which epsilon anneals to each thread's minimum "
        "(linear), or its decay constant (--eps_schedule exponential).", low=0)
    seed: Optional[int] = setting(
        None, "Seed for eps_min draws, environments, actions and network initialisation; unset "
        "is random.", shown="random")
    log_interval: int = setting(
        20_000, "Global agent steps between console lines, log rows and checkpoints.", low=1)
    test_interval: int = setting(
        80_000, "Global agent steps between test games on a separate env; 0 disables.", low=0)
    test_games: int = setting(3, "Full games per test.", low=1)
    test_epsilon: float = setting(
        0.0, "Exploration rate during test games.", low=0.0, high=1.0)
    test_max_steps: int = setting(
        27_000, "Agent steps after which a test or eval game is cut (27,000 = 30 min of play at "
        "--action_repeat 4).", low=1)
    overwrite: bool = setting(
        False, "If --logdir holds another game's run, move it aside and start afresh.")
    max_nonfinite_updates: int = setting(
        100, "Consecutive updates skipped for a non-finite loss or gradient that stop the run.",
        low=1)

    def __post_init__(self):
        # Resolve the two defaults that depend on other settings, once, here. (So
        # dataclasses.replace(config, game=...) keeps the resolved logdir: pass logdir too.)
        if self.logdir is None:
            object.__setattr__(self, "logdir", default_logdir(self.game))
        if self.threads is None:
            object.__setattr__(self, "threads", DEFAULT_THREADS.get(self.algorithm, 8))
        if self.lr is None and self.optimizer in DEFAULT_LR:
            object.__setattr__(self, "lr", DEFAULT_LR[self.optimizer])

    @classmethod
    def help(cls, name=None):
        """The help text (with units) of setting `name`, or {name: help text} of every one."""
        texts = {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}
        if name is None:
            return texts
        if name not in texts:
            raise ConfigError(f"unknown setting {name!r}; the settings are {', '.join(texts)}")
        return texts[name]

    def validate(self):
        """Raises ConfigError (one line) for the first setting out of range."""
        try:
            settings.check(self)
        except settings.SettingError as e:
            raise ConfigError(str(e)) from None
        if self.algorithm == "dqn":
            self._check_replay()
            if self.workers:
                raise ConfigError("--workers is for the asynchronous agents; dqn learns from one "
                                  "replay buffer in one process: leave --workers at 0")
        if self.ray_address is not None and not self.workers:
            raise ConfigError("--ray_address needs --workers > 0")
        if self.holder_shards > 1 and not self.workers:
            raise ConfigError("--holder_shards > 1 needs --workers > 0")
        if self.gradients_per_message > 1 and not self.workers:
            raise ConfigError("--gradients_per_message > 1 needs --workers > 0")

    def _check_replay(self):
        """The buffer must give each thread a ring and hold --replay_initial sampleable
        transitions (each stream keeps memory_len of its slots unsampleable)."""
        per_thread = self.replay_capacity // self.threads
        if per_thread < self.memory_len + 2:
            raise ConfigError(
                f"--replay_capacity {self.replay_capacity} gives each of --threads {self.threads} "
                f"{per_thread} slots, fewer than {self.memory_len + 2}; raise --replay_capacity")
        most = per_thread * self.threads - self.threads * self.memory_len
        if self.replay_initial > most:
            raise ConfigError(
                f"--replay_initial {self.replay_initial} is more than the {most} transitions "
                f"--replay_capacity {self.replay_capacity} can offer for sampling; lower "
                "--replay_initial or raise --replay_capacity")
        need, available = self.replay_capacity * replay.BYTES_PER_TRANSITION, replay.available_memory()
        if available is not None and need > available:
            gib = 2 ** 30
            raise ConfigError(
                f"--replay_capacity {self.replay_capacity:,} needs {need / gib:.1f} GiB, more than "
                f"the {available / gib:.1f} GiB of memory available now; lower --replay_capacity "
                f"(1,000,000 transitions take {1e6 * replay.BYTES_PER_TRANSITION / gib:.1f} GiB)")

    def input_shape(self):
        """(height, width, frames) of one observation the network sees."""
        return (self.obs_size, self.obs_size, self.memory_len)

    def env_kwargs(self):
        """Keyword arguments of `environment.make_env` for this run (without the seed)."""
        return dict(action_repeat=self.action_repeat, memory_len=self.memory_len,
                    obs_size=self.obs_size,
                    noop_max=self.noop_max, sticky_prob=self.sticky_prob,
                    action_set=self.action_set, id_frameskip=self.id_frameskip)


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Settings of `--eval` (it also uses --seed and --test_max_steps)."""
    eval: bool = setting(False, "Evaluate the latest checkpoint in --logdir instead of training.")
    eval_iter: int = setting(5, "Full games played by --eval.", low=1)
    eval_epsilon: float = setting(
        0.0, "Exploration rate of --eval (0: greedy, as in 2016).", low=0.0, high=1.0)
    evaldir: Optional[str] = setting(
        None, "Where --eval writes eval.json and game0.gif (or .mp4); must not hold an "
        "eval.json yet. Unset: a new <logdir>/eval/<UTC date-time>.", shown="new `<logdir>/eval/<UTC date-time>`")
    video: bool = setting(
        True, "Write a video of the first --eval game (real-time speed, at most 4,500 agent "
        "steps).")
    video_format: str = setting(
        "gif", "File format of that video: gif, or mp4 (H.264 at x264's default quality, exact "
        "frame timing; about the GIF's size for Atari; encoded by the ffmpeg binary inside the "
        "imageio-ffmpeg wheel).", choices=("gif", "mp4"))


def main():
    """Prints the flag table of docs/flags.md (`python -m async_deeprl.config`)."""
    print(settings.markdown_table(TrainConfig, EvalConfig))


if __name__ == "__main__":
    main()
