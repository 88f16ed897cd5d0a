"""The Python API: train a run, load a trained agent, act in your own gymnasium loop.

    import async_deeprl
    summary = async_deeprl.train(flagfile="flags/catch.flags", logdir="runs/catch")
    agent = async_deeprl.load("pretrained/PongNoFrameskip-v4-n-step-q")
    env = agent.make_env()
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(agent.act(obs))

`train` is the command line's run (same settings, defaults, checks, errors and logdir);
`load` gives a `TrainedAgent` that knows its algorithm, game, preprocessing and actions.
See docs/api.md.
"""

import csv
import dataclasses
import os
import threading

import gymnasium as gym
import numpy as np

from async_deeprl import settings, tf_logs
from async_deeprl.config import ConfigError, TrainConfig


def train(algorithm=None, game=None, threads=None, logdir=None, *, flagfile=None,
          stop_event=None, **more):
    """Trains (or resumes) a run exactly as `python run_dqn.py` with the same settings does.

    Args:
      algorithm, game, threads, logdir, **more: any field of `TrainConfig` (its defaults
        apply to what is not given; `TrainConfig.help()` lists them with their help texts).
      flagfile: a flagfile (e.g. 'flags/catch.flags') read first; the arguments override it.
      stop_event: a threading.Event that stops the run (checkpoint saved) when set.
    Ctrl-C (a notebook's interrupt) stops it cleanly with a checkpoint, as SIGINT does on the
    command line. Bad settings raise the command line's one-line errors (ConfigError, ...).

    Returns a dict: step (final T), emulator_frames, seconds, agent_steps_per_s, checkpoint,
    logdir, last_test (the last test row's mean and scores, or None).
    """
    logdir = None if logdir is None else os.fspath(logdir)
    flagfile = None if flagfile is None else os.fspath(flagfile)
    given = dict(algorithm=algorithm, game=game, threads=threads, logdir=logdir, **more)
    given = {k: v for k, v in given.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; the settings are the fields of "
                          "async_deeprl.TrainConfig (TrainConfig.help() lists them)")
    config = _config(flagfile, given)
    tf_logs.import_quietly()
    from async_deeprl import training

    summary = training.make_trainer(config, stop_event or threading.Event()).run()
    return dict(step=summary["step"], emulator_frames=summary.get("emulator_frames"),
                seconds=summary["seconds"], agent_steps_per_s=summary["agent_steps_per_s"],
                checkpoint=summary["checkpoint"], logdir=config.logdir,
                last_test=_last_test(config.logdir))


def _config(flagfile, given):
    if flagfile is None:
        return TrainConfig(**given)
    from absl import flags

    try:
        return settings.from_flagfile(TrainConfig, flagfile, **given)
    except flags.Error as e:
        raise ConfigError(f"flagfile {flagfile!r}: {e}") from None


