"""Off-policy evaluation on the Open Bandit Dataset sample, OBP's published protocol.

Bernoulli TS (ZOZOTOWN's production priors, campaign "all") is evaluated from the
uniform-random policy's 10,000 logged impressions, and compared with BTS's own CTR on
its 10,000 impressions. 30 bootstrap runs (``RandomState(b).choice``, b = 0..29); DR and
DM use one logistic reward model per slot, 3-fold cross-fitted, l2 = 1/C with OBP's C=100,
fitted by trust-region Newton-CG (and, for comparison, by L-BFGS-B).
π_e is drawn with 10^6 Monte Carlo rankings, as OBP's script does.

Prints, per estimator: mean (std) relative error beside OBP's published figure (zr-obp
master examples/obd/README.md), the full-sample estimate with its 95% interval beside the
truth, and the time taken. The baseline in the same run is the naive answer, the logging
policy's own CTR taken as the candidate's.

    .venv/bin/python benchmarks/ads_ope.py
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from moviola.ads._obd import PUBLISHED, bts_action_dist, load_obd, validate_on_obd
from moviola.ads._ope import ipw, on_policy, snipw


def main() -> None:
    print(f"cores: {len(os.sched_getaffinity(0))}")
    start = time.perf_counter()
    random_log = load_obd("random", "all")
    bts_log = load_obd("bts", "all")
    print(f"OBD sample, campaign all: random log {random_log.n:,} rows ({int(random_log.rewards.sum())} clicks), "
          f"BTS log {bts_log.n:,} rows ({int(bts_log.rewards.sum())} clicks), "
          f"{random_log.n_actions} items x {random_log.len_list} slots; read in {time.perf_counter() - start:.2f} s")  # fmt: skip
    start = time.perf_counter()
    table = bts_action_dist("all", n_sim=1_000_000)
    print(
        f"pi_e (BTS top-3 frequencies, 10^6 draws, RandomState(12345)): {time.perf_counter() - start:.1f} s"
    )

    start = time.perf_counter()
    result = validate_on_obd(30, ("ipw", "snipw", "dr", "dm"), pi_e=table)
    total = time.perf_counter() - start
    truth = result.truth
    print(f"truth: BTS on-policy CTR {truth.value:.6f} [{truth.low:.6f}, {truth.high:.6f}]")

    # The naive baseline: the logger's own CTR, as if the candidate changed nothing.
    n = random_log.n
    naive = [
        abs(float(random_log.rewards[np.random.RandomState(b).choice(n, n, replace=True)].mean()) - truth.value) / truth.value
        for b in range(30)
    ]  # fmt: skip
    full_naive = on_policy(random_log.rewards)

    print(
        f"\nrelative error over {result.n_runs} bootstrap runs (mean (std)), and the full-sample estimate"
    )
    print(
        f"{'estimator':<10}{'ours':>20}{'OBP published':>15}{'estimate':>11}{'95% interval':>24}{'covers':>8}{'ms/run':>9}"
    )
    for name, check in result.checks.items():
        est = check.full_sample
        published = f"{PUBLISHED[name]:.6f}" if name in PUBLISHED else "-"
        print(f"{name:<10}{check.mean_relative_error:>11.6f} ({check.std_relative_error:.4f}){published:>15}"
              f"{est.value:>11.6f}  [{est.low:.6f}, {est.high:.6f}]{'yes' if est.low <= truth.value <= est.high else 'no':>8}"
              f"{1000 * check.seconds / result.n_runs:>9.1f}")  # fmt: skip
    print(f"{'naive':<10}{np.mean(naive):>11.6f} ({np.std(naive, ddof=1):.4f}){'-':>15}{full_naive.value:>11.6f}"
          f"  [{full_naive.low:.6f}, {full_naive.high:.6f}]{'yes':>8}{'-':>9}")  # fmt: skip
    print(
        f"whole validation: {total:.1f} s (dr and dm each include the 9 reward-model fits per run, shared)"
    )

    # The reward model's solver: L-BFGS-B (the other choice) on the same 30 runs.
    start = time.perf_counter()
    lbfgs = validate_on_obd(30, ("dr",), pi_e=table, solver="lbfgs").checks["dr"]
    print(f"dr with L-BFGS-B fits instead of trust-ncg: {lbfgs.mean_relative_error:.6f} "
          f"({lbfgs.std_relative_error:.4f}), {1000 * lbfgs.seconds / 30:.1f} ms/run "
          f"({time.perf_counter() - start:.1f} s)")  # fmt: skip

    # One estimator call on the 10,000 rows, best of 20.
    target = table[random_log.actions, random_log.positions]
    for name, call in (
        ("ipw", lambda: ipw(random_log.rewards, random_log.pscore, target)),
        ("snipw", lambda: snipw(random_log.rewards, random_log.pscore, target)),
        (
            "ipw bootstrap x1000",
            lambda: ipw(random_log.rewards, random_log.pscore, target, method="bootstrap"),
        ),
    ):
        best = min(_timed(call) for _ in range(20 if "bootstrap" not in name else 3))
        print(f"{name} on {n:,} rows: {1000 * best:.2f} ms")


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
