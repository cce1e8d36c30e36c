"""Precision and recall of the breakdown's line classifier on our labelled lines.

Prints, on tests/data/labelled_lines.tsv (written independently of the
classifier's reference sentences): rules alone, the embedding model alone and
both combined (what the breakdown uses), for the fp32 model (baseline) and the
int8-quantized one (the default), in the same process. Also prints the
leave-one-out search over the reference sentences that chose the decision
constants.

    .venv/bin/python benchmarks/classifier.py [--no-search]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moviola.script._breakdown import cue_labels, line_cues
from moviola.script._classifier import (
    LABELS,
    NONE,
    ClassifierParams,
    LineClassifier,
    decide,
)
from moviola.script._embedding import Embedder, SentenceTransformerEmbedder, load_embedder

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "labelled_lines.tsv"


def load_labelled() -> list[tuple[set[str], str]]:
    with DATA.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(set(r["labels"].split("|")) - {NONE}, r["line"]) for r in rows]


def prf(
    preds: list[set[str]], golds: list[set[str]]
) -> tuple[float, float, dict[str, tuple[int, int, int]]]:
    per = {}
    for label in LABELS:
        tp = sum(1 for p, g in zip(preds, golds, strict=False) if label in p and label in g)
        fp = sum(1 for p, g in zip(preds, golds, strict=False) if label in p and label not in g)
        fn = sum(1 for p, g in zip(preds, golds, strict=False) if label not in p and label in g)
        per[label] = (tp, fp, fn)
    tp = sum(v[0] for v in per.values())
    fp = sum(v[1] for v in per.values())
    fn = sum(v[2] for v in per.values())
    return tp / max(1, tp + fp), tp / max(1, tp + fn), per


def evaluate(
    clf: LineClassifier | None, rows: list[tuple[set[str], str]]
) -> dict[str, tuple[float, float]]:
    golds = [g for g, _ in rows]
    texts = [t for _, t in rows]
    preds_model = clf.predict(texts) if clf else [{} for _ in texts]
    out = {}
    out["rules"] = prf([cue_labels(line_cues(t, {})) for t in texts], golds)[:2]
    if clf:
        out["model"] = prf([set(p) for p in preds_model], golds)[:2]
        combined = [cue_labels(line_cues(t, p)) for t, p in zip(texts, preds_model, strict=False)]
        p, r, per = prf(combined, golds)
        out["combined"] = (p, r)
        out["_per"] = per  # type: ignore[assignment]
    return out


def loo_search(clf: LineClassifier) -> None:
    protos = clf.prototypes
    vecs = clf.embedder.encode([p.text for p in protos])
    labels = clf.labels
    golds = [{p.label} - {NONE} for p in protos]
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -9.0)  # leave each reference out of its own vote
    best = None
    for k, floor, margin, spread in itertools.product(
        (1, 2, 3, 5), (0.3, 0.35, 0.4, 0.45), (0.0, 0.02, 0.05), (0.0, 0.03, 0.06, 0.1)
    ):
        scores = np.zeros((len(protos), len(labels)), dtype=np.float32)
        for j, label in enumerate(labels):
            idx = [i for i, p in enumerate(protos) if p.label == label]
            s = np.sort(sims[:, idx], axis=1)[:, -min(k, len(idx)) :]
            scores[:, j] = s.mean(axis=1)
        params = ClassifierParams(k, floor, margin, spread)
        p, r, _ = prf([set(d) for d in decide(scores, labels, params)], golds)
        f = 2 * p * r / max(1e-9, p + r)
        if best is None or f > best[0]:
            best = (f, p, r, params)
    assert best is not None
    print(
        f"leave-one-out on {len(protos)} reference sentences: best F1 {best[0]:.3f} "
        f"(P {best[1]:.3f}, R {best[2]:.3f}) with {best[3]}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-search", action="store_true")
    args = ap.parse_args()
    rows = load_labelled()
    print(
        f"labelled lines: {len(rows)} ({sum(1 for g, _ in rows if not g)} with no cue); "
        f"cores: {len(os.sched_getaffinity(0))}"
    )
    results = {}
    variants: list[tuple[str, Callable[[], Embedder]]] = [
        ("torch fp32 (baseline)", lambda: SentenceTransformerEmbedder(quantize=False)),
        ("torch int8-dynamic", lambda: SentenceTransformerEmbedder(quantize=True)),
        ("onnx int8 (default)", lambda: load_embedder(backend="onnx")),
    ]
    for variant, make in variants:
        t = time.perf_counter()
        clf = LineClassifier(make())
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        res = evaluate(clf, rows)
        t_eval = time.perf_counter() - t
        results[variant] = res
        print(f"\n== {variant}: load {t_load:.2f} s, classify {len(rows)} lines {t_eval:.2f} s")
        for name in ("rules", "model", "combined"):
            p, r = res[name]
            print(
                f"  {name:<9} precision {p:.3f}  recall {r:.3f}  F1 {2 * p * r / max(1e-9, p + r):.3f}"
            )
        if not args.no_search and variant.startswith("onnx"):
            loo_search(clf)
    per = results["onnx int8 (default)"]["_per"]
    print("\nper label (combined, onnx int8): tp fp fn  precision recall")
    for label, (tp, fp, fn) in per.items():  # type: ignore[union-attr]
        print(
            f"  {label:<24}{tp:>3}{fp:>3}{fn:>3}   {tp / max(1, tp + fp):.2f}      {tp / max(1, tp + fn):.2f}"
        )


if __name__ == "__main__":
    main()
