"""A run compiles every agent's acting, update and gradient calls with XLA (`jit_compile=True`);
the other agent tests build their agents uncompiled (`agent_utils.make_agent`), which costs a
fifth of the CPU time per agent. That is sound only while both compute the same numbers: this
checks it, per agent, on the same weights and inputs."""

import numpy as np
import pytest
import tensorflow as tf

from agent_utils import make_agent, random_segment
from async_deeprl import agents


def _inputs(signature, rng):
    """Random inputs for `signature`: frame stacks of uint8 pixels, anything else N(0, 1); a
    batch of 3."""
    inputs = []
    for spec in signature:
        shape = [3 if d is None else d for d in spec.shape]
        if spec.dtype == tf.uint8:
            inputs.append(rng.integers(0, 256, shape, dtype=np.uint8))
        else:
            inputs.append(rng.normal(size=shape).astype(spec.dtype.as_numpy_dtype))
    return inputs


@pytest.mark.parametrize("algorithm", agents.NAMES)
def test_xla_compiled_calls_compute_what_uncompiled_ones_do(algorithm):
    """From the same weights and inputs: the same acting outputs, update stats and gradients,
    and the same step of every weight whose gradient is not float32 noise (an optimizer step
    of a noise-level gradient may take either sign)."""
    compiled, plain = make_agent(algorithm, xla=True), make_agent(algorithm)
    assert compiled.xla and not plain.xla
    plain.set_weights(compiled.get_weights())
    before = [v.numpy() for v in compiled.trainable_variables]
    rng = np.random.default_rng(0)
    state = _inputs(compiled.act.function.input_signature, rng)
    for a, b in zip(compiled.act(*state), plain.act(*state)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    args = compiled.update_args(random_segment(rng, 5), rng.integers(0, 256, (84, 84, 4),
                                                                    dtype=np.uint8))
    lr = np.float32(1e-3)
    stats, grads = compiled.gradients(*args, lr)
    plain_stats, plain_grads = plain.gradients(*args, lr)
    np.testing.assert_allclose(stats.numpy(), plain_stats.numpy(), rtol=1e-4, atol=1e-5)
    grads = [g.numpy() for g in grads]
    for a, b in zip(grads, plain_grads):  # up to float32 sums taken in another order
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-3, atol=1e-4 * np.abs(a).max())
    np.testing.assert_allclose(compiled.update(*args, lr).numpy(),
                               plain.update(*args, lr).numpy(), rtol=1e-4, atol=1e-5)
    for start, grad, a, b in zip(before, grads, compiled.trainable_variables,
                                 plain.trainable_variables):
        clear = np.abs(grad) > 1e-2 * np.abs(grad).max()
        a, b = a.numpy()[clear], b.numpy()[clear]
        assert not np.array_equal(a, start[clear])  # the update moved them
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
