"""The agent interface: every member the runner, the `--workers` processes, `--eval` and export
call on an agent, each with its one-line contract. `base.Agent` implements the compiled calls;
each agent module implements the rest. Instantiating an agent that lacks one raises TypeError."""

import abc


class Agent(abc.ABC):
    """One agent of the family; built as `Agent(num_actions, input_shape, config)`."""

    name = None  # the --algorithm name
    uses_target_network = False  # True: the runner calls `sync_target` every update_interval
    policy_modes = ("greedy",)  # how test games may act; the first is the default

    # Compiled TF calls, made at construction (`base.Agent` compiles them from the agent's parts):
    # act(*batch) -> acting outputs (a tuple of arrays, one row per state) of a batch of inputs;
    # update(*update_args, learning_rate) -> the `update_stats` values, after applying one
    #   segment's update to the shared weights;
    # gradients(*update_args, learning_rate) -> (stats, gradients), nothing applied (workers);
    # apply_gradients(gradients, learning_rate): applies them with the shared optimizer.

    # What the learner threads call ------------------------------------------------------------
    @abc.abstractmethod
    def update_args(self, segment, next_state):
        """The arguments of `update` (without the learning rate) for one finished segment."""

    @abc.abstractmethod
    def player(self, index, rng):
        """Learner thread `index`'s player: `acting_input`, `act`, `observe`, `take_update`,
        `drain_stats` (see `base.SegmentPlayer`)."""

    # What the runner calls around them --------------------------------------------------------
    @property
    @abc.abstractmethod
    def update_stats(self):
        """Names of the numbers `update` returns, the loss first."""

    @property
    @abc.abstractmethod
    def log_columns(self):
        """Names of the agent's own train.csv columns (filled by `log_values` and the players)."""

    @abc.abstractmethod
    def log_values(self, step):
        """{column: value} of the agent's own columns at global step `step`."""

    @abc.abstractmethod
    def console(self, row):
        """The agent's part of a console line, from a train.csv row."""

    @abc.abstractmethod
    def warm_up(self, batch_sizes, update=True):
        """Compiles `act` for each acting batch size and, if `update`, `update`; changes no
        weight. (A worker process computes gradients instead of updating: it skips `update`.)"""

    @abc.abstractmethod
    def sync_target(self):
        """Copies the online weights to the target network (no-op without one)."""

    @abc.abstractmethod
    def checkpoint_items(self):
        """{name: trackable} of everything a checkpoint of this agent holds."""

    @abc.abstractmethod
    def prepare_threads(self, threads, rng, restored):
        """Chooses per-thread settings (e.g. eps_min) for `threads` threads; returns lines to
        print."""

    @abc.abstractmethod
    def test_policy(self, epsilon):
        """A policy(state, rng, num_actions) -> action for test games, on the live weights."""

    # What the `--workers` processes call ------------------------------------------------------
    @abc.abstractmethod
    def shared_models(self):
        """{name: Keras model} of the weights the workers act with."""

    @abc.abstractmethod
    def get_weights(self):
        """{name: list of arrays} of `shared_models()`."""

    @abc.abstractmethod
    def set_weights(self, weights):
        """Loads what `get_weights` returned (any subset of the names)."""

    @abc.abstractmethod
    def thread_settings(self):
        """What `prepare_threads` chose per thread, picklable for other processes."""

    @abc.abstractmethod
    def set_thread_settings(self, settings):
        """Adopts another process's `thread_settings()` instead of `prepare_threads`."""

    # What `--eval`, export and the Python API call on the class -------------------------------
    @staticmethod
    @abc.abstractmethod
    def build_eval_model(num_actions, input_shape, torso="small"):
        """The trained network alone (the online model), for restoring a checkpoint's weights."""

    @staticmethod
    @abc.abstractmethod
    def eval_policy(model, epsilon, mode="greedy"):
        """A policy(state, rng, num_actions) -> action on `model`, acting as `mode` says."""
