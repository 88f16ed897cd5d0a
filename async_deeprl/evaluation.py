"""Playing full games with a fixed policy: periodic test games and `--eval`."""

import json
import os

import numpy as np


class EvalError(ValueError):
    """An evaluation that cannot start; the message is one line."""


def play_games(env, policy, num_games, rng, max_steps, on_frame=None, stop=None):
    """Plays `num_games` full games (a lost life does not end one) with `policy`.

    Args:
      env: a `PixelEnv` from `environment.make_env`.
      policy: maps (state, rng, num_actions) to an action index, e.g. `epsilon_greedy`; if it
        has a `reset()` method (a recurrent policy), it is called at each game's start.
      num_games: games to play.
      rng: `numpy.random.Generator` for the policy's random draws.
      max_steps: a game is cut after this many agent steps, so a policy that
        never starts the game still ends.
      on_frame: optional callback(game_index, env) called after reset and after
        every step, e.g. to record video frames.
      stop: optional threading.Event; once set, the current game is cut and
        each remaining game plays one step (the caller discards the results).
    Returns:
      A list of dicts with the true `score`, `steps` (agent steps) and `truncated` (cut at
      `max_steps`, by `stop`, or by the game's own frame limit, e.g. ALE's 108,000).
    """
    results = []
    reset = getattr(policy, "reset", None)  # a recurrent policy forgets the last game
    for game in range(num_games):
        state = env.reset()
        if reset is not None:
            reset()
        if on_frame:
            on_frame(game, env)
        steps, truncated = 0, False
        while True:
            action = policy(state, rng, env.num_actions)
            result = env.step(action)
            steps += 1
            if on_frame:
                on_frame(game, env)
            if result.game_over:
                truncated = result.truncated  # the emulator's frame limit cut it
                break
            if steps >= max_steps or (stop is not None and stop.is_set()):
                truncated = True
                break
            state = result.observation
        results.append(dict(score=env.episode_score, steps=steps, truncated=truncated))
    return results


def summarize(results):
    """Mean, std, min and max of the scores of `play_games` results."""
    scores = np.array([r["score"] for r in results], np.float64)
    return dict(games=len(results), mean=float(scores.mean()), std=float(scores.std()),
                min=float(scores.min()), max=float(scores.max()))


# Frames of game 0 kept for the GIF: 5 minutes of play at action repeat 4, ~450 MB of RGB.
MAX_GIF_FRAMES = 4500


def gif_delays_ms(num_frames, fps):
    """Per-frame GIF delays (ms, whole centiseconds) whose running sum tracks `fps` playback.

    GIF stores delays in centiseconds, so a constant 66.7 ms (15 fps) would play at 60 ms,
    11% fast; rounding the cumulative times instead alternates 60 and 70 ms and keeps every
    frame within 5 ms of its real-time position.
    """
    ends = [round((i + 1) * 100.0 / fps) * 10 for i in range(num_frames)]
    return [end - start for start, end in zip([0] + ends[:-1], ends)]


def write_gif(frames, path, fps=15):
    """Writes RGB uint8 frames as an animated GIF that plays at `fps` frames per second."""
    import imageio.v2 as imageio

    imageio.mimsave(path, frames, duration=gif_delays_ms(len(frames), fps), loop=0)


def write_mp4(frames, path, fps=15):
    """Writes RGB uint8 frames as an H.264 MP4 (yuv420p, which players everywhere accept) at
    `fps` frames per second. The encoder is the ffmpeg binary inside the imageio-ffmpeg wheel;
    an odd height or width is padded with one black row or column, as H.264 needs even sides."""
    import imageio.v2 as imageio

    frames = [np.asarray(f) for f in frames]
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    if height % 2 or width % 2:
        frames = [np.pad(f, pad) for f in frames]
    imageio.mimwrite(path, frames, fps=fps, codec="libx264", pixelformat="yuv420p", quality=None,
                     ffmpeg_params=["-crf", "23"], macro_block_size=1)  # x264's default quality


VIDEO_WRITERS = dict(gif=write_gif, mp4=write_mp4)


