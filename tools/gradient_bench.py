"""Milliseconds per worker gradient call (docs/distributed.md, Updates): a finished segment's
gradient as `Agent.gradients` and then a separate flattening call (the workers' earlier path), against
`transport.FlatAgent.gradients`, both in one compiled call (what a worker runs). Random
5-transition segments, the Atari network; both give the same numbers (checked here).

    python tools/gradient_bench.py [ALGORITHM] [TF_THREADS]   # pause other work first
"""
import sys
import time

import numpy as np

from async_deeprl import tf_logs


def main(algorithm="one_step_q", tf_threads=1, calls=300):
    tf_logs.import_quietly()
    import tensorflow as tf

    from async_deeprl import backend
    from async_deeprl.distributed import transport
    from async_deeprl.agents.base import Segment
    from async_deeprl.config import TrainConfig

    transport.set_tf_threads(tf_threads)
    agent = backend.build_agent(TrainConfig(algorithm=algorithm), 6)
    agent.warm_up([1])
    flat = transport.FlatAgent(agent)
    rng = np.random.default_rng(0)
    segments = []
    for _ in range(16):
        seg = Segment()
        for _ in range(5):
            seg.add(rng.integers(0, 256, (84, 84, 4), dtype=np.uint8), int(rng.integers(6)),
                    float(rng.uniform(-1, 1)), False)
            seg.next_q[-1] = rng.normal(size=6).astype(np.float32)
            seg.next_actions[-1] = int(rng.integers(6))
        segments.append(agent.update_args(seg, rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)))
    lr = np.float32(0.0)
    flatten = tf.function(transport.flatten, input_signature=[
        [tf.TensorSpec(v.shape, v.dtype) for v in agent.trainable_variables]])

    def two_calls(*args):
        stats, grads = agent.gradients(*args)
        return stats, flatten(grads)

    variants = {"gradients, then flatten (two calls)": two_calls,
                "FlatAgent.gradients (one call)": flat.gradients}
    outputs = [fn(*segments[0], lr)[1].numpy() for fn in variants.values()]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6, atol=1e-9)
    print(f"{algorithm}, {outputs[0].size:,} parameters, {tf_threads} TF thread(s), "
          f"5-transition segments")
    for _ in range(3):
        for name, fn in variants.items():
            start = time.perf_counter()
            for i in range(calls):
                stats, gradient = fn(*segments[i % len(segments)], lr)
                stats.numpy(), gradient.numpy()
            print(f"{name:36s} {(time.perf_counter() - start) / calls * 1e3:.2f} ms/call")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "one_step_q",
         *(int(a) for a in sys.argv[2:3]))
