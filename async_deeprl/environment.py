"""The one environment factory: a gymnasium id in, the agent's 84x84xK uint8 view out.

Two backends share one observation contract (see `make_env`):
- ALE games run in ale-py's `AtariVectorEnv` with one sub-environment, whose
  C++ step (action repeat, max-pool, grayscale) releases the GIL, so learner
  threads step their emulators in parallel; crop and resize run in cv2, which
  releases the GIL too.
- Any other gymnasium env with RGB pixel observations (and ALE ids when the
  id's own frameskip is asked for) runs through plain `gymnasium.make`, with
  the same steps done in Python.
"""

import importlib
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from async_deeprl import preprocessing

# The 2016 code played these games with actions [FIRE, RIGHT, LEFT] (indices 1, 2, 3
# of the minimal set; its comment called index 1 NOOP, which it is not).
REDUCED_ACTION_SETS = {
    "space_invaders": ("FIRE", "RIGHT", "LEFT"),
    "pong": ("FIRE", "RIGHT", "LEFT"),
    "breakout": ("FIRE", "RIGHT", "LEFT"),
}
ACTION_SETS = ("reduced", "minimal")
_ALE_ENTRY_POINT = "ale_py.env:AtariEnv"


class EnvError(ValueError):
    """A game id or environment the agent cannot use; the message is one line."""


class StepResult(NamedTuple):
    """What one agent step returns."""
    observation: np.ndarray  # (84, 84, memory_len) uint8, newest frame last.
    reward: float  # True game reward summed over the repeated frames (unclipped).
    life_lost: bool  # A life was lost during this step and the game goes on.
    game_over: bool  # The game ended (or hit its frame limit); call reset().
    truncated: bool = False  # game_over came from the frame limit, not from the game's end.


def resolve_game(game_id):
    """Returns (gymnasium EnvSpec, ALE ROM name or None) for a gymnasium id.

    Accepts legacy ALE ids ('SpaceInvaders-v0'), 'XNoFrameskip-v4', 'ALE/X-v5'
    and 'module:EnvName-v0'. Raises EnvError with one line if the id is unknown.
    """
    import ale_py

    gym.register_envs(ale_py)
    env_name = game_id
    if ":" in game_id:
        module, env_name = game_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise EnvError(f"--game {game_id!r}: cannot import module {module!r} ({e})") from None
    try:
        spec = gym.spec(env_name)
    except gym.error.Error as e:
        first_line = str(e).splitlines()[0]
        raise EnvError(
            f"--game {game_id!r} is not a registered gymnasium id ({first_line}); "
            "try e.g. SpaceInvaders-v0, PongNoFrameskip-v4 or ALE/Breakout-v5") from None
    rom = spec.kwargs.get("game") if spec.entry_point == _ALE_ENTRY_POINT else None
    return spec, rom


