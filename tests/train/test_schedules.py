import math

import pytest

from advlab.train.schedules import lambda_ramp, learning_rate, lr_anneal, lr_step, reversal_factor


def test_lambda_ramp_values():
    assert lambda_ramp(0.0) == 0.0
    assert lambda_ramp(1.0, 10) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert lambda_ramp(0.5, 10) == pytest.approx(0.986614, abs=1e-6)
    assert lambda_ramp(1.0, 2) == pytest.approx(0.761594, abs=1e-6)
    assert lambda_ramp(0.3, 0) == 0.0


def test_lambda_ramp_is_increasing():
    values = [lambda_ramp(p / 100) for p in range(101)]
    assert values == sorted(values)


def test_lr_anneal_values():
    assert lr_anneal(0.0, 0.01) == 0.01
    assert lr_anneal(1.0, 0.01) == pytest.approx(0.01 / 11**0.75)
    assert lr_anneal(0.5, 0.01, alpha=10, beta=0.75) == pytest.approx(0.01 / 6**0.75)


def test_lr_step_and_constant():
    assert lr_step(0.49, 1.0) == 1.0
    assert lr_step(0.5, 1.0) == pytest.approx(0.1)
    assert lr_step(0.8, 1.0) == pytest.approx(0.01)
    assert learning_rate("constant", 0.9, 0.3, 10, 0.75) == 0.3


def test_reversal_factor_kinds():
    assert reversal_factor("constant", 0.2, 10, 0.3) == 0.3
    assert reversal_factor("ramp", 1.0, 10, 2.0) == pytest.approx(2 * lambda_ramp(1.0))
    with pytest.raises(ValueError):
        reversal_factor("nope", 0.1, 10, 1)
