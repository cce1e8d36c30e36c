"""Off-policy evaluation of ad policies: the estimators on simulated logs with a known
truth, their input checks, the cross-fitted reward model, and the Open Bandit Dataset
check against OBP's published figures (skipped without the obp wheel)."""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray

from moviola.ads import _obd
from moviola.ads._ope import (
    Estimate,
    better,
    direct_method,
    doubly_robust,
    expected_reward,
    fit_logistic,
    fit_reward_model,
    ipw,
    on_policy,
    snipw,
)
from moviola.core import DependencyError, InputError

HAS_OBP = importlib.util.find_spec("obp") is not None
needs_obp = pytest.mark.skipif(
    not HAS_OBP, reason="the Open Bandit Dataset sample needs: pip install --no-deps obp==0.4.1"
)

# -- a simulated bandit with a known value -----------------------------------------------

N_CONTEXTS, N_ACTIONS = 4, 5
RATES = np.array(  # P(click | context, ad): the truth the estimators should recover
    [
        [0.02, 0.05, 0.10, 0.04, 0.01],
        [0.08, 0.03, 0.02, 0.12, 0.05],
        [0.05, 0.15, 0.04, 0.02, 0.06],
        [0.01, 0.02, 0.09, 0.05, 0.20],
    ]
)
CONTEXT_P = np.array([0.4, 0.3, 0.2, 0.1])


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


# A skewed logger (it prefers ads 0 and 1 everywhere) and a target that leans to each
# context's best ad: the two disagree, so the estimate is a real counterfactual.
LOGGER = _softmax(np.tile(np.array([1.0, 0.6, 0.0, -0.3, -0.6]), (N_CONTEXTS, 1)))
TARGET = _softmax(8.0 * RATES / RATES.max(axis=1, keepdims=True))
TRUE_VALUE = float(np.sum(CONTEXT_P[:, None] * TARGET * RATES))


@dataclass(frozen=True)
class Log:
    context: NDArray[np.int64]
    action: NDArray[np.int64]
    reward: NDArray[np.float64]
    behaviour_p: NDArray[np.float64]
    target_p: NDArray[np.float64]

    def features(self, action: NDArray[np.int64]) -> NDArray[np.float64]:
        """One-hot context × action cells: a saturated model of the click rate."""
        out = np.zeros((len(self.context), N_CONTEXTS * N_ACTIONS))
        out[np.arange(len(self.context)), self.context * N_ACTIONS + action] = 1.0
        return out


def simulate(
    n: int, seed: int, logger: NDArray[np.float64] = LOGGER, rates: NDArray[np.float64] = RATES
) -> Log:
    rng = np.random.default_rng(seed)
    x = rng.choice(N_CONTEXTS, size=n, p=CONTEXT_P)
    u = rng.random(n)
    a = np.minimum((u[:, None] > np.cumsum(logger[x], axis=1)).sum(axis=1), N_ACTIONS - 1)
    r = (rng.random(n) < rates[x, a]).astype(np.float64)
    return Log(x, a.astype(np.int64), r, logger[x, a], TARGET[x, a])


