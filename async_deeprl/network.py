"""The network and optimizer factories shared by every agent of the family.

Keras is imported inside the factories, so that reading OPTIMIZERS (flag
definitions, --help) does not load TensorFlow.
"""

OPTIMIZERS = ("rmsprop", "adam")
# (filters, kernel, stride) of each convolution, then the hidden dense layer's units.
# None: no hidden layer (the heads, or the LSTM, read the flattened convolutions).
TORSOS = {
    "small": ([(16, 8, 4), (32, 4, 2)], 256),  # the async paper's (and Mnih et al. 2013)
    "nature": ([(32, 8, 4), (64, 4, 2), (64, 3, 1)], 512),  # Nature DQN's; the DQN seeds'
    # OpenAI universe-starter-agent's, as pytorch-a3c (42x42 frames): ELU, 'same' padding
    "universe": ([(32, 3, 2)] * 4, None),
}
_STYLE = {"universe": dict(activation="elu", padding="same")}  # others: ReLU, 'valid'


def _torso(input_shape, torso="small"):
    """The convolutions and hidden layer of `TORSOS[torso]`: 'small' is Conv 16 8x8/4 ->
    Conv 32 4x4/2 -> Dense 256, all ReLU (the async paper's Atari network), 'nature' is
    Conv 32 8x8/4 -> Conv 64 4x4/2 -> Conv 64 3x3/1 -> Dense 512 (Mnih et al. 2015),
    'universe' four Conv 32 3x3/2 with ELU and 'same' padding, no hidden layer
    (universe-starter-agent's and pytorch-a3c's, made for 42x42 frames).

    The input is the uint8 frame stack; scaling to [0, 1] happens inside the model,
    so callers never build float copies of observations.
    """
    import keras

    if torso not in TORSOS:
        raise ValueError(f"network {torso!r} is not one of {', '.join(TORSOS)}")
    convolutions, hidden = TORSOS[torso]
    style = _STYLE.get(torso, dict(activation="relu", padding="valid"))
    inputs = keras.Input(shape=input_shape, dtype="uint8", name="frames")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    for i, (filters, kernel, stride) in enumerate(convolutions):
        x = keras.layers.Conv2D(filters, kernel, strides=stride, name=f"conv{i + 1}",
                                **style)(x)
    x = keras.layers.Flatten()(x)
    if hidden is None:
        return inputs, x
    return inputs, keras.layers.Dense(hidden, activation="relu", name="fc")(x)


def build_q_network(num_actions, input_shape=(84, 84, 4), name="q_network", torso="small"):
    """The torso, then a linear Q-value per action. Online and target networks are
    two calls of this function."""
    import keras

    inputs, x = _torso(input_shape, torso)
    q_values = keras.layers.Dense(num_actions, name="q_values")(x)
    return keras.Model(inputs, q_values, name=name)


def build_actor_critic_network(num_actions, input_shape=(84, 84, 4), name="actor_critic",
                               torso="small"):
    """The torso, then two linear heads: policy logits (softmax over actions) and a
    scalar state value V(s), shape [B, 1] (the paper's A3C FF). Keras' default
    initialisers, as the Q-network (a policy head scaled down to start near
    uniform, as some reimplementations do, learned Catch more slowly here).
    """
    import keras

    inputs, x = _torso(input_shape, torso)
    logits = keras.layers.Dense(num_actions, name="policy_logits")(x)
    value = keras.layers.Dense(1, name="value")(x)
    return keras.Model(inputs, [logits, value], name=name)


LSTM_CELLS = 256  # the paper's A3C LSTM: 256 cells after the last hidden layer


def build_recurrent_actor_critic_network(num_actions, input_shape=(84, 84, 4),
                                         name="actor_critic_lstm", torso="small",
                                         cells=LSTM_CELLS):
    """The paper's A3C LSTM: the torso, an LSTM of `cells` cells, then the policy and value
    heads. Inputs [frames, h, c] (a batch of frame stacks and each one's LSTM state), outputs
    [policy logits, V(s) [B, 1], h', c']. Its two parts are layers of their own, so that an
    update can run the torso on a whole segment at once and step only the LSTM: 'torso'
    (frames -> hidden features) and 'core' ([features, h, c] -> the four outputs)."""
    import keras

    inputs, features = _torso(input_shape, torso)
    torso_model = keras.Model(inputs, features, name="torso")
    feature_in = keras.Input((features.shape[-1],), name="features")
    h_in, c_in = keras.Input((cells,), name="h"), keras.Input((cells,), name="c")
    out, (h_out, c_out) = keras.layers.LSTMCell(cells, name="lstm")(feature_in, [h_in, c_in])
    logits = keras.layers.Dense(num_actions, name="policy_logits")(out)
    value = keras.layers.Dense(1, name="value")(out)
    core = keras.Model([feature_in, h_in, c_in], [logits, value, h_out, c_out], name="core")
    frames = keras.Input(shape=input_shape, dtype="uint8", name="frames")
    h, c = keras.Input((cells,), name="h0"), keras.Input((cells,), name="c0")
    return keras.Model([frames, h, c], core([torso_model(frames), h, c]), name=name)


def make_optimizer(kind, learning_rate, grad_clip_norm=40.0, rmsprop_epsilon=0.1):
    """The shared optimizer.

    'rmsprop' is the paper's: rho (decay) 0.99, `rmsprop_epsilon` (the paper's 0.1) added
    inside the square root, gradients clipped to global norm `grad_clip_norm` (0: not
    clipped); the caller anneals the learning rate. 'adam' is the blog's final code: Adam at a
    constant rate, no clipping.
    """
    import keras

    if kind == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, rho=0.99,
                                        epsilon=rmsprop_epsilon,
                                        global_clipnorm=grad_clip_norm or None)
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    raise ValueError(f"optimizer {kind!r} is not one of {OPTIMIZERS}")
