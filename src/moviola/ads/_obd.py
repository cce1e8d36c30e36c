"""The Open Bandit Dataset (OBD) sample, and the OBP paper's check of off-policy estimators.

ZOZOTOWN ran two policies side by side on its fashion-item slots (three positions, 80
items in campaign "all"): uniform random and Bernoulli Thompson sampling (BTS). The
``obp`` wheel ships 10,000 rows of each log. Because BTS really ran, its on-policy CTR is
a ground truth for what an estimator should say about BTS from the *random* policy's logs.

The protocol, as in Open Bandit Pipeline's ``examples/obd/evaluate_off_policy_estimators.py``
(``--n_runs 30 --base_model logistic_regression --evaluation_policy bts
--behavior_policy random --campaign all``, random_state 12345):

- truth: mean(click) of the BTS log;
- π_e: BTS with ZOZOTOWN's production Beta priors, context-free, so π_e(item, position)
  is the frequency of each item in each of the top 3 slots over Monte Carlo draws;
- run b = 0..29 resamples the random log with ``np.random.RandomState(b).choice(n, n)``;
- relative error = |V̂ − truth| / truth; DR's q̂ is one logistic model per position on
  [user one-hot context, item features], 3-fold cross-fitted.

The data is read in place from the installed wheel (``pip install --no-deps obp==0.4.1``);
``obp`` itself is never imported (it pulls in torch, and its preprocessing no longer runs
on pandas 2). The files are parsed with the csv module; the preprocessing mirrors OBP's
(``get_dummies(drop_first=True)`` for users, label-encoded item features), except that the
rows are put in timestamp order by a stable sort where OBP's quicksort may reorder rows
with equal timestamps (it does so in random/men; random/all, used here, is unaffected).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from moviola.core import DependencyError, InputError

from ._ope import (
    CrossFitModel,
    Estimate,
    Solver,
    direct_method,
    doubly_robust,
    fit_reward_model,
    ipw,
    on_policy,
    snipw,
)

__all__ = [
    "PUBLISHED",
    "EstimatorCheck",
    "ObdLog",
    "ObdValidation",
    "bts_action_dist",
    "bts_prior",
    "load_obd",
    "obd_root",
    "validate_on_obd",
]

Behavior = Literal["random", "bts"]
Campaign = Literal["all", "men", "women"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_A = TypeVar("_A", bound=NDArray[np.generic])

# Mean relative estimation error over 30 bootstrap runs, BTS evaluated on the random
# policy's logs, campaign "all", logistic-regression reward model: st-tech/zr-obp master,
# examples/obd/README.md (small-sample data, random_state 12345). The README at the 0.4.1
# tag shows an older 20-run table (dm 0.180, ipw 0.333, dr 0.304).
PUBLISHED: Final[dict[str, float]] = {
    "dm": 0.156876,
    "ipw": 0.311082,
    "snipw": 0.311795,
    "dr": 0.292464,
}

#: OBP's settings for this experiment.
OBP_SEED: Final = 12345
OBP_C: Final = 100.0  # LogisticRegression(C=100): our l2 = 1 / C
_INSTALL = "pip install --no-deps obp==0.4.1"
_BEHAVIORS = ("random", "bts")
_CAMPAIGNS = ("all", "men", "women")
_ESTIMATORS = ("ipw", "snipw", "dr", "dm")


def obd_root() -> Path:
    """The OBD sample's folder inside the installed ``obp`` wheel (``.../obp/dataset/obd``).

    Found without importing ``obp``; a :class:`DependencyError` says how to install it.
    """
    spec = importlib.util.find_spec("obp")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DependencyError(f"the Open Bandit Dataset sample needs the obp wheel: {_INSTALL}")
    root = Path(locations[0]) / "dataset" / "obd"
    if not (root / "random" / "all" / "all.csv").is_file():
        raise DependencyError(
            f"the obp package at {locations[0]} holds no dataset/obd sample; reinstall it: {_INSTALL}"
        )
    return root


@dataclass(frozen=True)
class ObdLog:
    """One OBD log, preprocessed as OBP does; every array is read-only.

    ``actions[i]`` is the item shown, ``positions[i]`` its slot (0..2), ``rewards[i]`` the
    click (0/1), ``pscore[i]`` the logging policy's probability of that item in that slot;
    ``context`` is the users' one-hot features (first level of each dropped) and
    ``action_context[item]`` the item's features (label-encoded id and categorical
    features, then the numeric ``item_feature_0``).
    """

    behavior: str
    campaign: str
    actions: IntArray
    positions: IntArray
    rewards: FloatArray
    pscore: FloatArray
    context: FloatArray
    action_context: FloatArray
    n_actions: int
    len_list: int

    @property
    def n(self) -> int:
        """The number of logged impressions."""
        return len(self.rewards)


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = list(reader)
    except OSError as exc:
        raise InputError(f"cannot read the OBD file: {exc.strerror}", path) from None
    except (StopIteration, csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable OBD csv file ({exc})", path) from None
    if not rows or any(len(row) != len(header) for row in rows):
        raise InputError("an OBD csv file with no rows or with ragged rows", path)
    return header, rows


def _column(header: list[str], name: str, path: Path) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise InputError(f"the OBD file has no {name!r} column", path) from None


def _codes(values: Sequence[str]) -> tuple[IntArray, int]:
    """Label-encode (sorted levels, as scikit-learn's LabelEncoder and pandas do)."""
    levels, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.astype(np.int64), len(levels)


def _frozen(arr: _A) -> _A:
    arr.setflags(write=False)
    return arr


@lru_cache(maxsize=8)
def _load(root: Path, behavior: str, campaign: str) -> ObdLog:
    folder = root / behavior / campaign
    path = folder / f"{campaign}.csv"
    header, rows = _read_csv(path)
    col = {name: _column(header, name, path) for name in ("timestamp", "item_id", "position", "click", "propensity_score")}  # fmt: skip
    user_cols = [i for i, name in enumerate(header) if name.startswith("user_feature")]
    if not user_cols:
        raise InputError("the OBD file has no user_feature columns", path)
    order = np.argsort(np.asarray([row[col["timestamp"]] for row in rows]), kind="stable")
    rows = [rows[i] for i in order]
    try:
        actions = np.array([int(row[col["item_id"]]) for row in rows], dtype=np.int64)
        raw_positions = np.array([int(row[col["position"]]) for row in rows], dtype=np.int64)
        rewards = np.array([float(row[col["click"]]) for row in rows])
        pscore = np.array([float(row[col["propensity_score"]]) for row in rows])
    except ValueError as exc:
        raise InputError(
            f"a non-numeric item, position, click or propensity: {exc}", path
        ) from None
    levels, positions = np.unique(raw_positions, return_inverse=True)  # dense rank - 1
    # pd.get_dummies(user features, drop_first=True): per column, sorted levels but the first.
    blocks = []
    for c in user_cols:
        codes, k = _codes([row[c] for row in rows])
        blocks.append((codes[:, None] == np.arange(1, k)[None, :]).astype(np.float64))
    context = np.concatenate(blocks, axis=1)

    item_path = folder / "item_context.csv"
    item_header, item_rows = _read_csv(item_path)
    id_col = _column(item_header, "item_id", item_path)
    f0_col = _column(item_header, "item_feature_0", item_path)
    try:
        item_ids = np.array([int(row[id_col]) for row in item_rows], dtype=np.int64)
        feature_0 = np.array([float(row[f0_col]) for row in item_rows])
    except ValueError as exc:
        raise InputError(f"a non-numeric item id or item_feature_0: {exc}", item_path) from None
    n_items = len(item_rows)
    if sorted(item_ids.tolist()) != list(range(n_items)):
        raise InputError(f"item ids are not 0..{n_items - 1}", item_path)
    # OBP: drop item_feature_0, label-encode every other column (item_id included), then
    # append item_feature_0; rows in file order, indexed by item id.
    categorical = [i for i, name in enumerate(item_header) if name and i != f0_col]
    encoded = [
        np.unique(item_ids, return_inverse=True)[1]
        if i == id_col
        else _codes([row[i] for row in item_rows])[0]
        for i in categorical
    ]
    action_context = np.column_stack([*(e.astype(np.float64) for e in encoded), feature_0])
    action_context = action_context[np.argsort(item_ids)]
    if actions.min() < 0 or actions.max() >= n_items:
        raise InputError(f"item ids outside 0..{n_items - 1}", path)
    return ObdLog(
        behavior=behavior,
        campaign=campaign,
        actions=_frozen(actions),
        positions=_frozen(positions.astype(np.int64)),
        rewards=_frozen(rewards),
        pscore=_frozen(pscore),
        context=_frozen(context),
        action_context=_frozen(action_context),
        n_actions=len(np.unique(actions)),
        len_list=len(levels),
    )


def load_obd(behavior: Behavior = "random", campaign: Campaign = "all") -> ObdLog:
    """One log of the OBD sample (10,000 impressions), preprocessed as OBP does.

    Read once per process and cached; the arrays are read-only so the cache cannot be
    changed under another caller.
    """
    _check_choice("behavior", behavior, _BEHAVIORS)
    _check_choice("campaign", campaign, _CAMPAIGNS)
    return _load(obd_root(), behavior, campaign)


def bts_prior(campaign: Campaign = "all") -> tuple[FloatArray, FloatArray]:
    """ZOZOTOWN's production Beta(alpha, beta) priors for BTS, one pair per item.

    Read from ``obp/policy/conf/prior_bts.yaml`` by a small parser of that file's shape
    (``campaign: / alpha: / - value``), as PyYAML is not a dependency of Moviola.
    """
    _check_choice("campaign", campaign, _CAMPAIGNS)
    path = obd_root().parent.parent / "policy" / "conf" / "prior_bts.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DependencyError(
            f"cannot read the BTS prior ({exc.strerror}); {_INSTALL}", path
        ) from None
    priors: dict[str, dict[str, list[float]]] = {}
    top: str | None = None
    key: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        indent = len(stripped) - len(stripped.lstrip())
        body = stripped.strip()
        if indent == 0 and body.endswith(":"):
            top, key = body[:-1], None
            priors[top] = {}
        elif top is not None and body.endswith(":") and not body.startswith("-"):
            key = body[:-1]
            priors[top][key] = []
        elif top is not None and key is not None and body.startswith("- "):
            try:
                priors[top][key].append(float(body[2:]))
            except ValueError:
                raise InputError(f"line {number}: not a number: {body[2:]!r}", path) from None
        else:
            raise InputError(f"line {number}: not the expected prior layout: {body!r}", path)
    try:
        alpha = np.asarray(priors[campaign]["alpha"], dtype=np.float64)
        beta = np.asarray(priors[campaign]["beta"], dtype=np.float64)
    except KeyError as exc:
        raise InputError(f"no {exc.args[0]!r} entry for campaign {campaign!r}", path) from None
    if len(alpha) != len(beta) or len(alpha) == 0 or (alpha <= 0).any() or (beta <= 0).any():
        raise InputError(
            f"campaign {campaign!r}: alpha and beta must be equal-length positive lists", path
        )
    return alpha, beta