def dr_terms(log: Log, q: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """q_logged and q_target from an (n × actions) table of q̂."""
    n = len(log.reward)
    return q[np.arange(n), log.action], expected_reward(q, TARGET[log.context])


def cross_fitted_q(log: Log) -> NDArray[np.float64]:
    model = fit_reward_model(log.features(log.action), log.reward, n_folds=3, l2=0.1)
    n = len(log.reward)
    return np.column_stack(
        [model.predict(log.features(np.full(n, a, dtype=np.int64))) for a in range(N_ACTIONS)]
    )


def covers(est: Estimate, truth: float) -> bool:
    return est.low <= truth <= est.high


def test_the_simulation_is_a_real_counterfactual() -> None:
    logger_value = float(np.sum(CONTEXT_P[:, None] * LOGGER * RATES))
    assert logger_value * 1.5 < TRUE_VALUE  # the target is much better than the logger
    assert LOGGER.min() > 0.05  # and the logger explores every ad


def test_estimators_recover_the_true_value_within_their_interval() -> None:
    log = simulate(20_000, seed=1)
    q_logged, q_target = dr_terms(log, cross_fitted_q(log))
    estimates = [
        ipw(log.reward, log.behaviour_p, log.target_p),
        snipw(log.reward, log.behaviour_p, log.target_p),
        doubly_robust(log.reward, log.behaviour_p, log.target_p, q_logged, q_target),
    ]
    for est in estimates:
        assert est.n == 20_000
        assert est.low < est.value < est.high
        assert covers(est, TRUE_VALUE), (est, TRUE_VALUE)
        assert abs(est.value - TRUE_VALUE) / TRUE_VALUE < 0.1
    # The logger's own CTR is far from the target's: on-policy of the wrong policy misleads.
    assert not covers(on_policy(log.reward), TRUE_VALUE)


def test_intervals_cover_the_truth_in_most_seeds() -> None:
    seeds = range(120)
    hits = {"ipw": 0, "snipw": 0, "dr": 0, "ipw-bootstrap": 0}
    for seed in seeds:
        log = simulate(3000, seed=100 + seed)
        hits["ipw"] += covers(ipw(log.reward, log.behaviour_p, log.target_p), TRUE_VALUE)
        hits["snipw"] += covers(snipw(log.reward, log.behaviour_p, log.target_p), TRUE_VALUE)
        if seed < 40:  # the reward model's 3 fits and the bootstrap cost more
            q_logged, q_target = dr_terms(log, cross_fitted_q(log))
            dr = doubly_robust(log.reward, log.behaviour_p, log.target_p, q_logged, q_target)
            hits["dr"] += covers(dr, TRUE_VALUE)
            boot = ipw(log.reward, log.behaviour_p, log.target_p, method="bootstrap", n_boot=400)
            hits["ipw-bootstrap"] += covers(boot, TRUE_VALUE)
    rates = {
        name: count / (len(seeds) if name in ("ipw", "snipw") else 40)
        for name, count in hits.items()
    }
    # Nominal 95%; the binomial spread is about ±2% on 120 seeds, ±3.5% on 40.
    assert all(0.85 <= rate <= 1.0 for rate in rates.values()), rates


def test_ipw_of_the_logging_policy_is_its_on_policy_mean() -> None:
    log = simulate(5000, seed=7)
    same = ipw(log.reward, log.behaviour_p, log.behaviour_p)
    self_normalised = snipw(log.reward, log.behaviour_p, log.behaviour_p)
    mean = on_policy(log.reward)
    assert same.value == pytest.approx(float(log.reward.mean()), abs=1e-15)
    assert self_normalised.value == pytest.approx(mean.value, abs=1e-15)
    assert (same.low, same.high) == pytest.approx((mean.low, mean.high), abs=1e-15)


def test_doubly_robust_with_a_perfect_model_has_lower_variance_than_ipw() -> None:
    # Rates from 0.05 to 1, so that the model explains much of each reward (theory: DR's
    # sd is 0.58 of IPW's here). With rare clicks the Bernoulli noise r − q dominates both
    # and the gain is small (0.94 with RATES).
    rates = RATES / RATES.max()
    truth = float(np.sum(CONTEXT_P[:, None] * TARGET * rates))
    ipw_values, dr_values, ipw_widths, dr_widths = [], [], [], []
    for seed in range(60):
        log = simulate(2000, seed=500 + seed, rates=rates)
        q_logged, q_target = dr_terms(log, rates[log.context])  # the true reward model
        a = ipw(log.reward, log.behaviour_p, log.target_p)
        d = doubly_robust(log.reward, log.behaviour_p, log.target_p, q_logged, q_target)
        ipw_values.append(a.value)
        dr_values.append(d.value)
        ipw_widths.append(a.high - a.low)
        dr_widths.append(d.high - d.low)
    assert np.std(dr_values) < 0.75 * np.std(ipw_values)
    assert np.mean(dr_widths) < 0.75 * np.mean(ipw_widths)
    assert abs(np.mean(dr_values) - truth) < 3 * np.std(dr_values) / math.sqrt(60)
    assert abs(np.mean(ipw_values) - truth) < 3 * np.std(ipw_values) / math.sqrt(60)


def test_direct_method_with_a_perfect_model_is_unbiased_and_tight() -> None:
    log = simulate(5000, seed=3)
    _, q_target = dr_terms(log, RATES[log.context])
    est = direct_method(q_target)
    assert covers(est, TRUE_VALUE)
    assert est.high - est.low < 0.01


def test_bootstrap_and_normal_intervals_agree_on_a_large_log() -> None:
    log = simulate(20_000, seed=11)
    for estimator in (ipw, snipw):
        normal = estimator(log.reward, log.behaviour_p, log.target_p)
        boot = estimator(log.reward, log.behaviour_p, log.target_p, method="bootstrap", seed=3)
        again = estimator(log.reward, log.behaviour_p, log.target_p, method="bootstrap", seed=3)
        assert boot == again  # a fixed seed gives the same interval
        assert boot.value == normal.value
        width = normal.high - normal.low
        assert abs(boot.low - normal.low) < 0.15 * width
        assert abs(boot.high - normal.high) < 0.15 * width


def test_a_wider_level_gives_a_wider_interval() -> None:
    log = simulate(3000, seed=5)
    narrow = ipw(log.reward, log.behaviour_p, log.target_p, ci=0.8)
    wide = ipw(log.reward, log.behaviour_p, log.target_p, ci=0.99)
    assert wide.low < narrow.low < narrow.value < narrow.high < wide.high


def test_estimators_are_fast_on_ten_thousand_rows() -> None:
    log = simulate(10_000, seed=2)
    q_logged, q_target = dr_terms(log, RATES[log.context])
    calls: dict[str, Callable[[], Estimate]] = {
        "ipw": lambda: ipw(log.reward, log.behaviour_p, log.target_p),
        "snipw": lambda: snipw(log.reward, log.behaviour_p, log.target_p),
        "dr": lambda: doubly_robust(log.reward, log.behaviour_p, log.target_p, q_logged, q_target),
        "dm": lambda: direct_method(q_target),
    }
    for name, call in calls.items():
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        assert best < 0.02, (name, best)


def test_estimate_as_dict_and_promotion_rule() -> None:
    candidate = Estimate("dr", 0.05, 0.042, 0.058, 1000)
    assert candidate.as_dict() == {
        "estimator": "dr",
        "value": 0.05,
        "low": 0.042,
        "high": 0.058,
        "n": 1000,
    }
    assert better(candidate, Estimate("on_policy", 0.04, 0.039, 0.041, 10_000))
    assert not better(candidate, Estimate("on_policy", 0.042, 0.041, 0.043, 10_000))  # a tie
    assert not better(candidate, Estimate("on_policy", 0.045, 0.044, 0.046, 10_000))
    with pytest.raises(InputError, match="candidate"):
        better(Estimate("dr", math.nan, math.nan, math.nan, 0), candidate)
    lone = ipw([1.0], [0.1], [1.0])  # one lucky click, weight 10
    assert (lone.value, lone.low, lone.high) == (10.0, -math.inf, math.inf)
    assert not better(lone, Estimate("on_policy", 0.04, 0.039, 0.041, 10_000))


# -- bad inputs ----------------------------------------------------------------------------

R = np.array([1.0, 0.0, 0.0])
P = np.array([0.5, 0.5, 0.5])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ipw([], [], []), "empty"),
        (lambda: ipw(R, P[:2], P), "equal lengths; got rewards 3, behaviour_p 2, target_p 3"),
        (
            lambda: ipw(R, [0.5, 0.0, 0.5], P),
            r"behaviour_p has 1 values outside \(0, 1\] \(first at row 1",
        ),
        (lambda: snipw(R, [0.5, -0.1, 0.5], P), "behaviour_p"),
        (lambda: ipw(R, [0.5, 1.5, 0.5], P), "behaviour_p"),
        (lambda: ipw(R, P, [0.5, 1.2, 0.5]), r"target_p has 1 values outside \[0, 1\]"),
        (lambda: ipw([1.0, math.nan, 0.0], P, P), "rewards has 1 NaN"),
        (lambda: ipw(R, P, [0.5, math.inf, 0.5]), "target_p has 1 NaN or infinite"),
        (lambda: ipw(np.ones((3, 1)), P, P), "rewards must be a 1-D array"),
        (lambda: ipw(["a", "b", "c"], P, P), "rewards must be numbers"),
        (lambda: ipw(R, P, P, ci=1.5), "ci must be a level"),
        (lambda: ipw(R, P, P, method="jackknife"), "method must be"),  # type: ignore[arg-type]
        (lambda: snipw(R, P, [0.0, 0.0, 0.0]), "target_p is 0 on every logged row"),
        (lambda: doubly_robust(R, P, P, [0.1, 0.1], [0.1, 0.1, 0.1]), "q_logged 2"),
        (lambda: doubly_robust(R, P, P, [0.1, math.nan, 0.1], P), "q_logged has 1 NaN"),
        (lambda: direct_method([]), "empty"),
        (lambda: on_policy([]), "empty"),
        (lambda: fit_logistic(np.ones((3, 2)), [0.0, 2.0, 1.0]), r"rewards .* outside \[0, 1\]"),
        (lambda: fit_logistic(np.ones((3, 2)), [0.0, 1.0]), "3 rows but rewards has 2"),
        (lambda: fit_logistic(np.ones((3, 2)), R, l2=0.0), "l2 must be a positive"),
        (lambda: fit_logistic(np.ones(3), R), "features must be a 2-D array"),
        (lambda: fit_logistic(np.ones((3, 1)), R, solver="sag"), "solver must be"),  # type: ignore[arg-type]
        (
            lambda: fit_reward_model(np.ones((3, 2)), R, n_folds=5),
            "n_folds must be an integer from 1",
        ),
        (
            lambda: fit_reward_model(np.ones((3, 2)), R, groups=[0.5, 1.0, 1.0]),
            "groups must be 3 integers",
        ),
    ],
)
def test_bad_input_is_a_one_line_input_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


