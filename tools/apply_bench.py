"""Milliseconds per update of the holder's apply (docs/distributed.md, several gradients per
message): k flat gradients applied one TF call each, one XLA call each, or all k in one call
(with and without XLA; the last is what `transport.FlatAgent.apply` does).

    python tools/apply_bench.py [TF_THREADS] [K]     # pause other work on the machine first
"""
import sys
import time

import numpy as np

from async_deeprl import tf_logs


def main(tf_threads=1, k=8, messages=30):
    tf_logs.import_quietly()
    import tensorflow as tf

    from async_deeprl import backend
    from async_deeprl.distributed import transport
    from async_deeprl.config import TrainConfig

    transport.set_tf_threads(tf_threads)
    agent = backend.build_agent(TrainConfig(), 6)  # one-step Q, RMSProp, the Atari network
    agent.warm_up([1])
    trainable, online = agent.trainable_variables, agent.online.weights
    size = sum(int(np.prod(v.shape)) for v in trainable)
    rows = (np.random.default_rng(0).standard_normal((k, size)) * 1e-3).astype(np.float32)
    lr = np.float32(7e-4)

    def one_row(row, learning_rate):
        agent.apply_gradients(transport.split(row, trainable), learning_rate)
        return transport.flatten(online)

    def all_rows(many, learning_rate):
        for i in tf.range(tf.shape(many)[0]):
            agent.apply_gradients(transport.split(many[i], trainable), learning_rate)
        return transport.flatten(online)

    row_spec, rows_spec = tf.TensorSpec([size], tf.float32), tf.TensorSpec([None, size], tf.float32)
    lr_spec = tf.TensorSpec([], tf.float32)
    single = {jit: tf.function(one_row, jit_compile=jit, input_signature=[row_spec, lr_spec])
              for jit in (False, True)}
    fused = {jit: tf.function(all_rows, jit_compile=jit, input_signature=[rows_spec, lr_spec])
             for jit in (False, True)}
    variants = {"one call per update": lambda: [single[False](r, lr) for r in rows][-1].numpy(),
                "one XLA call per update": lambda: [single[True](r, lr) for r in rows][-1].numpy(),
                "one call per message": lambda: fused[False](rows, lr).numpy(),
                "one XLA call per message": lambda: fused[True](rows, lr).numpy()}
    print(f"{k} updates per message, {size:,} parameters, {tf_threads} TF thread(s)")
    for _ in range(2):
        for name, run in variants.items():
            run()  # traces and compiles
            start = time.perf_counter()
            for _ in range(messages):
                run()
            print(f"{name:26s} {(time.perf_counter() - start) / messages / k * 1e3:.2f} ms/update")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
