"""The highest training speed this machine allows for one-step Q's work per agent step.

    python -m async_deeprl.ceiling --threads 8 --seconds 10 [--action_repeat 12 | --id_frameskip]

Whatever the implementation, every agent step of asynchronous one-step Q-learning
needs (a) one env step, (b) the target network's max at the new state (the
bootstrap) and the online Q-values there (the greedy choice), and (c) its share of
a forward and backward pass through the online network plus the optimizer's
apply (one apply per `tmax` transitions). This script times each part in its
cheapest form on this machine, all in one run:

  env:   env-only agent steps/s of `--threads` threads (both cores busy);
  act:   online + target forward of a large batch (`--act_batch` states, one
         XLA call), per state: the best any batching of the acting calls gets;
  learn: one update over `--learn_batch` transitions in a single XLA call (one
         summed gradient, one apply), per transition: a lower bound on the real
         per-segment updates, which do the same arithmetic in smaller calls and
         apply once per `tmax` transitions.

and reports ceiling = 1 / (1/env + act + learn), the agent steps/s reached if
env and TensorFlow shared the cores perfectly and every call ran at its
large-batch efficiency. A real trainer is below it.
"""

import json
import os
import time

import numpy as np
from absl import app, flags

from async_deeprl import tf_logs

_GAME = flags.DEFINE_string("game", "SpaceInvaders-v0", "Gymnasium id whose env is timed.")
_THREADS = flags.DEFINE_integer("threads", 8, "Env threads of the env-only phase.")
_SECONDS = flags.DEFINE_float("seconds", 10.0, "Measured seconds per phase.")
_ACT_BATCH = flags.DEFINE_integer("act_batch", 64, "States per acting call (online + target forward).")
_LEARN_BATCH = flags.DEFINE_integer("learn_batch", 40, "Transitions in the one timed update call.")
_ACTION_REPEAT = flags.DEFINE_integer("action_repeat", 4, "Emulator frames per agent step of the timed env.")
_ID_FRAMESKIP = flags.DEFINE_bool("id_frameskip", False, "Time the env that repeats on top of the id's own random frameskip (2016 behaviour).")
_OUT = flags.DEFINE_string("out", "", "Path of a JSON file for the results ('' for none).")


def _time_per_call(fn, seconds):
    fn()  # compile / warm up
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def measure(game, threads, seconds, act_batch, learn_batch, action_repeat=4, id_frameskip=False):
    """Times env, acting and learning as the module docstring says; returns a dict."""
    from async_deeprl import agents, environment
    from async_deeprl.commands import env_timing
    from async_deeprl.agents.base import Segment
    from async_deeprl.config import TrainConfig

    env_kwargs = dict(action_repeat=action_repeat, id_frameskip=id_frameskip)
    env_rate = env_timing.env_only_steps_per_s(game, threads, seconds, warmup=2.0, **env_kwargs)
    env = environment.make_env(game, seed=0, **env_kwargs)
    num_actions, frames_per_step = env.num_actions, env_timing.mean_frames_per_step(env)
    env.close()
    # One-step Q-learning's calls: acting returns online and target Q-values.
    agent = agents.get("one_step_q")(num_actions, (84, 84, 4), TrainConfig(tmax=learn_batch))
    rng = np.random.default_rng(0)
    states = rng.integers(0, 256, (max(act_batch, learn_batch), 84, 84, 4), dtype=np.uint8)
    act_states = states[:act_batch]
    segment = Segment()
    for i in range(learn_batch):
        segment.add(states[i], int(rng.integers(num_actions)), float(rng.random()), False)
    learn = agent.update_args(segment, states[0]) + (np.float32(1e-6),)
    act_call = _time_per_call(lambda: [t.numpy() for t in agent.act(act_states)], seconds)
    learn_call = _time_per_call(lambda: agent.update(*learn).numpy(), seconds)
    act, per_learn = act_call / act_batch, learn_call / learn_batch
    return dict(game=game, threads=threads, cpu=env_timing.cpu_name(), cores=os.cpu_count(),
                action_repeat=action_repeat, id_frameskip=id_frameskip,
                emulator_frames_per_step=frames_per_step, env_steps_per_s=env_rate, act_ms_per_step=1e3 * act,
                learn_ms_per_step=1e3 * per_learn, act_batch=act_batch, learn_batch=learn_batch,
                ceiling_steps_per_s=env_timing.ceiling_steps_per_s(env_rate, act, per_learn))


def main(argv):
    del argv
    tf_logs.import_quietly()
    result = measure(_GAME.value, _THREADS.value, _SECONDS.value, _ACT_BATCH.value,
                     _LEARN_BATCH.value, _ACTION_REPEAT.value, _ID_FRAMESKIP.value)
    print(f"{result['cpu']}, {result['cores']} cores, {result['game']}, "
          f"{result['emulator_frames_per_step']:.1f} emulator frames per agent step")
    print(f"env only, {result['threads']} threads: {result['env_steps_per_s']:,.0f} agent steps/s "
          f"({1e3 / result['env_steps_per_s']:.3f} ms/step)")
    print(f"acting, batch {result['act_batch']}: {result['act_ms_per_step']:.3f} ms/step")
    print(f"learning, one update of {result['learn_batch']}: {result['learn_ms_per_step']:.3f} ms/step")
    print(f"ceiling: {result['ceiling_steps_per_s']:,.0f} agent steps/s "
          f"(ratio to env-only {result['ceiling_steps_per_s'] / result['env_steps_per_s']:.2f}); "
          f"3M agent steps take at least {3e6 / result['ceiling_steps_per_s'] / 3600:.2f} h")
    if _OUT.value:
        with open(_OUT.value, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    app.run(main)
