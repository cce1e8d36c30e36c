"""The embedding classifier: which breakdown categories an action line calls for.

An action sentence is embedded with the packaged MiniLM model and compared
with a set of reference sentences we wrote for each category
(``data/prototypes.tsv``). A category's score is the mean cosine similarity
of the ``k`` nearest references of that category; a category is proposed
when its score clears an absolute floor and beats the "nothing to tag"
references by a margin. The constants were chosen by leave-one-out
cross-validation on the references alone (``benchmarks/classifier.py``
prints the search), never on the labelled evaluation set in the tests.
"""

from __future__ import annotations

import csv
import importlib.resources
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._embedding import Embedder

#: Line-level labels. ``vfx.*`` are visual-effects cues; ``crowd`` means extras.
LABELS: tuple[str, ...] = (
    "vfx.collapse",
    "vfx.destruction",
    "vfx.explosion",
    "vfx.fire",
    "vfx.weather",
    "vfx.crowd",
    "vfx.de_aging",
    "vfx.set_extension",
    "vfx.screen_replacement",
    "vfx.creature",
    "stunt",
    "sfx",
    "crowd",
)
NONE = "none"


@dataclass(frozen=True)
class ClassifierParams:
    """The decision constants (see the module docstring for how they were chosen)."""

    k: int = 5
    floor: float = 0.30
    margin: float = 0.02
    spread: float = 0.0  # labels within this of the best one are kept too


DEFAULT_PARAMS = ClassifierParams()


@dataclass(frozen=True)
class Prototype:
    label: str
    text: str


def load_prototypes() -> list[Prototype]:
    """The packaged reference sentences (``label<TAB>line``)."""
    res = importlib.resources.files("moviola.script").joinpath("data/prototypes.tsv")
    with res.open("r", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [Prototype(r["label"], r["line"]) for r in rows]


class LineClassifier:
    """Scores action sentences against the reference sentences of each label."""

    def __init__(
        self,
        embedder: Embedder,
        prototypes: list[Prototype] | None = None,
        params: ClassifierParams = DEFAULT_PARAMS,
    ) -> None:
        self.embedder = embedder
        self.params = params
        self.prototypes = prototypes if prototypes is not None else load_prototypes()
        self.labels = [*LABELS, NONE]
        vectors = embedder.encode([p.text for p in self.prototypes])
        self._groups: dict[str, npt.NDArray[np.float32]] = {
            label: vectors[[i for i, p in enumerate(self.prototypes) if p.label == label]]
            for label in self.labels
        }

    def scores(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Per-label scores, shape ``(n, len(self.labels))``."""
        out = np.zeros((len(vectors), len(self.labels)), dtype=np.float32)
        for j, label in enumerate(self.labels):
            group = self._groups[label]
            if len(group) == 0 or len(vectors) == 0:
                continue
            sims = vectors @ group.T
            k = min(self.params.k, sims.shape[1])
            top = np.sort(sims, axis=1)[:, -k:]
            out[:, j] = top.mean(axis=1)
        return out

    def decide(self, scores: npt.NDArray[np.float32]) -> list[dict[str, float]]:
        """Turn scores into ``{label: confidence}`` per line (empty: nothing to tag)."""
        return decide(scores, self.labels, self.params)

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        return self.decide(self.scores(self.embedder.encode(texts)))


def decide(
    scores: npt.NDArray[np.float32], labels: list[str], params: ClassifierParams
) -> list[dict[str, float]]:
    """The decision rule, shared by the classifier and its cross-validation."""
    none_idx = labels.index(NONE)
    results: list[dict[str, float]] = []
    for row in scores:
        none_score = float(row[none_idx])
        cand = [(float(s), labels[j]) for j, s in enumerate(row) if j != none_idx]
        best = max(s for s, _ in cand)
        chosen: dict[str, float] = {}
        for s, label in cand:
            if s >= params.floor and s >= none_score + params.margin and s >= best - params.spread:
                # Confidence grows with the lead over "nothing to tag"; 0.5..0.95.
                lead = s - none_score
                chosen[label] = round(min(0.95, 0.5 + 2.5 * lead), 3)
        results.append(chosen)
    return results
