"""The agents of the family, by `--algorithm` name.

Each agent module defines one `Agent` class implementing `interface.Agent`; the runner and the tools look agents up here
and never branch on their names. Modules are imported on first use, so
reading NAMES (flag definitions, --help) does not load TensorFlow.
"""

import importlib

_MODULES = {
    "one_step_q": "async_deeprl.agents.one_step_q",
    "one_step_sarsa": "async_deeprl.agents.one_step_sarsa",
    "n_step_q": "async_deeprl.agents.n_step_q",
    "a3c": "async_deeprl.agents.a3c",
    "a3c_lstm": "async_deeprl.agents.a3c_lstm",
    "dqn": "async_deeprl.agents.dqn",
}
NAMES = tuple(_MODULES)
# Runs written before the field existed were one-step Q-learning.
DEFAULT = "one_step_q"


class UnknownAgentError(ValueError):
    """An algorithm name no agent answers to; the message is one line."""


def get(name):
    """The Agent class of algorithm `name` (None: the default, for old run descriptions)."""
    name = DEFAULT if name is None else name
    if name not in _MODULES:
        raise UnknownAgentError(f"algorithm {name!r} is not one of {', '.join(NAMES)}")
    return importlib.import_module(_MODULES[name]).Agent
