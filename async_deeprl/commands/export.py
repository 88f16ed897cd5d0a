"""Exports the online network of a training run as a small weights-only run folder.

    python -m async_deeprl.export LOGDIR OUTDIR [--checkpoint PATH]

OUTDIR gets `run_config.json` (the run's description plus where the weights
came from) and `checkpoints/` holding only the online network's weights and
the step T, which is all `run_dqn.py --logdir OUTDIR --eval` needs. Training
cannot resume from it (no target network, no optimizer slots). OUTDIR must
not exist or be empty: nothing is overwritten.
"""

import argparse
import os
import sys

from async_deeprl import tf_logs


class ExportError(ValueError):
    """An export that cannot be done; the message is one line."""


def export_weights(logdir, outdir, checkpoint=None):
    """Writes the online weights of `checkpoint` (default: the latest of `logdir`) to `outdir`.

    Returns the path prefix of the written checkpoint.
    """
    import tensorflow as tf

    from async_deeprl import agents, checkpointing

    description = checkpointing.read_run_config(logdir)
    if description is None:
        raise ExportError(f"{logdir!r} holds no training run (no run_config.json)")
    checkpoint = checkpoint or checkpointing.newest_intact_checkpoint(logdir)
    if checkpoint is None:
        raise ExportError(f"{logdir!r} holds no complete checkpoint")
    if os.path.exists(outdir) and os.listdir(outdir):
        raise ExportError(f"{outdir!r} is not empty; choose a new folder")
    try:
        agent_class = agents.get(description.get("algorithm"))
    except agents.UnknownAgentError as e:
        raise ExportError(f"{logdir}/run_config.json: {e}") from None
    try:
        model = agent_class.build_eval_model(description["num_actions"],
                                             tuple(description["input_shape"]),
                                             description.get("network", "small"))
    except ValueError as e:  # an unknown network name
        raise ExportError(f"{logdir}/run_config.json: {e}") from None
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    frames = tf.Variable(0, dtype=tf.int64, trainable=False)
    source = tf.train.Checkpoint(online=model, step=step, frames=frames)
    try:
        source.restore(checkpoint).assert_existing_objects_matched().expect_partial()
    except Exception as e:  # TF raises many types for damaged or mismatched files.
        reason = checkpointing.error_reason(e)
        raise ExportError(f"checkpoint {checkpoint} cannot be read ({reason})") from None
    os.makedirs(outdir, exist_ok=True)
    description = dict(description, exported_from=dict(
        checkpoint=os.path.basename(checkpoint), step=int(step.numpy()),
        emulator_frames=int(frames.numpy())))
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(online=model, step=step, frames=frames),
        os.path.join(outdir, checkpointing.CHECKPOINT_DIR), max_to_keep=1)
    path = manager.save(checkpoint_number=int(step.numpy()))
    # Written last: a folder without run_config.json is not a run for --eval.
    checkpointing.write_run_config(outdir, description)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", help="the --logdir of a training run")
    parser.add_argument("outdir", help="a new or empty folder for the weights-only run")
    parser.add_argument("--checkpoint", help="checkpoint path prefix (default: the latest)")
    args = parser.parse_args(argv)
    tf_logs.import_quietly()
    from async_deeprl import checkpointing  # imports TensorFlow: after the quiet import

    try:
        path = export_weights(args.logdir, args.outdir, args.checkpoint)
    except (ExportError, checkpointing.CheckpointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(args.outdir) for f in files)
    print(f"wrote {path} ({size / 1e6:.1f} MB in {args.outdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