# -- the reward model ------------------------------------------------------------------------


def _objective_gradient(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    coef: NDArray[np.float64],
    intercept: float,
    l2: float,
) -> NDArray[np.float64]:
    residual = 1.0 / (1.0 + np.exp(-(x @ coef + intercept))) - y
    out: NDArray[np.float64] = np.concatenate([x.T @ residual + l2 * coef, [residual.sum()]])
    return out


@pytest.mark.parametrize("solver", ["trust-ncg", "lbfgs"])
def test_logistic_fit_reaches_the_regularised_optimum_and_recovers_coefficients(
    solver: Literal["trust-ncg", "lbfgs"],
) -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack(
        [rng.normal(size=20_000), rng.integers(0, 2, 20_000), rng.integers(0, 80, 20_000)]
    )
    truth = np.array([0.8, -1.0, 0.02])
    y = (rng.random(20_000) < 1.0 / (1.0 + np.exp(-(x @ truth - 2.0)))).astype(np.float64)
    for l2 in (0.01, 1.0, 100.0):
        model = fit_logistic(x, y, l2=l2, solver=solver)
        grad = _objective_gradient(x, y, model.coef, model.intercept, l2)
        # First-order optimality: the gradient is a sum over 20,000 rows.
        assert np.abs(grad).max() < 0.05, (l2, grad)
    model = fit_logistic(x, y, l2=0.01, solver=solver)
    assert model.coef == pytest.approx(truth, abs=0.06)
    assert model.intercept == pytest.approx(-2.0, abs=0.1)
    heavy = fit_logistic(x, y, l2=1e5, solver=solver)
    assert np.abs(heavy.coef).max() < np.abs(model.coef).max() / 5  # the penalty shrinks


