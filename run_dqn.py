"""Train or evaluate asynchronous one-step Q-learning on an Atari game (or any RGB pixel env).

Train:    python run_dqn.py --game SpaceInvaders-v0 --threads 8
Evaluate: python run_dqn.py --logdir DIR --eval
Configs:  python run_dqn.py --flagfile flags/spaceinvaders_blog.flags
"""

import os
import sys
import time

from absl import app
from absl import flags
from absl import logging

_GAME = flags.DEFINE_string(
    "game", "SpaceInvaders-v0",
    "Gymnasium id: SpaceInvaders-v0, PongNoFrameskip-v4, ALE/Breakout-v5, or module:EnvName-v0 "
    "for any env with RGB pixel observations.")
flags.DEFINE_alias("env", "game")
_LOGDIR = flags.DEFINE_string(
    "logdir", None, "Directory for checkpoints, TensorBoard events and CSV logs "
    "(default: runs/<game>). Training resumes from its latest checkpoint.")
_EVAL = flags.DEFINE_bool("eval", False, "Evaluate the latest checkpoint in --logdir instead of training.")
_THREADS = flags.DEFINE_integer("threads", 8, "Learner threads, each with its own environment.")
_TOTAL_FRAMES = flags.DEFINE_integer(
    "total_frames", 80_000_000,
    "Training length in global agent steps, summed over threads (the blog's 'frames'; "
    "emulator frames are action_repeat times more).")
_ACTION_REPEAT = flags.DEFINE_integer(
    "action_repeat", 4, "Emulator frames per agent step (id steps with --id_frameskip).")
_MEMORY_LEN = flags.DEFINE_integer("memory_len", 4, "Frames stacked into one observation.")
_NOOP_MAX = flags.DEFINE_integer("noop_max", 30, "Most random no-ops at the start of an ALE game: single emulator frames (id steps with --id_frameskip).")
_STICKY_PROB = flags.DEFINE_float(
    "sticky_prob", None, "Sticky-action probability (0..1); unset keeps the game id's own "
    "(v0, v5: 0.25; v4: 0).")
_ACTION_SET = flags.DEFINE_enum(
    "action_set", "reduced", ["reduced", "minimal"],
    "'reduced': the 2016 code's [FIRE, RIGHT, LEFT] for SpaceInvaders, Pong, Breakout "
    "(minimal set elsewhere); 'minimal': the game's minimal action set.")
_ID_FRAMESKIP = flags.DEFINE_bool(
    "id_frameskip", False, "Repeat each action on top of the id's own frameskip (v0: a random 2-4 "
    "emulator frames per id step), as the 2016 code did; slower (Python wrappers hold the GIL).")
_LIFE_LOSS_TERMINAL = flags.DEFINE_bool(
    "life_loss_terminal", True, "In training, a lost life ends the learning episode (no bootstrap) "
    "while the game goes on.")
_GAMMA = flags.DEFINE_float("gamma", 0.99, "Discount factor, in [0, 1].")
_OPTIMIZER = flags.DEFINE_enum(
    "optimizer", "rmsprop", ["rmsprop", "adam"],
    "'rmsprop': the paper's shared RMSProp (decay 0.99, epsilon 0.1), lr annealed linearly to 0 "
    "at --total_frames; 'adam': the blog's final code, constant --lr.")
_LR = flags.DEFINE_float(
    "lr", None, "Initial learning rate of each update; unset: 7e-4 for rmsprop (annealed to 0), "
    "1e-4 for adam (constant, the blog's).")
_GRAD_CLIP = flags.DEFINE_float("grad_clip_norm", 40.0, "Global gradient-norm clip of each update (rmsprop).")
_TMAX = flags.DEFINE_integer("tmax", 5, "Transitions per asynchronous update (fewer at a terminal).")
_TF_SERVERS = flags.DEFINE_integer(
    "tf_servers", 2, "Threads that run the learner threads' acting and update calls, each batching "
    "the requests of learner threads waiting at the same moment (each segment is still its own update); 0: each learner "
    "thread calls TensorFlow itself, updating the shared weights lock-free as in the paper.")
_UPDATE_INTERVAL = flags.DEFINE_integer(
    "update_interval", 40_000, "Target network sync period, in global agent steps.")
_EPS_START = flags.DEFINE_float("eps_start", 1.0, "Initial exploration rate of every thread.")
_EPS_STEPS = flags.DEFINE_integer(
    "eps_steps", 4_000_000, "Global agent steps over which epsilon anneals to each thread's minimum.")
_SEED = flags.DEFINE_integer(
    "seed", None,
    "Seed for eps_min draws, environments, actions and network initialisation; unset is random.")
_LOG_INTERVAL = flags.DEFINE_integer(
    "log_interval", 20_000, "Global agent steps between console lines, log rows and checkpoints.")
_TEST_INTERVAL = flags.DEFINE_integer(
    "test_interval", 80_000, "Global agent steps between test games on a separate env; 0 disables.")
