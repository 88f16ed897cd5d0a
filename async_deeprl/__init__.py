"""async_deeprl: asynchronous deep Q-learning from Atari pixels (Mnih et al., 2016).

Importing the package has no side effects: TensorFlow, gymnasium and ale-py are
imported by the modules that need them.
"""

__version__ = "0.1.0"