def test_logistic_fit_takes_fractional_rewards_and_constant_labels() -> None:
    x = np.array([[0.0], [0.0], [1.0], [1.0]])
    soft = fit_logistic(x, [0.2, 0.2, 0.6, 0.6], l2=1e-6)
    assert soft.predict(x) == pytest.approx([0.2, 0.2, 0.6, 0.6], abs=1e-3)
    none = fit_logistic(x, [0.0, 0.0, 0.0, 0.0])
    assert none.constant == 0.0
    assert none.predict(np.array([[5.0]])).tolist() == [0.0]
    with pytest.raises(InputError, match="2 columns; the model was fitted on 1"):
        soft.predict(np.ones((1, 2)))


def test_cross_fitting_splits_like_kfold_and_scores_each_row_out_of_fold() -> None:
    log = simulate(3001, seed=9)
    x = log.features(log.action)
    model = fit_reward_model(x, log.reward, groups=log.context, n_folds=3, seed=12345)
    assert np.bincount(model.folds).tolist() == [1001, 1000, 1000]
    order = np.arange(3001)
    np.random.RandomState(12345).shuffle(order)  # scikit-learn's KFold(shuffle=True) order
    assert model.folds[order[:1001]].tolist() == [0] * 1001
    assert set(model.models) == {(k, g) for k in range(3) for g in range(N_CONTEXTS)}
    q = model.predict(x)
    for i in (0, 17, 2999):
        own = model.models[(int(model.folds[i]), int(log.context[i]))]
        assert q[i] == pytest.approx(float(own.predict(x[i : i + 1])[0]))
    again = fit_reward_model(x, log.reward, groups=log.context, n_folds=3, seed=12345)
    assert np.array_equal(again.predict(x), q)  # deterministic
    with pytest.raises(InputError, match="groups has values the model was not fitted on: \\[7\\]"):
        model.predict(x[:2], groups=[7, 0])
    whole = fit_reward_model(x, log.reward, n_folds=1)
    assert set(whole.models) == {(0, 0)}


