"""Train the prompt-injection model gwstream ships (src/gwstream/data/injection_model.json).

A logistic regression over the words of each text as the rules
see it (gwstream.guardrails.classifier.features), trained on labelled sets
(injections against everything else: benign turns, PII texts, near misses).
The threshold is the model's probability above which at most
``--benign-fp`` of the benign turns fall, read from 5-fold cross-validated
scores (scores of turns the model was not trained on). Weights smaller than
``--prune``, and those of words longer than 20 letters (pieces of encoded
payloads), are dropped, so the file stays small.

It needs the ``train`` extra (scikit-learn, numpy); gwstream itself never does:

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_injection_model.py tests/guardrails/corpus.jsonl \\
        tests/guardrails/blind.jsonl tests/guardrails/blind2.jsonl ... --evaluate tests/guardrails/blind6.jsonl

``--evaluate`` sets are scored, never trained on: keep one set nobody trained on
to say how the model does on unseen text. Deterministic: the same sets give
the same file.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from gwstream.guardrails.classifier import MODEL_RESOURCE, Model, features
from gwstream.guardrails.injection import detect
from gwstream.guardrails.normalize import fold_for_rules, normalize

OUT = Path(__file__).parents[1] / "src" / "gwstream" / MODEL_RESOURCE
#: Longer "words" are pieces of encoded payloads in the training texts: they say nothing of
#: the next one, and are left out of the file.
MAX_WORD = 20


def _load(paths: list[Path]) -> list[dict[str, object]]:
    items = []
    for path in paths:
        for line in path.read_text().splitlines():
            item = json.loads(line)
            item["folded"] = fold_for_rules(normalize(item["text"]).text)
            items.append(item)
    return items


def _vector(items: list[dict[str, object]]) -> list[dict[str, int]]:
    return [dict.fromkeys(features(str(item["folded"])), 1) for item in items]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path, help="labelled JSON-lines sets to train on")
    ap.add_argument("--evaluate", nargs="*", type=Path, default=[], help="sets only scored")
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--benign-fp", type=float, default=0.005, help="benign turns flagged, at most")
    ap.add_argument("--prune", type=float, default=0.05, help="weights smaller are dropped")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    train = _load(args.sets)
    y = np.array([1 if item.get("injection") else 0 for item in train])
    benign = np.array([item["category"] == "benign" for item in train])
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(_vector(train))
    model = LogisticRegression(C=args.c, max_iter=5000, class_weight="balanced")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=20261207)
    held_out = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    ordered = np.sort(held_out[benign])
    threshold = float(ordered[min(len(ordered) - 1, int(len(ordered) * (1 - args.benign_fp)))])
    threshold = max(threshold, 0.5)
    model.fit(x, y)

    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): round(float(w), 4)
        for name, w in zip(names, model.coef_[0], strict=True)
        if abs(w) >= args.prune and len(name) <= MAX_WORD
    }
    shipped = Model(weights, float(model.intercept_[0]), threshold)
    print(
        f"trained on {len(train)} texts ({int(y.sum())} injections) from {len(args.sets)} sets; "
        f"{len(weights)} of {len(names)} features kept; threshold {threshold:.3f}"
    )
    cv_flagged = held_out >= threshold
    print(
        f"  cross-validated: recall {cv_flagged[y == 1].mean():.1%}, benign flagged "
        f"{cv_flagged[benign].mean():.2%}"
    )
    for path in args.evaluate:
        items = _load([path])
        truth = np.array([1 if item.get("injection") else 0 for item in items])
        is_benign = np.array([item["category"] == "benign" for item in items])
        alone = np.array([shipped.probability(str(i["folded"])) >= threshold for i in items])
        rules = np.array([detect(str(i["text"]), model=False).flagged for i in items])
        both = alone | rules
        print(
            f"  {path.name} (not trained on): model alone recall {alone[truth == 1].mean():.1%}"
            f" at {alone[is_benign].mean():.2%} benign flagged; rules {rules[truth == 1].mean():.1%}"
            f" at {rules[is_benign].mean():.2%}; rules and model {both[truth == 1].mean():.1%}"
            f" at {both[is_benign].mean():.2%}"
        )
    document = {
        "about": (
            "gwstream's prompt-injection model: logistic regression over the words "
            "of the normalised text (gwstream.guardrails.classifier). Made by "
            "scripts/train_injection_model.py; do not edit."
        ),
        "trained_on": [p.name for p in args.sets],
        "not_trained_on": [p.name for p in args.evaluate],
        "texts": len(train),
        "injections": int(y.sum()),
        "c": args.c,
        "benign_false_positives_target": args.benign_fp,
        "made": datetime.date.today().isoformat(),
        "threshold": round(threshold, 4),
        "bias": round(float(model.intercept_[0]), 4),
        "weights": dict(sorted(weights.items())),
    }
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
