"""The two torsos (`--network`): their layers and sizes, for both heads, and a 'nature' run
that --eval plays from its logdir."""

import json
import os

import numpy as np
import pytest

from async_deeprl import agents, evaluation, network, training
from async_deeprl.config import TrainConfig
from async_deeprl.environment import make_env

CATCH = "async_deeprl.games:Catch-v0"


def _params(convolutions, hidden, heads, in_channels=4, flat=None):
    """Weights plus biases of convolutions [(filters, kernel, stride)], the hidden layer and
    `heads` output units, counted by hand."""
    total, channels = 0, in_channels
    for filters, kernel, _ in convolutions:
        total += kernel * kernel * channels * filters + filters
        channels = filters
    return total + flat * hidden + hidden + hidden * heads + heads


@pytest.mark.parametrize("torso, flat", [("small", 9 * 9 * 32), ("nature", 7 * 7 * 64)])
def test_each_torso_has_the_published_layers(torso, flat):
    q = network.build_q_network(6, torso=torso)
    ac = network.build_actor_critic_network(6, torso=torso)
    convolutions, hidden = network.TORSOS[torso]
    assert q.count_params() == _params(convolutions, hidden, 6, flat=flat)
    assert ac.count_params() == _params(convolutions, hidden, 6 + 1, flat=flat)
    # small: 4,112 + 8,224 + 663,808 + 1,542; nature: 8,224 + 32,832 + 36,928 + 1,606,144 + 3,078
    assert q.count_params() == {"small": 677_686, "nature": 1_687_206}[torso]
    out = q(np.zeros((2, 84, 84, 4), np.uint8))
    assert out.shape == (2, 6)


def test_the_universe_torso_on_42_pixel_frames():
    """Four Conv 32 3x3/2 ('same': 42 -> 21 -> 11 -> 6 -> 3), ELU, the heads on the 288
    flattened features: 1,184 + 3 x 9,248 + 288 x 6 + 6 weights and biases."""
    q = network.build_q_network(6, input_shape=(42, 42, 4), torso="universe")
    assert q.count_params() == 1_184 + 3 * 9_248 + 288 * 6 + 6
    assert q.get_layer("conv4").output.shape[1:] == (3, 3, 32)
    assert q.get_layer("conv1").activation.__name__ == "elu"
    recurrent = network.build_recurrent_actor_critic_network(6, (42, 42, 4), torso="universe")
    lstm = recurrent.get_layer("core").get_layer("lstm")
    assert lstm.get_weights()[0].shape == (288, 4 * network.LSTM_CELLS)
    assert q(np.zeros((2, 42, 42, 4), np.uint8)).shape == (2, 6)


def test_unknown_torso_is_refused():
    with pytest.raises(ValueError, match="not one of small, nature"):
        network.build_q_network(6, torso="resnet")


def test_a_nature_run_records_its_network_and_eval_rebuilds_it(tmp_path):
    logdir = str(tmp_path / "run")
    training.train(TrainConfig(game=CATCH, logdir=logdir, threads=1, total_frames=200,
                             action_repeat=1, log_interval=100, test_interval=0, seed=0,
                             network="nature", xla=False))
    recorded = json.load(open(os.path.join(logdir, "run_config.json")))
    assert recorded["network"] == "nature" and recorded["input_shape"] == [84, 84, 4]
    result = evaluation.evaluate_logdir(logdir, str(tmp_path / "eval"), 2, 0.0, 100, seed=1,
                                        video=False, mode="greedy")
    assert result["games"] == 2
    # --eval rebuilt the run's own torso: the nature network's weights loaded into it.
    model = evaluation.restore_online_model(
        agents.get("one_step_q"), recorded, result["checkpoint"], make_env(CATCH, action_repeat=1),
        logdir)
    assert model.count_params() == network.build_q_network(3, torso="nature").count_params()