def bts_action_dist(
    campaign: Campaign = "all", *, n_sim: int = 100_000, seed: int = OBP_SEED, len_list: int = 3
) -> FloatArray:
    """π_e[item, position] of context-free Bernoulli TS with the production priors.

    Each simulation draws one Beta(alpha, beta) sample per item and ranks the items; the
    table counts how often each item lands in each of the top ``len_list`` slots. The
    draws come from ``np.random.RandomState(seed)`` in the order OBP's
    ``BernoulliTS.compute_batch_action_dist`` makes them, so the table is OBP's own.
    Each column sums to 1.
    """
    if n_sim < 1:
        raise InputError(f"n_sim must be at least 1; got {n_sim}")
    alpha, beta = bts_prior(campaign)
    n_actions = len(alpha)
    if not 1 <= len_list <= n_actions:
        raise InputError(f"len_list must be from 1 to {n_actions}; got {len_list}")
    rng = np.random.RandomState(seed)
    counts = np.zeros((n_actions, len_list))
    chunk = 20_000
    for start in range(0, n_sim, chunk):
        m = min(chunk, n_sim - start)
        draws = rng.beta(alpha, beta, size=(m, n_actions))
        # the top len_list items, best first (OBP: argsort()[::-1][:len_list])
        top = np.argpartition(-draws, len_list - 1, axis=1)[:, :len_list]
        top_values = np.take_along_axis(draws, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-top_values, axis=1, kind="stable"), axis=1)
        for pos in range(len_list):
            counts[:, pos] += np.bincount(top[:, pos], minlength=n_actions)
    dist: FloatArray = counts / n_sim
    return dist