def make_env(game, *, action_repeat=4, memory_len=4, noop_max=30, sticky_prob=None,
             action_set="reduced", id_frameskip=False, seed=None, record_rgb=False,
             obs_size=preprocessing.OBS_SIZE):
    """Builds the environment the agent sees.

    Steps, in order, applied to every agent step:
      1. The action index is mapped to an emulator action: for SpaceInvaders,
         Pong and Breakout with action_set='reduced' the 2016 set
         [FIRE, RIGHT, LEFT]; otherwise the game's minimal action set.
      2. Action repeat: the action is played for `action_repeat` emulator
         frames (ALE runs with frameskip 1 underneath, so the repeat is exact)
         and the rewards are summed. Sticky actions keep the id's probability
         (v0 and v5: 0.25, v4: 0) unless `sticky_prob` is given.
         With `id_frameskip=True` each repeat is one step of the id's own
         frameskip instead (v0: a random 2-4 frames), as the 2016 code did.
      3. Pixel-wise max of the last two frames of the repeat.
      4. Grayscale (luminance).
      5. Crop: SpaceInvaders drops its bottom 15 rows; other ALE games keep
         rows 36:-15; non-ALE envs keep the whole frame.
      6. Resize to obs_size x obs_size (84 unless given) with cv2 INTER_AREA, stored as uint8.
      7. Stack of the last `memory_len` frames -> (obs_size, obs_size, memory_len) uint8,
         newest last; on reset every slot holds the first frame.
    On reset of an ALE game, up to `noop_max` random no-op actions are played
    first. A lost life is reported (`StepResult.life_lost`) but the game goes
    on; the trainer, not the env, decides that it ends a learning episode.
    The true game score is accumulated in `episode_score`; emulator frames
    since creation in `frame_number`.

    Args:
      game: gymnasium id (see `resolve_game`).
      action_repeat: agent actions last this many emulator frames (or id steps).
      memory_len: frames stacked into one observation.
      noop_max: most random no-ops at the start of an ALE game.
      sticky_prob: repeat-action probability; None keeps the id's.
      action_set: 'reduced' (2016 sets where defined) or 'minimal'.
      id_frameskip: use the id's own frameskip for each repeat (ALE only).
      seed: seeds the emulator and the no-op draws; None is random.
      record_rgb: keep the last RGB frame for videos (`rgb_frame()`).
      obs_size: side of the square frames the network sees, in pixels.
    Raises:
      EnvError: unknown id, non-pixel observations or non-discrete actions.
    """
    if action_set not in ACTION_SETS:
        raise EnvError(f"action set {action_set!r} is not one of {ACTION_SETS}")
    spec, rom = resolve_game(game)
    common = dict(action_repeat=action_repeat, memory_len=memory_len,
                  action_set=action_set, seed=seed, obs_size=obs_size)
    if rom is not None and not id_frameskip:
        sticky = spec.kwargs.get("repeat_action_probability", 0.0) if sticky_prob is None else sticky_prob
        return AleVectorEnv(spec, rom, noop_max=noop_max, sticky_prob=sticky,
                            record_rgb=record_rgb, **common)
    return GymPixelEnv(spec, rom, noop_max=noop_max, sticky_prob=sticky_prob, **common)


class PixelEnv:
    """Shared bookkeeping of both backends: frame stack, scores, lives, actions."""

    def __init__(self, game_id, rom, action_names_all, action_set, memory_len, obs_size):
        self.game_id = game_id
        self.rom = rom
        wanted = REDUCED_ACTION_SETS.get(rom) if action_set == "reduced" else None
        if wanted is None:
            self._action_ids = list(range(len(action_names_all)))
        else:
            self._action_ids = [action_names_all.index(name) for name in wanted]
        self.action_names = [action_names_all[i] for i in self._action_ids]
        self.num_actions = len(self._action_ids)
        self._crop_rows = preprocessing.crop_rows_for(rom)
        self._obs_size = obs_size
        self._stack = preprocessing.FrameStack(memory_len, obs_size)
        self.frame_number = 0
        self.episode_score = 0.0
        self.episode_steps = 0
        self._lives = 0

    def _process(self, frame):
        gray = preprocessing.to_gray(frame)
        return preprocessing.crop_and_resize(gray, self._crop_rows, self._obs_size)

    def _start_episode(self, frame, lives):
        self.episode_score = 0.0
        self.episode_steps = 0
        self._lives = lives
        return self._stack.reset(self._process(frame))

    def _finish_step(self, frame, reward, lives, game_over, truncated=False):
        self.episode_score += reward
        self.episode_steps += 1
        life_lost = (not game_over) and lives < self._lives
        self._lives = lives
        return StepResult(self._stack.push(self._process(frame)), float(reward),
                          bool(life_lost), bool(game_over), bool(game_over and truncated))

    def set_seed(self, seed):
        """Seeds the next reset (emulator and no-op draws) with `seed`."""
        self._seed = seed

    def rgb_frame(self):
        """The last RGB screen (before preprocessing), or None if not recorded."""
        return None

    def close(self):
        pass