def _last_test(logdir):
    """{'agent_steps', 'mean', 'scores'} of the last row of the run's test.csv, or None."""
    path = os.path.join(logdir, "test.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    row = rows[-1]
    scores = [float(s) for s in row.get("test_scores", "").split()] if row.get("test_scores") else []
    return dict(agent_steps=int(row["agent_steps"]), mean=float(row["test_score_mean"]),
                scores=scores)


def load(path, seed=None):
    """The trained agent of `path` (a training logdir or a pretrained folder), restored from its
    newest intact checkpoint. `seed` seeds the agent's own random draws (`act` with
    deterministic=False), as --eval's --seed does."""
    path = os.fspath(path)
    tf_logs.import_quietly()
    from async_deeprl import environment, evaluation

    description, checkpoint, agent_class = evaluation.check_logdir(path)
    env = _make_pixel_env(environment, description, seed=None, record_rgb=False)
    try:
        model = evaluation.restore_online_model(agent_class, description, checkpoint, env, path)
        num_actions = env.num_actions
    finally:
        env.close()
    return TrainedAgent(path, description, checkpoint, agent_class, model, num_actions, seed)


def _make_pixel_env(environment, description, seed, record_rgb):
    return environment.make_env(description["game"], seed=seed, record_rgb=record_rgb,
                                **description["env"])


class TrainedAgent:
    """A trained agent: its policy on the package's preprocessed observations, and the
    environment with exactly the preprocessing it was trained with."""

    def __init__(self, logdir, description, checkpoint, agent_class, model, num_actions, seed):
        self.logdir, self.checkpoint, self.model = logdir, checkpoint, model
        self.algorithm = agent_class.name
        self.game = description["game"]
        self.env_settings = dict(description["env"])  # action_repeat, memory_len, ...
        self.action_names = list(description.get("action_names") or [])
        self.num_actions = num_actions
        self.observation_shape = tuple(description["input_shape"])
        self._agent_class, self._description = agent_class, description
        self._rng = np.random.default_rng(seed)
        self._policies = {}
        # A recurrent agent's policy carries its LSTM state and can be reset (a3c_lstm).
        self.recurrent = hasattr(self._policy("greedy", 0.0), "reset")

    @staticmethod
    def is_policy_agent(agent_class):
        return "sample" in agent_class.policy_modes

    def __repr__(self):
        return (f"TrainedAgent({self.algorithm} on {self.game}, {self.num_actions} actions "
                f"{self.action_names}, input {self.observation_shape}, "
                f"{os.path.basename(self.checkpoint)})")

    def act(self, observation, state=None, deterministic=True, epsilon=0.0):
        """The action index for one preprocessed observation ((84, 84, memory_len) uint8, as
        `make_env()` returns). deterministic=True: the greedy action (argmax of Q or of the
        policy). False: the agent's --eval policy (a draw from the policy for a3c; greedy for
        the value-based agents), with probability `epsilon` a uniform action instead, using
        the agent's own random draws (seeded by `load(..., seed)`), exactly as --eval does.
        A recurrent agent (a3c_lstm) returns (action, state) instead: pass that state back
        with the next observation, and None at an episode's start (a zero LSTM state); the
        feed-forward agents keep no state, so for them it must be None."""
        mode = "greedy" if deterministic else self._agent_class.policy_modes[0]
        policy = self._policy(mode, epsilon)
        if not self.recurrent:
            if state is not None:
                raise ValueError(f"a {self.algorithm} agent keeps no state between steps; "
                                 "call act(observation) with state=None")
            return policy(self._observation(observation), self._rng, self.num_actions)
        if state is None:
            policy.reset()
        else:
            policy.h, policy.c = (np.asarray(part, np.float32) for part in state)
        action = policy(self._observation(observation), self._rng, self.num_actions)
        return action, (policy.h, policy.c)

    def _policy(self, mode, epsilon):
        key = (mode, float(epsilon))
        if key not in self._policies:
            self._policies[key] = self._agent_class.eval_policy(self.model, epsilon, mode)
        return self._policies[key]

    def _observation(self, observation):
        observation = np.asarray(observation)
        if observation.shape != self.observation_shape or observation.dtype != np.uint8:
            raise ValueError(f"observation of shape {observation.shape} and dtype "
                             f"{observation.dtype}; this agent takes {self.observation_shape} "
                             "uint8, as its make_env() returns")
        return observation

    def q_values(self, observation):
        """The Q-values of a value-based agent for one observation, a [num_actions] array."""
        if self.is_policy_agent(self._agent_class):
            raise ValueError(f"a {self.algorithm} agent has a policy, not Q-values; use "
                             "probabilities(observation)")
        return np.asarray(self.model(self._observation(observation)[None], training=False))[0]

    def probabilities(self, observation, state=None):
        """(action probabilities [num_actions], state value) of a policy agent (a3c; for
        a3c_lstm from the LSTM `state` act returned, None: an episode's start)."""
        if not self.is_policy_agent(self._agent_class):
            raise ValueError(f"a {self.algorithm} agent has Q-values, not a policy; use "
                             "q_values(observation)")
        import tensorflow as tf

        frames = self._observation(observation)[None]
        if self.recurrent:
            cells = self.model.input[1].shape[-1]
            h, c = (np.zeros(cells, np.float32),) * 2 if state is None else state
            logits, value, _, _ = self.model([frames, np.asarray(h, np.float32)[None],
                                              np.asarray(c, np.float32)[None]], training=False)
        else:
            logits, value = self.model(frames, training=False)
        return np.asarray(tf.nn.softmax(logits))[0], float(np.asarray(value).reshape(-1)[0])

    def make_env(self, render_mode=None, seed=None):
        """A gymnasium environment with exactly the agent's training preprocessing (action set,
        action repeat, frame max, grayscale, crop, 84x84, frame stack, no-op starts): its
        observations are what `act` takes. render_mode 'rgb_array' makes `render()` return
        the last RGB screen. `seed` seeds its first game, as `reset(seed=...)` does."""
        from async_deeprl import environment

        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r}: only None and 'rgb_array' are "
                             "supported")
        pixel_env = _make_pixel_env(environment, self._description, seed,
                                    record_rgb=render_mode == "rgb_array")
        return PreprocessedEnv(pixel_env, self.observation_shape, render_mode)

    def evaluate(self, games=5, seed=0, epsilon=0.0, max_steps=27_000, policy=None,
                 evaldir=None, video=False):
        """Plays `games` full games as `--eval` does (same games, scores and summary for the
        same seed); writes eval.json (and a video) only if `evaldir` is given. `policy`: a3c's
        'sample' (its --eval default) or 'greedy'."""
        from async_deeprl import evaluation

        mode = policy or self._agent_class.policy_modes[0]
        return evaluation.evaluate_logdir(self.logdir, evaldir, games, epsilon, max_steps,
                                          seed=seed, video=video and evaldir is not None,
                                          mode=mode)


class PreprocessedEnv(gym.Env):
    """A gymnasium view of the package's environment (`environment.make_env`): observations
    are (84, 84, memory_len) uint8 stacks, actions the agent's action indices, rewards the true
    (unclipped) game rewards; `terminated` at the game's end, `truncated` at its frame limit;
    `info` holds `life_lost`, `episode_score` and the emulator `frame_number`."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, pixel_env, observation_shape, render_mode=None):
        self.pixel_env, self.render_mode = pixel_env, render_mode
        self.action_space = gym.spaces.Discrete(pixel_env.num_actions)
        self.observation_space = gym.spaces.Box(0, 255, tuple(observation_shape), np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.pixel_env.set_seed(seed)
        observation = self.pixel_env.reset()
        return observation, dict(frame_number=self.pixel_env.frame_number)

    def step(self, action):
        result = self.pixel_env.step(int(action))
        info = dict(life_lost=result.life_lost, episode_score=self.pixel_env.episode_score,
                    frame_number=self.pixel_env.frame_number)
        terminated = result.game_over and not result.truncated
        return result.observation, result.reward, terminated, result.truncated, info

    def render(self):
        return self.pixel_env.rgb_frame() if self.render_mode == "rgb_array" else None

    def close(self):
        self.pixel_env.close()
