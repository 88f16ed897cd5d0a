"""Train or evaluate an asynchronous agent of the family on an Atari game (or any RGB pixel env).

Train:    python run_dqn.py --game SpaceInvaders-v0 --threads 8 [--algorithm n_step_q]
Evaluate: python run_dqn.py --logdir DIR --eval
Configs:  python run_dqn.py --flagfile flags/spaceinvaders_blog.flags

Every flag is a field of `config.TrainConfig` or `config.EvalConfig`, which
hold its default, help text and bounds.
"""

import os
import sys
import time

from absl import app

from async_deeprl import settings, tf_logs
from async_deeprl.config import ConfigError, EvalConfig, TrainConfig

# --help lists them under the script, as absl names the main module.
_MODULE = sys.argv[0] if __name__ == "__main__" else __name__
TRAIN_FLAGS = settings.define_flags(TrainConfig, _MODULE)
EVAL_FLAGS = settings.define_flags(EvalConfig, _MODULE)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    # Settings out of range fail before TensorFlow is imported (a few seconds on a CPU).
    try:
        if not settings.from_flags(EvalConfig, EVAL_FLAGS).eval:
            settings.from_flags(TrainConfig, TRAIN_FLAGS).validate()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    # Imported here so that --help and flag errors do not pay for TensorFlow.
    tf_logs.import_quietly()  # TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's start-up lines.
    from async_deeprl import agents, checkpointing, environment, evaluation, faults, metrics
    from async_deeprl import backend, training
    from async_deeprl import config as config_lib

    try:
        eval_config = settings.from_flags(EvalConfig, EVAL_FLAGS)
        if eval_config.eval:
            logdir = TRAIN_FLAGS["logdir"].value
            if logdir is None:
                raise evaluation.EvalError("--eval needs --logdir DIR, the directory of a training run")
            evaldir = eval_config.evaldir or os.path.join(
                logdir, "eval", time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
            evaluation.evaluate_logdir(
                logdir, evaldir, eval_config.eval_iter, eval_config.eval_epsilon,
                TRAIN_FLAGS["test_max_steps"].value, seed=TRAIN_FLAGS["seed"].value,
                video=eval_config.video, mode=TRAIN_FLAGS["eval_policy"].value,
                video_format=eval_config.video_format,
                given={name: holder.value for name, holder in TRAIN_FLAGS.items()
                       if holder.present and name in evaluation.RUN_SETTINGS})
            return 0
        training.train(settings.from_flags(TrainConfig, TRAIN_FLAGS))
        return 0
    except (config_lib.ConfigError, environment.EnvError, evaluation.EvalError,
            checkpointing.CheckpointError, metrics.LogError, backend.NumericsError,
            agents.UnknownAgentError, faults.WriteError, faults.ProcessLost) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    app.run(main)
