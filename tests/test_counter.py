import threading

from async_deeprl.counter import StepCounter


def test_counter_is_exact_under_sixteen_threads():
    counter = StepCounter(start=7)
    seen = [[] for _ in range(16)]

    def work(i):
        for _ in range(20_000):
            seen[i].append(counter.increment())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value == 7 + 16 * 20_000
    values = sorted(v for s in seen for v in s)
    # Every step number was handed to exactly one caller.
    assert values == list(range(8, 7 + 16 * 20_000 + 1))