# -- the validation ---------------------------------------------------------------------


@dataclass(frozen=True)
class EstimatorCheck:
    """One estimator's showing on OBD.

    ``relative_errors`` holds |V̂ − truth| / truth for each bootstrap run; ``full_sample``
    is its estimate (with interval) on the whole random log; ``seconds`` is the time it
    took over all runs, its reward-model fits included.
    """

    estimator: str
    mean_relative_error: float
    std_relative_error: float
    relative_errors: tuple[float, ...]
    full_sample: Estimate
    published: float | None
    seconds: float

    def as_dict(self) -> dict[str, object]:
        """A plain dictionary, for JSON reports."""
        return {
            "estimator": self.estimator,
            "mean_relative_error": self.mean_relative_error,
            "std_relative_error": self.std_relative_error,
            "published_mean_relative_error": self.published,
            "full_sample": self.full_sample.as_dict(),
            "seconds": self.seconds,
            "relative_errors": list(self.relative_errors),
        }


@dataclass(frozen=True)
class ObdValidation:
    """Result of :func:`validate_on_obd`: the truth and each estimator's check."""

    campaign: str
    truth: Estimate
    n_runs: int
    n_rows: int
    checks: dict[str, EstimatorCheck] = field(default_factory=dict)

    @property
    def ground_truth(self) -> float:
        """The BTS log's on-policy CTR."""
        return self.truth.value

    def as_dict(self) -> dict[str, object]:
        """A plain dictionary, for JSON reports."""
        return {
            "campaign": self.campaign,
            "truth": self.truth.as_dict(),
            "n_runs": self.n_runs,
            "n_rows": self.n_rows,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
        }