class AleVectorEnv(PixelEnv):
    """An ALE game in `AtariVectorEnv(num_envs=1)`: the emulator step releases the GIL."""

    def __init__(self, spec, rom, *, action_repeat, memory_len, noop_max, sticky_prob,
                 action_set, seed, record_rgb, obs_size):
        from ale_py.vector_env import AtariVectorEnv

        self._env = AtariVectorEnv(
            rom, 1, img_height=210, img_width=160, grayscale=not record_rgb, stack_num=1,
            frameskip=action_repeat, maxpool=True, noop_max=noop_max, episodic_life=False,
            reward_clipping=False, use_fire_reset=False,
            repeat_action_probability=float(sticky_prob), full_action_space=False,
            max_num_frames_per_episode=spec.kwargs.get("max_num_frames_per_episode", 108_000),
            num_threads=1)
        names = [a.name for a in self._env.ale.get_action_set()]
        super().__init__(spec.id, rom, names, action_set, memory_len, obs_size)
        self.sticky_prob = float(sticky_prob)
        self._seed = seed
        self._record_rgb = record_rgb
        self._last_rgb = None
        self._action = np.zeros(1, np.int32)

    def _frame(self, obs):
        frame = obs[0, 0]
        if self._record_rgb:
            self._last_rgb = frame
        return frame

    def reset(self):
        """Starts a new game and returns the first stacked observation."""
        seed, self._seed = self._seed, None  # Seed only the first game; later ones continue the RNG.
        obs, info = self._env.reset(seed=seed)
        self.frame_number = int(info["frame_number"][0])
        return self._start_episode(self._frame(obs), int(info["lives"][0]))

    def step(self, action):
        """Plays agent action index `action` for the repeat; see `make_env`."""
        self._action[0] = self._action_ids[action]
        obs, reward, terminated, truncated, info = self._env.step(self._action)
        self.frame_number = int(info["frame_number"][0])
        game_over = bool(terminated[0] or truncated[0])
        return self._finish_step(self._frame(obs), float(reward[0]), int(info["lives"][0]),
                                 game_over, bool(truncated[0] and not terminated[0]))

    def rgb_frame(self):
        return self._last_rgb

    def close(self):
        self._env.close()


class GymPixelEnv(PixelEnv):
    """Any gymnasium env with HxWx3 uint8 observations, preprocessed in Python."""

    def __init__(self, spec, rom, *, action_repeat, memory_len, noop_max, sticky_prob,
                 action_set, seed, obs_size):
        kwargs = {}
        if rom is not None and sticky_prob is not None:
            kwargs["repeat_action_probability"] = float(sticky_prob)
        self._env = gym.make(spec.id, **kwargs)
        space = self._env.observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8
                and len(space.shape) == 3 and space.shape[2] == 3):
            self._env.close()
            raise EnvError(f"--game {spec.id!r} has observations of shape {getattr(space, 'shape', None)} "
                           f"and dtype {getattr(space, 'dtype', None)}; "
                           "an RGB pixel space (uint8, HxWx3) is needed")
        if not isinstance(self._env.action_space, gym.spaces.Discrete):
            self._env.close()
            raise EnvError(f"--game {spec.id!r} has action space {self._env.action_space}; "
                           "a Discrete action space is needed")
        unwrapped = self._env.unwrapped
        if hasattr(unwrapped, "get_action_meanings"):
            names = list(unwrapped.get_action_meanings())
        else:
            names = [str(i) for i in range(self._env.action_space.n)]
        super().__init__(spec.id, rom, names, action_set, memory_len, obs_size)
        ale = getattr(unwrapped, "ale", None)
        self.sticky_prob = ale.getFloat("repeat_action_probability") if ale is not None else None
        self._repeat = action_repeat
        self._noop_max = noop_max if rom is not None else 0
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        self._last_rgb = None

    def _count_frames(self, info):
        if "frame_number" in info:
            self.frame_number = int(info["frame_number"])
        else:
            self.frame_number += 1

    def reset(self):
        """Starts a new game (with random no-ops for ALE) and returns the first observation."""
        seed, self._seed = self._seed, None
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        obs, info = self._env.reset(seed=seed)
        self._count_frames(info)
        for _ in range(int(self._rng.integers(0, self._noop_max + 1))):
            obs, _, terminated, truncated, info = self._env.step(0)
            self._count_frames(info)
            if terminated or truncated:
                obs, info = self._env.reset()
        self._last_rgb = obs
        return self._start_episode(obs, int(info.get("lives", 0)))

    def step(self, action):
        """Plays agent action index `action` for the repeat; see `make_env`."""
        raw_action = self._action_ids[action]
        total, previous, game_over, cut = 0.0, None, False, False
        for _ in range(self._repeat):
            previous = self._last_rgb
            obs, reward, terminated, truncated, info = self._env.step(raw_action)
            self._count_frames(info)
            self._last_rgb = obs
            total += float(reward)
            if terminated or truncated:
                game_over, cut = True, bool(truncated and not terminated)
                break
        frame = obs if previous is None or self._repeat == 1 else np.maximum(previous, obs)
        return self._finish_step(frame, total, int(info.get("lives", 0)), game_over, cut)

    def rgb_frame(self):
        return self._last_rgb

    def close(self):
        self._env.close()
