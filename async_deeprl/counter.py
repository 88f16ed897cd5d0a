"""A global step counter that stays exact when many threads increment it."""

import threading


class StepCounter:
    """Counts global agent steps (summed over threads) under a lock.

    Keras' `optimizer.iterations` and bare Python `+=` both lose counts when
    threads race; this does not.
    """

    def __init__(self, start=0):
        self._value = int(start)
        self._lock = threading.Lock()

    def increment(self, amount=1):
        """Adds `amount` and returns the new value, which no other caller sees as theirs."""
        with self._lock:
            self._value += amount
            return self._value

    def claim(self, limit):
        """Adds one and returns the new value if it stays <= `limit`; else returns None.

        Threads that claim each step before taking it stop with the count exactly at `limit`.
        """
        with self._lock:
            if self._value >= limit:
                return None
            self._value += 1
            return self._value

    @property
    def value(self):
        return self._value