@dataclass(frozen=True)
class _RewardModel:
    """How DR and DM fit q̂ on OBD."""

    l2: float
    n_folds: int
    seed: int
    solver: Solver


def _reward_model_terms(
    log: ObdLog,
    pi_e: FloatArray,
    *,
    idx: IntArray,
    l2: float,
    n_folds: int,
    seed: int,
    solver: Solver = "trust-ncg",
) -> tuple[FloatArray, FloatArray]:
    """q̂(x_i, a_i, pos_i) and Σ_a π_e(a, pos_i) q̂(x_i, a, pos_i) for the resampled rows.

    One logistic model per position on [context, action_context[item]], cross-fitted as
    OBP's ``RegressionModel.fit_predict(n_folds=3, random_state=12345)`` does.
    """
    context = log.context[idx]
    actions = log.actions[idx]
    positions = log.positions[idx]
    features = np.concatenate([context, log.action_context[actions]], axis=1)
    model: CrossFitModel = fit_reward_model(
        features,
        log.rewards[idx],
        groups=positions,
        n_folds=n_folds,
        l2=l2,
        seed=seed,
        solver=solver,
    )
    q_logged = model.predict(features)
    # Score every item for every row. The models are linear in the features, so the
    # logit splits into a per-row context part and a per-item part.
    d = context.shape[1]
    q_target = np.zeros(len(idx))
    for (k, g), m in model.models.items():
        rows = (model.folds == k) & (model.groups == g)
        if not rows.any():
            continue
        if m.constant is not None:
            q_target[rows] = m.constant * pi_e[:, g].sum()
            continue
        row_logit = context[rows] @ m.coef[:d] + m.intercept
        item_logit = log.action_context @ m.coef[d:]
        q = expit(row_logit[:, None] + item_logit[None, :])
        q_target[rows] = q @ pi_e[:, g]
    return q_logged, q_target


