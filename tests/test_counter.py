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


def test_claim_stops_exactly_at_the_limit():
    counter = StepCounter(start=0)
    claimed = []

    def work():
        while (step := counter.claim(10_000)) is not None:
            claimed.append(step)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value == 10_000
    assert sorted(claimed) == list(range(1, 10_001))
