"""Round-trip time of one Ray actor call by message size (docs/distributed.md).

    python tools/ray_roundtrip.py       # pause other work on the machine first

An actor returns its argument: float32 arrays from empty to the Atari network's 2.7 MB, then
the 2.7 MB cut into pieces small enough for Ray to inline in the call (up to 100 KB each).
"""
import time

import numpy as np
import ray

SIZE = 677_686  # float32 parameters of the Atari network (2.7 MB)


@ray.remote
class Echo:
    def whole(self, array):
        return array

    def pieces_in(self, *parts):
        return np.concatenate(parts)

    def pieces_both(self, *parts):
        return tuple(parts)


def timed(name, call, calls=200):
    for _ in range(10):
        call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    print(f"{name}: {(time.perf_counter() - start) / calls * 1e3:.2f} ms per round trip",
          flush=True)


def main():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    echo = Echo.remote()
    for n in (1, 25_000, 100_000, 338_000, SIZE):
        array = np.ones(n, np.float32)
        timed(f"{n * 4 / 1e6:.2f} MB each way", lambda: ray.get(echo.whole.remote(array)))
    whole = np.ones(SIZE, np.float32)
    for piece in (24_000, 12_000):
        parts = np.array_split(whole, -(-SIZE // piece))
        both = echo.pieces_both.options(num_returns=len(parts))
        timed(f"{len(parts)} pieces of {piece * 4 / 1e3:.0f} KB up, one array down",
              lambda: ray.get(echo.pieces_in.remote(*parts)))
        timed(f"{len(parts)} pieces up, {len(parts)} return values down",
              lambda: np.concatenate(ray.get(both.remote(*parts))))
    ray.shutdown()


if __name__ == "__main__":
    main()