def _estimates(
    names: Sequence[str],
    log: ObdLog,
    pi_e: FloatArray,
    idx: IntArray,
    settings: _RewardModel,
) -> tuple[dict[str, Estimate], dict[str, float]]:
    """Each named estimator on the rows ``idx`` of ``log``, and the seconds each took."""
    rewards = log.rewards[idx]
    pscore = log.pscore[idx]
    target = pi_e[log.actions[idx], log.positions[idx]]
    out: dict[str, Estimate] = {}
    seconds: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        if name == "ipw":
            out[name] = ipw(rewards, pscore, target)
        elif name == "snipw":
            out[name] = snipw(rewards, pscore, target)
        seconds[name] = time.perf_counter() - start
    model_based = [name for name in names if name in ("dr", "dm")]
    if model_based:
        start = time.perf_counter()
        q_logged, q_target = _reward_model_terms(
            log,
            pi_e,
            idx=idx,
            l2=settings.l2,
            n_folds=settings.n_folds,
            seed=settings.seed,
            solver=settings.solver,
        )
        fit = time.perf_counter() - start
        for name in model_based:
            start = time.perf_counter()
            if name == "dr":
                out[name] = doubly_robust(rewards, pscore, target, q_logged, q_target)
            else:
                out[name] = direct_method(q_target)
            seconds[name] = fit + time.perf_counter() - start
    return out, seconds


def validate_on_obd(
    n_runs: int = 30,
    estimators: Sequence[str] = ("ipw", "snipw", "dr"),
    *,
    campaign: Campaign = "all",
    n_sim: int = 100_000,
    l2: float = 1.0 / OBP_C,
    n_folds: int = 3,
    seed: int = OBP_SEED,
    pi_e: FloatArray | None = None,
    solver: Solver = "trust-ncg",
) -> ObdValidation:
    """Estimate BTS's CTR from the random policy's logs and compare with BTS's own CTR.

    Run b (0 ≤ b < ``n_runs``) resamples the random log with
    ``np.random.RandomState(b).choice(n, n, replace=True)``, as OBP's
    ``sample_bootstrap_bandit_feedback(random_state=b)`` does, so the runs are OBP's runs.
    The reward model (DR, DM) is :func:`~moviola.ads._ope.fit_reward_model` with
    ``l2 = 1/C`` = 0.01, matching OBP's ``LogisticRegression(C=100)``, cross-fitted over
    ``n_folds`` folds seeded with ``seed``, fitted with ``solver`` (see
    :func:`~moviola.ads._ope.fit_logistic`). ``pi_e`` may be given to reuse a table from
    :func:`bts_action_dist`. Published figures are in :data:`PUBLISHED`.
    """
    for name in estimators:
        _check_choice("estimator", name, _ESTIMATORS)
    if not estimators:
        raise InputError("name at least one estimator to validate")
    if n_runs < 1:
        raise InputError(f"n_runs must be at least 1; got {n_runs}")
    _check_choice("campaign", campaign, _CAMPAIGNS)
    random_log = load_obd("random", campaign)
    truth = on_policy(load_obd("bts", campaign).rewards)
    table = (
        bts_action_dist(campaign, n_sim=n_sim, seed=seed)
        if pi_e is None
        else np.asarray(pi_e, dtype=np.float64)
    )
    if table.shape != (random_log.n_actions, random_log.len_list):
        raise InputError(
            f"pi_e must be an (items × positions) table {(random_log.n_actions, random_log.len_list)}; got {table.shape}"
        )
    names = list(dict.fromkeys(estimators))
    n = random_log.n
    settings = _RewardModel(l2=l2, n_folds=n_folds, seed=seed, solver=solver)
    full, _ = _estimates(names, random_log, table, np.arange(n, dtype=np.int64), settings)
    errors: dict[str, list[float]] = {name: [] for name in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    for b in range(n_runs):
        idx = np.random.RandomState(b).choice(n, size=n, replace=True).astype(np.int64)
        run, took = _estimates(names, random_log, table, idx, settings)
        for name in names:
            errors[name].append(abs(run[name].value - truth.value) / truth.value)
            seconds[name] += took[name]
    checks = {}
    for name in names:
        values = np.asarray(errors[name])
        checks[name] = EstimatorCheck(
            estimator=name,
            mean_relative_error=float(values.mean()),
            std_relative_error=float(values.std(ddof=1)) if len(values) > 1 else math.nan,
            relative_errors=tuple(float(v) for v in values),
            full_sample=full[name],
            published=PUBLISHED.get(name),
            seconds=seconds[name],
        )
    return ObdValidation(campaign=campaign, truth=truth, n_runs=n_runs, n_rows=n, checks=checks)