def realtime_fps(frame_numbers, frames_per_second=60.0):
    """GIF frame rate that plays recorded agent steps at the emulator's real-time speed.

    `frame_numbers` holds the emulator frame counter at each recorded agent step;
    the rate is 60 emulator frames per second divided by the mean emulator frames
    between recorded steps (4 for the default repeat, ~12.3 with --id_frameskip).
    Returns None when fewer than two steps, or no elapsed frames, were recorded.
    """
    if len(frame_numbers) < 2 or frame_numbers[-1] <= frame_numbers[0]:
        return None
    frames_per_step = (frame_numbers[-1] - frame_numbers[0]) / (len(frame_numbers) - 1)
    return frames_per_second / frames_per_step


def write_json(data, path):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def evaluate_logdir(logdir, evaldir, games, epsilon, max_steps, seed=None, video=True,
                    mode="sample", video_format="gif", given=None):
    """Plays `games` full games with the latest checkpoint of `logdir` and writes the results.

    Reads the game and preprocessing from the logdir's run description, prints
    each score and the mean, and writes `<evaldir>/eval.json` and, if `video`,
    `<evaldir>/game0.<video_format>` ('gif' or 'mp4'; the first game, at most
    MAX_GIF_FRAMES agent steps, real-time speed). `mode` is a policy agent's
    `--eval_policy` ('sample' or 'greedy'); value-based agents act greedily.
    With `evaldir` None nothing is written. Returns the JSON summary. Raises EvalError (one
    line) if
    the logdir or its checkpoint is missing or damaged, or if `evaldir` already
    holds an eval.json or cannot be written, or if `given` (the settings set by flags) sets one
    of RUN_SETTINGS to another value than the run's.
    """
    from async_deeprl import environment

    description, checkpoint, agent_class = check_logdir(logdir, evaldir, given)
    env = environment.make_env(description["game"], seed=seed, record_rgb=video,
                               **description["env"])
    model = restore_online_model(agent_class, description, checkpoint, env, logdir)
    if mode not in agent_class.policy_modes:  # Value-based agents only act greedily.
        mode = agent_class.policy_modes[0]
    policy = agent_class.eval_policy(model, epsilon, mode)
    frames, frame_numbers = [], []

    def record(game_index, env_):
        if (game_index == 0 and video and len(frames) < MAX_GIF_FRAMES
                and env_.rgb_frame() is not None):
            frames.append(np.array(env_.rgb_frame()))
            frame_numbers.append(env_.frame_number)

    results = play_games(env, policy, games, np.random.default_rng(seed), max_steps,
                         on_frame=record)
    env.close()
    for i, r in enumerate(results):
        cut = " (cut at the step limit or the game's frame limit)" if r["truncated"] else ""
        print(f"game {i}: score {r['score']:g}, {r['steps']} agent steps{cut}", flush=True)
    summary = dict(summarize(results), game=description["game"],
                   algorithm=agent_class.name, policy=mode,
                   checkpoint=checkpoint,
                   epsilon=epsilon, max_steps=max_steps, results=results)
    print(f"mean score {summary['mean']:.1f} (std {summary['std']:.1f}, "
          f"min {summary['min']:g}, max {summary['max']:g}) over {games} games", flush=True)
    if evaldir is not None:
        _write_results(summary, evaldir, frames, frame_numbers, description, video_format)
    return summary


# The settings that decide what --eval plays: it takes them from the run, so a flag setting
# one of them to another value than the run's is refused rather than ignored.
RUN_SETTINGS = ("game", "algorithm", "network", "action_repeat", "memory_len", "obs_size",
                "noop_max",
                "sticky_prob", "action_set", "id_frameskip")


