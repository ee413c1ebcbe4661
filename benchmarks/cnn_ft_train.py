"""Fine-tune MobileNetV2's last blocks (`features[17:]`) for type / gender / colour on cached maps.

    nice .venv/bin/python benchmarks/cnn_ft_maps.py       # once: the frozen trunk's 160x7x7 maps
    nice .venv/bin/python benchmarks/cnn_ft_train.py      # --tag NAME, --epochs, --lr, --nce ...; resumable per tag

Trains on the 80% of the fashion products that the held-out benchmarks train on (the held-out 20%
of `bench_quality2_heads.heldout_rows` is never seen), minus a validation slice (`--val-frac`
of the 80%, seeded) that picks the epoch (early stopping on mean validation accuracy). The
network: the ImageNet `features[17]` (inverted residual 160->320) and `features[18]` (1x1 conv
to 1280) of the shipped encoder, average-pooled, dropout, one linear layer per attribute;
cross-entropy (label smoothing 0.1) on type / gender / colour, plus optionally an InfoNCE term
(`--nce WEIGHT`) between a linear projection of the pooled features and the product title's e5
vector (from the benchmark feature cache). Mirror augmentation flips the 7x7 grid. BatchNorm
statistics stay the ImageNet ones unless `--bn train`.

Writes benchmarks/out/cnn_ft/TAG/: weights.npz (the fine-tuned `features[17:]` state dict and the
heads, float32), features.npy (pooled 1280-d features of every photo, eval mode), log_probs.npz
(each attribute's log-probabilities for every photo, with the class names), train.json (the
recipe, per-epoch validation figures, seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, load_fashion  # noqa: E402
from bench_quality2_heads import heldout_rows  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.encoders.mobilenet import load_pretrained  # noqa: E402
from shoplens.encoders.openmp import import_torch  # noqa: E402

DIR = OUT / "cnn_ft"
FIELDS = ("type", "gender", "colour")


def labels_for(products, rows, min_count: int = 1) -> dict[str, tuple[list[str], np.ndarray]]:
    """field -> (classes seen in `rows`, (n_products,) class index or -1)."""
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    out = {}
    for f in FIELDS:
        vals, counts = np.unique([attrs[i][f] for i in rows if f in attrs[i]], return_counts=True)
        classes = [str(v) for v, c in zip(vals, counts) if c >= min_count]
        y = np.array([classes.index(a[f]) if a.get(f) in classes else -1 for a in attrs], np.int64)
        out[f] = (classes, y)
    return out


def build(torch, n_classes: dict[str, int], nce_dim: int):
    nn = torch.nn

    class FineTuned(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = load_pretrained().features[17:]
            self.drop = nn.Dropout(0.2)
            self.heads = nn.ModuleDict({f"by_{f}": nn.Linear(1280, n) for f, n in n_classes.items()})  # "type" is taken
            self.proj = nn.Linear(1280, nce_dim) if nce_dim else None

        def embed(self, m):
            return self.body(m).mean(dim=(2, 3))

        def forward(self, m):
            e = self.embed(m)
            h = self.drop(e)
            return e, {k[3:]: head(h) for k, head in self.heads.items()}

    return FineTuned()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tag", default="base")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3, help="heads' learning rate")
    ap.add_argument("--body-lr", type=float, default=3e-4, help="features[17:]'s learning rate")
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--bn", choices=["frozen", "train"], default="frozen")
    ap.add_argument("--nce", type=float, default=0.0, help="weight of the InfoNCE term to the titles' e5 vectors")
    ap.add_argument("--tau", type=float, default=0.05)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-batches", type=int, default=0, help="stop each epoch after N batches (smoke test)")
    a = ap.parse_args(argv)
    out = DIR / a.tag
    if (out / "train.json").exists():
        print(f"{out} exists")
        return 0
    torch = import_torch()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    products = load_fashion()
    maps = torch.from_numpy(np.load(DIR / "maps.npy").astype(np.float32))
    ids = np.load(DIR / "ids.npy")
    assert list(ids) == [p.id for p in products], "maps.npy is not in load_fashion order"
    test = heldout_rows(products)
    train80 = np.setdiff1d(np.arange(len(products)), test)
    rng = np.random.default_rng(a.seed)
    val = np.sort(rng.choice(train80, size=int(round(a.val_frac * len(train80))), replace=False))
    fit = np.setdiff1d(train80, val)
    labels = labels_for(products, train80)
    Y = {f: torch.from_numpy(labels[f][1]) for f in FIELDS}
    T = None
    if a.nce:
        T = torch.from_numpy(title_vectors(products))
    model = build(torch, {f: len(labels[f][0]) for f in FIELDS}, T.shape[1] if T is not None else 0)
    body_params = list(model.body.parameters())
    other = [p for n, p in model.named_parameters() if not n.startswith("body.")]
    opt = torch.optim.AdamW(
        [{"params": body_params, "lr": a.body_lr}, {"params": other, "lr": a.lr}], weight_decay=a.wd
    )
    steps = a.epochs * ((len(fit) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[a.body_lr, a.lr], total_steps=steps, pct_start=0.1)
    F = torch.nn.functional
    history, best, best_state, bad = [], -1.0, None, 0
    print(
        f"{len(fit)} fit / {len(val)} val / {len(test)} held out; classes "
        + ", ".join(f"{f} {len(labels[f][0])}" for f in FIELDS),
        flush=True,
    )
    for ep in range(a.epochs):
        model.train()
        if a.bn == "frozen":
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        perm = torch.from_numpy(rng.permutation(fit))
        tot, nb, te = 0.0, 0, time.perf_counter()
        for k in range(0, len(perm), a.batch):
            b = perm[k : k + a.batch]
            x = maps[b]
            flip = torch.rand(len(b)) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            e, logits = model(x)
            loss = sum(F.cross_entropy(logits[f], Y[f][b], ignore_index=-1, label_smoothing=0.1) for f in FIELDS)
            if T is not None:
                z = F.normalize(model.proj(e), dim=1)
                t = T[b]
                sim = z @ t.T / a.tau
                tgt = torch.arange(len(b))
                loss = loss + a.nce * 0.5 * (F.cross_entropy(sim, tgt) + F.cross_entropy(sim.T, tgt))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot, nb = tot + loss.item(), nb + 1
            if a.limit_batches and nb >= a.limit_batches:
                break
        acc = evaluate(torch, model, maps, val, labels)
        score = float(np.mean(list(acc.values())))
        history.append({"epoch": ep + 1, "loss": tot / nb, "val_accuracy": acc, "seconds": time.perf_counter() - te})
        print(
            f"epoch {ep + 1}: loss {tot / nb:.3f}; val "
            + " / ".join(f"{f} {acc[f]:.3f}" for f in FIELDS)
            + f" [{time.perf_counter() - te:.0f}s/epoch, {time.perf_counter() - t0:.0f}s]",
            flush=True,
        )
        if score > best:
            best, bad = score, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= a.patience:
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    out.mkdir(parents=True, exist_ok=True)
    feats, lps = encode_all(torch, model, maps)
    np.save(out / "features.npy", feats.astype(np.float16))
    np.savez(
        out / "log_probs.npz", **{f: lps[f] for f in FIELDS}, **{f"{f}.classes": np.array(labels[f][0]) for f in FIELDS}
    )
    np.savez(out / "weights.npz", **{k: v.numpy() for k, v in best_state.items()})
    test_acc = evaluate(torch, model, maps, test, labels)
    rec = {
        "recipe": vars(a),
        "best_epoch": int(np.argmax([np.mean(list(h["val_accuracy"].values())) for h in history])) + 1,
        "history": history,
        "heldout_accuracy_own_classifier": test_acc,
        "seconds": time.perf_counter() - t0,
        "fit": len(fit),
        "val": len(val),
        "heldout": len(test),
    }
    (out / "train.json").write_text(json.dumps(rec, indent=2))
    print(
        "held-out accuracy (own classifier): "
        + " / ".join(f"{f} {test_acc[f]:.3f}" for f in FIELDS)
        + f"; saved {out} in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return 0


def evaluate(torch, model, maps, rows, labels) -> dict[str, float]:
    model.eval()
    with torch.inference_mode():
        logits = {f: [] for f in FIELDS}
        for k in range(0, len(rows), 256):
            _, lg = model(maps[torch.from_numpy(rows[k : k + 256])])
            for f in FIELDS:
                logits[f].append(lg[f])
    acc = {}
    for f in FIELDS:
        pred = torch.cat(logits[f]).argmax(1).numpy()
        y = labels[f][1][rows]
        acc[f] = float(np.mean(pred[y >= 0] == y[y >= 0]))
    return acc


def encode_all(torch, model, maps):
    model.eval()
    feats, lps = [], {f: [] for f in FIELDS}
    with torch.inference_mode():
        for k in range(0, len(maps), 256):
            e, lg = model(maps[k : k + 256])
            feats.append(e.numpy())
            for f in FIELDS:
                lps[f].append(torch.log_softmax(lg[f], 1).numpy())
    return np.concatenate(feats), {f: np.concatenate(v).astype(np.float32) for f, v in lps.items()}


def title_vectors(products) -> np.ndarray:
    """Unit e5 passage vectors of the titles, from the benchmark feature cache (encoded once there)."""
    from align_data import feature_cache, make_encoders

    enc = make_encoders()["e5"]
    cache = feature_cache()
    v = cache.encode_texts(enc, [p.title or "" for p in products], "passage", batch_size=64)
    v = np.asarray(v, np.float32)
    return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9)


if __name__ == "__main__":
    raise SystemExit(main())
