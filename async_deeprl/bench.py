"""`python -m async_deeprl.bench`: forwards to async_deeprl/commands/bench.py, where the code is."""

if __name__ == "__main__":
    from absl import app

    from async_deeprl.commands import bench

    __doc__ = bench.__doc__  # absl's --help prints the main module's docstring
    app.run(bench.main)