# -- the Open Bandit Dataset ------------------------------------------------------------------


def test_obd_root_names_the_install_command_when_obp_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DependencyError, match=r"pip install --no-deps obp==0\.4\.1"):
        _obd.obd_root()
    with pytest.raises(DependencyError):
        _obd.load_obd("random", "all")


@needs_obp
def test_obd_logs_read_as_obp_preprocesses_them() -> None:
    random_log = _obd.load_obd("random", "all")
    bts_log = _obd.load_obd("bts", "all")
    assert (random_log.n, random_log.n_actions, random_log.len_list) == (10_000, 80, 3)
    assert random_log.context.shape == (10_000, 20)  # 3+5+8+8 levels, first of each dropped
    assert random_log.action_context.shape == (80, 5)
    assert set(random_log.positions.tolist()) == {0, 1, 2}
    assert np.all(random_log.pscore == 0.0125)  # uniform over 80 items in each slot
    assert random_log.rewards.sum() == 38 and bts_log.rewards.sum() == 42
    assert np.all(random_log.context.sum(axis=1) <= 4)
    assert random_log.action_context[:, 0].tolist() == list(range(80))  # the label-encoded id
    with pytest.raises(ValueError, match="read-only"):
        random_log.rewards[0] = 1.0
    assert _obd.load_obd("random", "men").n_actions == 34
    with pytest.raises(InputError, match="behavior must be one of random, bts"):
        _obd.load_obd("epsilon", "all")  # type: ignore[arg-type]


@needs_obp
def test_bts_action_distribution_is_a_top3_frequency_table() -> None:
    alpha, beta = _obd.bts_prior("all")
    assert len(alpha) == len(beta) == 80
    table = _obd.bts_action_dist("all", n_sim=20_000)
    assert table.shape == (80, 3)
    assert table.sum(axis=0) == pytest.approx([1.0, 1.0, 1.0])
    # The item with the highest prior mean leads slot 1 most often.
    assert int(np.argmax(table[:, 0])) == int(np.argmax(alpha / (alpha + beta)))
    assert np.array_equal(table, _obd.bts_action_dist("all", n_sim=20_000))


