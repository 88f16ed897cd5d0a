"""One learner thread's loop, the same in the single process and in each worker process.

The thread owns one environment and one player of the agent; it claims each
global step before taking it, steps the environment, hands the transition to
the player and sends one request per step through the dispatcher ("apply my
finished segment, then give me the acting outputs of my next state").
"""

import time

import numpy as np


class LearnerLoop:
    """What a learner thread needs besides its environment and player.

    counter: `value` and `claim(limit)` (global steps; None when the run is done);
    dispatcher: `request(state, update)`; stats: a `metrics.IntervalStats`;
    stop: a threading.Event; on_step(step): called for each claimed step before
    the environment steps (the target sync), or None; check_finite(loss): raises
    to stop the run after too many skipped updates.
    """

    def __init__(self, config, counter, dispatcher, stats, stop, on_step, check_finite):
        self.config, self.counter, self.dispatcher = config, counter, dispatcher
        self.stats, self.stop, self.on_step, self.check_finite = stats, stop, on_step, check_finite

    def run(self, env, player, update_stats, times):
        """Plays and learns until the counter is done or `stop` is set.

        `update_stats`: the agent's names of the numbers an update returns;
        `times`: [env seconds, seconds waiting for TF], added to in place.
        """
        cfg, counter, stats = self.config, self.counter, self.stats
        clock = time.perf_counter
        state = env.reset()
        outputs, _ = self.dispatcher.request(player.acting_input(state), None)
        while not self.stop.is_set():
            action = player.act(outputs, counter.value)
            step = counter.claim(cfg.total_frames)
            if step is None:
                break
            t0 = clock()
            if self.on_step is not None:
                self.on_step(step)
            result = env.step(action)
            terminal = result.game_over or (cfg.life_loss_terminal and result.life_lost)
            player.observe(state, action, min(max(result.reward, -1.0), 1.0), terminal)
            if result.game_over:
                stats.add_episode(env.episode_score, env.episode_steps)
                state = env.reset()
            else:
                state = result.observation
            t1 = clock()
            update = player.take_update(state)
            outputs, returned = self.dispatcher.request(player.acting_input(state), update)
            if update is not None:
                stats.add_sums(player.drain_stats())
                stats.add_update(update_stats, returned)
                self.check_finite(returned[0])
            times[0] += t1 - t0
            times[1] += clock() - t1


class FiniteCheck:
    """Counts consecutive skipped (non-finite) updates; too many raise `error_class`."""

    def __init__(self, limit, counter, lock, error_class):
        self._limit, self._counter, self._lock, self._error = limit, counter, lock, error_class
        self._streak = 0

    def __call__(self, loss):
        with self._lock:
            self._streak = 0 if np.isfinite(loss) else self._streak + 1
            streak = self._streak
        if streak >= self._limit:
            raise self._error(
                f"{streak} updates in a row had a non-finite loss or gradient and were skipped "
                f"(at T={self._counter.value}); lower --lr or check the game's rewards")
