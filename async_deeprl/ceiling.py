"""`python -m async_deeprl.ceiling`: forwards to async_deeprl/commands/ceiling.py, where the code is."""

if __name__ == "__main__":
    from absl import app

    from async_deeprl.commands import ceiling

    __doc__ = ceiling.__doc__  # absl's --help prints the main module's docstring
    app.run(ceiling.main)
