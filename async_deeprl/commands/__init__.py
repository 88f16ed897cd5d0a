"""Command-line tools around the library core (agents, training, environments).

Each runs as `python -m async_deeprl.<name>` (a two-line entry module forwards to it) or
`python -m async_deeprl.commands.<name>`:

- `bench`: training steps/s beside env-only steps/s, per thread count, agent or worker count.
- `ceiling`: the most steps/s this machine allows one-step Q (acting and updating, no learning).
- `env_timing`: the shared timing of environments alone (used by bench and ceiling).
- `plot`: test scores of logdirs against agent steps, emulator frames and hours.
- `export`: a run's online weights as a small folder that `--eval` and `async_deeprl.load` read.

The library core never imports these modules.
"""