def check_given_settings(logdir, description, given):
    """EvalError (one line) if `given` ({setting: value} set by flags) holds a RUN_SETTINGS
    value other than the one the run in `logdir` was trained with."""
    trained = dict(description.get("config") or {}, **(description.get("env") or {}))
    trained.update(game=description.get("game"), algorithm=description.get("algorithm"))
    for name in RUN_SETTINGS:
        if name in given and trained.get(name) is not None and given[name] != trained[name]:
            raise EvalError(f"--{name} {given[name]} conflicts with the run in {logdir!r}, "
                            f"trained with --{name} {trained[name]}; --eval plays a run with "
                            f"the settings it was trained with: drop --{name}")


def check_logdir(logdir, evaldir=None, given=None):
    """(run description, latest complete checkpoint, agent class) of a training logdir, after
    checking that `evaldir` holds no results yet; EvalError (one line) naming the fix if not."""
    from async_deeprl import agents, checkpointing

    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise EvalError(f"--logdir {logdir!r} is a file, not a directory; point --eval at the "
                        "--logdir of a training run")
    if not os.path.isdir(logdir):
        raise EvalError(f"--logdir {logdir!r} does not exist; point --eval at a training logdir")
    description = checkpointing.read_run_config(logdir)
    if description is None:
        raise EvalError(f"--logdir {logdir!r} holds no training run (no run_config.json); "
                        "point --eval at the --logdir of a training run")
    check_given_settings(logdir, description, given or {})
    if evaldir is not None and os.path.exists(os.path.join(evaldir, "eval.json")):
        raise EvalError(f"--evaldir {evaldir!r} already holds eval.json; choose another --evaldir "
                        "(results are never overwritten)")
    checkpoint = checkpointing.newest_intact_checkpoint(logdir)
    if checkpoint is None:
        raise EvalError(f"--logdir {logdir!r} holds no complete checkpoint yet; train longer "
                        "(one is saved every --log_interval steps and at exit)")
    try:
        agent_class = agents.get(description.get("algorithm"))
    except agents.UnknownAgentError as e:
        raise EvalError(f"{logdir}/run_config.json: {e}; update async_deeprl or point --logdir "
                        "at another run") from None
    return description, checkpoint, agent_class


def restore_online_model(agent_class, description, checkpoint, env, logdir):
    """The agent's eval network with the online weights of `checkpoint`; EvalError if the
    network is unknown or the checkpoint does not fit it."""
    import tensorflow as tf

    from async_deeprl import checkpointing

    try:
        model = agent_class.build_eval_model(env.num_actions, tuple(description["input_shape"]),
                                             description.get("network", "small"))
    except ValueError as e:  # an unknown network name
        raise EvalError(f"{logdir}/run_config.json: {e}; update async_deeprl or point --logdir "
                        "at another run") from None
    try:
        # Training checkpoints also hold the target network and optimizer; only the
        # online weights are needed, and every one of them must be in the file.
        tf.train.Checkpoint(online=model).restore(checkpoint).assert_existing_objects_matched(
        ).expect_partial()
    except Exception as e:  # TF raises many types for damaged or mismatched files.
        reason = checkpointing.error_reason(e)
        raise EvalError(f"checkpoint {checkpoint} does not fit a {env.num_actions}-action "
                        f"network for {description['game']} or is damaged ({reason}); "
                        "point --logdir at an intact run of this game") from None
    return model


def _write_results(summary, evaldir, frames, frame_numbers, description, video_format):
    """Writes the video of game 0 (if frames were recorded; adds its path to `summary`), then
    `<evaldir>/eval.json`; EvalError if `evaldir` cannot be created."""
    try:
        os.makedirs(evaldir, exist_ok=True)
    except OSError as e:
        raise EvalError(f"--evaldir {evaldir!r} cannot be created ({e.strerror}); choose another "
                        "--evaldir") from None
    if frames:
        # One recorded frame per agent step; the emulator's frame counter gives the
        # real-time rate, also when --id_frameskip makes the frames per step random.
        fps = realtime_fps(frame_numbers) or 60.0 / description["env"].get("action_repeat", 4)
        path = os.path.join(evaldir, f"game0.{video_format}")
        VIDEO_WRITERS[video_format](frames, path, fps=fps)
        summary["video"] = path
    write_json(summary, os.path.join(evaldir, "eval.json"))