def _obp_bts_loop(
    alpha: NDArray[np.float64], beta: NDArray[np.float64], n_sim: int
) -> NDArray[np.float64]:
    """OBP 0.4.1's ``BernoulliTS.compute_batch_action_dist``, written out: one draw per
    simulation from ``RandomState(12345)``, ``argsort()[::-1][:3]``."""
    rng = np.random.RandomState(12345)
    counts = np.zeros((len(alpha), 3))
    for _ in range(n_sim):
        top = rng.beta(a=alpha, b=beta).argsort()[::-1][:3]
        for pos in range(3):
            counts[top[pos], pos] += 1
    out: NDArray[np.float64] = counts / n_sim
    return out


@needs_obp
def test_bts_action_distribution_is_obps_own_table() -> None:
    # Same draws in the same order: with OBP's 10^6 simulations (the benchmark) the table,
    # and so IPW and SNIPW over the 30 runs, are OBP's exactly.
    alpha, beta = _obd.bts_prior("all")
    ours = _obd.bts_action_dist("all", n_sim=3000)
    assert np.array_equal(ours, _obp_bts_loop(alpha, beta, 3000))


@pytest.fixture(scope="module")
def obd_check() -> _obd.ObdValidation:
    """IPW and SNIPW over OBP's 30 bootstrap runs (about a second, 10^5 draws for π_e)."""
    return _obd.validate_on_obd(30, ("ipw", "snipw"))


@needs_obp
def test_obd_ipw_and_snipw_reproduce_the_published_errors(obd_check: _obd.ObdValidation) -> None:
    assert obd_check.ground_truth == pytest.approx(0.0042)
    assert obd_check.n_runs == 30
    for name in ("ipw", "snipw"):
        check = obd_check.checks[name]
        assert check.mean_relative_error < 0.35
        # 10^5 draws for π_e instead of OBP's 10^6 move the means by about 0.001.
        assert check.mean_relative_error == pytest.approx(_obd.PUBLISHED[name], abs=0.005)
        assert len(check.relative_errors) == 30
        assert covers(check.full_sample, obd_check.ground_truth)
        assert check.as_dict()["published_mean_relative_error"] == _obd.PUBLISHED[name]


@needs_obp
def test_obd_doubly_robust_on_ten_runs(obd_check: _obd.ObdValidation) -> None:
    # The first 10 of OBP's 30 runs, 9 cross-fitted logistic fits each; the 30-run figure
    # is the benchmark's.
    check = _obd.validate_on_obd(10, ("dr",))
    dr = check.checks["dr"]
    assert dr.mean_relative_error < 0.35
    assert dr.mean_relative_error == pytest.approx(_obd.PUBLISHED["dr"], abs=0.03)
    ipw_first_ten = float(np.mean(obd_check.checks["ipw"].relative_errors[:10]))
    assert dr.mean_relative_error < ipw_first_ten
    assert covers(dr.full_sample, check.ground_truth)


@needs_obp
def test_obd_reward_model_shortcut_equals_scoring_every_item() -> None:
    """DR on OBD scores all 80 items per row through the models' linear logits; that must
    give what the general ``CrossFitModel.predict`` gives item by item."""
    log = _obd.load_obd("random", "all")
    table = _obd.bts_action_dist("all", n_sim=2000)
    idx = np.random.RandomState(4).choice(log.n, 3000, replace=True).astype(np.int64)
    q_logged, q_target = _obd._reward_model_terms(
        log, table, idx=idx, l2=0.01, n_folds=3, seed=12345
    )
    context, actions, positions = log.context[idx], log.actions[idx], log.positions[idx]
    features = np.concatenate([context, log.action_context[actions]], axis=1)
    model = fit_reward_model(
        features, log.rewards[idx], groups=positions, n_folds=3, l2=0.01, seed=12345
    )
    assert np.allclose(model.predict(features), q_logged, rtol=0, atol=1e-12)
    by_item = np.column_stack(
        [
            model.predict(
                np.concatenate([context, np.tile(log.action_context[a], (3000, 1))], axis=1)
            )
            for a in range(log.n_actions)
        ]
    )
    expected = expected_reward(by_item, table[:, positions].T)
    assert np.allclose(q_target, expected, rtol=1e-9, atol=1e-12)