_TEST_GAMES = flags.DEFINE_integer("test_games", 3, "Full games per test.")
_TEST_EPSILON = flags.DEFINE_float("test_epsilon", 0.0, "Exploration rate during test games.")
_TEST_MAX_STEPS = flags.DEFINE_integer(
    "test_max_steps", 27_000, "Agent steps after which a test or eval game is cut (27,000 = 30 min of play at --action_repeat 4).")
_OVERWRITE = flags.DEFINE_bool(
    "overwrite", False, "If --logdir holds another game's run, move it aside and start afresh.")
_EVAL_ITER = flags.DEFINE_integer("eval_iter", 5, "Full games played by --eval.")
_EVAL_EPSILON = flags.DEFINE_float("eval_epsilon", 0.0, "Exploration rate of --eval (0: greedy, as in 2016).")
_EVALDIR = flags.DEFINE_string("evaldir", None, "Where --eval writes eval.json and game0.gif; must not hold an eval.json yet (default: a new <logdir>/eval/<UTC date-time>).")
_VIDEO = flags.DEFINE_bool("video", True, "Write a GIF of the first --eval game.")

for _holder, _low in ((_THREADS, 1), (_TMAX, 1), (_TOTAL_FRAMES, 1), (_ACTION_REPEAT, 1),
                      (_MEMORY_LEN, 1), (_UPDATE_INTERVAL, 1), (_LOG_INTERVAL, 1), (_EVAL_ITER, 1),
                      (_TEST_GAMES, 1), (_TEST_MAX_STEPS, 1), (_NOOP_MAX, 0), (_EPS_STEPS, 0),
                      (_TEST_INTERVAL, 0), (_TF_SERVERS, 0)):
    flags.register_validator(_holder, lambda v, low=_low: v >= low,
                             message=f"--{_holder.name} must be >= {_low}")
for _holder in (_GAMMA, _EPS_START, _TEST_EPSILON, _EVAL_EPSILON):
    flags.register_validator(_holder, lambda v: 0.0 <= v <= 1.0,
                             message=f"--{_holder.name} must be in [0, 1]")
flags.register_validator(_STICKY_PROB, lambda v: v is None or 0.0 <= v <= 1.0,
                         message="--sticky_prob must be in [0, 1]")
flags.register_validator(_LR, lambda v: v is None or v > 0, message="--lr must be > 0")
DEFAULT_LR = {"rmsprop": 7e-4, "adam": 1e-4}
flags.register_validator(_GRAD_CLIP, lambda v: v > 0, message="--grad_clip_norm must be > 0")


def default_logdir(game):
    """runs/<game> with path separators and colons made safe."""
    return os.path.join("runs", game.replace("/", "_").replace(":", "_"))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)  # Progress goes to stdout; TF's INFO lines are noise.
    # Imported here so that --help and flag errors do not pay for TensorFlow.
    from async_deeprl import checkpointing, environment, evaluation, metrics, runner
    from async_deeprl import config as config_lib

    logdir = _LOGDIR.value or default_logdir(_GAME.value)
    try:
        if _EVAL.value:
            if _LOGDIR.value is None:
                raise evaluation.EvalError("--eval needs --logdir DIR, the directory of a training run")
            evaluation.evaluate_logdir(
                logdir, _EVALDIR.value or os.path.join(logdir, "eval", time.strftime("%Y%m%d-%H%M%S", time.gmtime())), _EVAL_ITER.value,
                _EVAL_EPSILON.value, _TEST_MAX_STEPS.value, seed=_SEED.value, video=_VIDEO.value)
            return 0
        config = config_lib.TrainConfig(
            game=_GAME.value, logdir=logdir, threads=_THREADS.value,
            total_frames=_TOTAL_FRAMES.value, action_repeat=_ACTION_REPEAT.value,
            memory_len=_MEMORY_LEN.value, noop_max=_NOOP_MAX.value, sticky_prob=_STICKY_PROB.value,
            action_set=_ACTION_SET.value, id_frameskip=_ID_FRAMESKIP.value,
            life_loss_terminal=_LIFE_LOSS_TERMINAL.value, gamma=_GAMMA.value,
            optimizer=_OPTIMIZER.value, lr=_LR.value or DEFAULT_LR[_OPTIMIZER.value], grad_clip_norm=_GRAD_CLIP.value,
            tmax=_TMAX.value, tf_servers=_TF_SERVERS.value, update_interval=_UPDATE_INTERVAL.value, eps_start=_EPS_START.value,
            eps_steps=_EPS_STEPS.value, seed=_SEED.value, log_interval=_LOG_INTERVAL.value,
            test_interval=_TEST_INTERVAL.value, test_games=_TEST_GAMES.value,
            test_epsilon=_TEST_EPSILON.value, test_max_steps=_TEST_MAX_STEPS.value,
            overwrite=_OVERWRITE.value)
        runner.train(config)
        return 0
    except (config_lib.ConfigError, environment.EnvError, evaluation.EvalError,
            checkpointing.CheckpointError, metrics.LogError, runner.NumericsError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    app.run(main)
