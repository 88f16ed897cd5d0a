"""async_deeprl: the asynchronous deep RL family of Mnih et al. (2016) from Atari pixels.

The Python API (docs/api.md):

    import async_deeprl
    summary = async_deeprl.train(flagfile="flags/catch.flags")      # as run_dqn.py does
    agent = async_deeprl.load("pretrained/PongNoFrameskip-v4-n-step-q")
    env = agent.make_env()                                          # a gymnasium env
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(agent.act(obs))

`async_deeprl.TrainConfig` holds every setting (`TrainConfig.help()` gives their help
texts). Importing the package has no side effects: TensorFlow, gymnasium and ale-py are
imported by the modules that need them, when they are first used.
"""

__version__ = "0.1.0"
__all__ = ["train", "load", "TrainConfig", "TrainedAgent", "ConfigError"]

_API = {"train": "api", "load": "api", "TrainedAgent": "api", "TrainConfig": "config",
        "ConfigError": "config"}


def __getattr__(name):
    """The API's names, imported on first use (so `import async_deeprl` stays light)."""
    if name not in _API:
        raise AttributeError(f"module 'async_deeprl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"async_deeprl.{_API[name]}"), name)
