"""Learning from what members do, and deciding when a new policy may serve: logged decisions
with their propensities, off-policy estimates with intervals, promotion only when the
estimate says the candidate is better, and servers picking the promoted policy up."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ads_world import campaign_toml, make_service, make_spot
from conftest import RunCli
from moviola.ads import AdServer, Signer, add_campaign, read_config, record_beacon
from moviola.ads._policy_eval import evaluate_candidate, read_logs, read_logs_file, write_logs
from moviola.core import InputError
from moviola.stream import Service

UNIFORM = "[ads]\nexploration = \"epsilon\"\nepsilon = 1.0\n"
LEARNING = "[ads]\nexploration = \"softmax\"\nsoftmax_lambda = 8.0\n"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Service:
    """A service that served 240 decisions uniformly at random: members interact with the
    'b15' overlay (reward 1 + 3) and watch the others to the end (reward 1) or skip them."""
    root = tmp_path_factory.mktemp("ope")
    svc = make_service(root / "svc")
    for name, colour in (("a15", (200, 80, 40)), ("b15", (40, 80, 200)), ("c15", (30, 160, 60))):
        make_spot(root / "c" / f"{name}.mp4", 15, colour=colour)
    (root / "c" / "camp.toml").write_text(campaign_toml("acme", [("a15", "a15.mp4", None), ("b15", "b15.mp4", None),
                                                                  ("c15", "c15.mp4", None)]), encoding="utf-8")  # fmt: skip
    add_campaign(svc, root / "c" / "camp.toml")
    (svc.root / "ads.toml").write_text(UNIFORM, encoding="utf-8")
    ads = AdServer(svc, seed=5)
    signer = Signer.for_service(svc)
    rng = random.Random(9)
    for i in range(240):
        pod = ads.decide(rng.choice(["m1", "m2", "m3"]), "preroll", seconds=15, now=1_800_000_000 + i)
        d = pod.decisions[0]
        s = signer.sign(d.serving_id)
        record_beacon(svc, signer, ads.config, d.serving_id, "impression", s, now=1_800_000_000 + i)
        if d.creative.creative_id == "b15" and rng.random() < 0.8:
            record_beacon(svc, signer, ads.config, d.serving_id, "interaction", s, now=1_800_000_000 + i)
        last = "complete" if d.creative.creative_id != "c15" or rng.random() < 0.3 else "skip"
        record_beacon(svc, signer, ads.config, d.serving_id, last, s, now=1_800_000_000 + i)
    (svc.root / "ads.toml").write_text(LEARNING, encoding="utf-8")
    return svc


def test_every_closed_decision_is_logged_with_its_propensity_and_reward(logged: Service, tmp_path: Path) -> None:
    logs = read_logs(logged)

    assert len(logs) == 240
    assert all(abs(x.propensity - 1 / 3) < 1e-6 for x in logs)  # uniform logging, recorded as such
    b = [x.reward for x in logs if x.creatives[x.chosen] == "b15"]
    assert set(b) <= {1.0, 4.0} and max(b) == 4.0
    write_logs(logs, tmp_path / "logs.jsonl")
    assert read_logs_file(tmp_path / "logs.jsonl") == logs


def test_a_better_candidate_is_estimated_better_and_promoted_then_served(logged: Service, run_cli: RunCli) -> None:
    evaluation = evaluate_candidate(read_logs(logged), read_config(logged.root))
    dr, incumbent = evaluation.estimates["dr"], evaluation.incumbent

    assert evaluation.fitted_on + evaluation.evaluated_on == 240
    assert dr.low <= dr.value <= dr.high and dr.value > incumbent.value  # learns to show b15
    assert evaluation.promote

    result = run_cli("ads", "ope", logged.root, "--json", "--promote")
    report = json.loads(result.out)
    assert result.code == 0 and report["better"] and report["promoted"].startswith("ads-")
    assert set(report["candidate"]) == {"ipw", "snipw", "dr"}
    ads = AdServer(logged, seed=1)
    assert ads.policy.base == report["promoted"]  # a new server serves the promoted policy
    pod = ads.decide("m1", "preroll", seconds=15, now=1_800_001_000)
    assert pod.decisions[0].probabilities["b15"] > 0.5


def test_too_few_logs_or_a_broken_log_file_is_a_clear_error(logged: Service, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs at least 20"):
        evaluate_candidate(read_logs(logged)[:5], read_config(logged.root))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"serving_id": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 1: not a logged decision"):
        read_logs_file(bad)


def test_logs_written_by_the_cli_are_what_ope_reads_back(logged: Service, run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "logs.jsonl"
    written = run_cli("ads", "logs", logged.root, "--out", out, "--json")
    assert written.code == 0 and json.loads(written.out)["decisions"] == 240

    result = run_cli("ads", "ope", logged.root, "--logs", out, "--json")
    report = json.loads(result.out)
    assert result.code == 0 and report["logs"] == 240 and report["promoted"] is None  # no --promote
    assert report["incumbent"]["low"] <= report["incumbent"]["value"] <= report["incumbent"]["high"]
