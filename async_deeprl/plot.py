"""`python -m async_deeprl.plot`: forwards to async_deeprl/commands/plot.py, where the code is."""

if __name__ == "__main__":
    from absl import app

    from async_deeprl.commands import plot

    __doc__ = plot.__doc__  # absl's --help prints the main module's docstring
    app.run(plot.main)
