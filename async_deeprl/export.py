"""`python -m async_deeprl.export`: forwards to async_deeprl/commands/export.py, where the code is."""

if __name__ == "__main__":
    import sys

    from async_deeprl.commands import export

    sys.exit(export.main())
