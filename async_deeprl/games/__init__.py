"""Tiny pixel games shipped with the package, registered with gymnasium.

Use them through the `module:EnvName` id form, which imports this module and so
registers them: `--game async_deeprl.games:Catch-v0`, `--game async_deeprl.games:Cue-v0`.
"""

import gymnasium as gym

if "Catch-v0" not in gym.registry:
    gym.register(id="Catch-v0", entry_point="async_deeprl.games.catch:CatchEnv")
if "Cue-v0" not in gym.registry:
    gym.register(id="Cue-v0", entry_point="async_deeprl.games.cue:CueEnv")
