"""Train the example model and write what the mlci steps judge.

A scikit-learn classifier on the breast-cancer data that scikit-learn ships
(no download). Writes:

  model/                  the MLflow model (sklearn flavour, with a signature)
  data/train.csv          the training rows (what lineage records, drift's reference)
  eval/holdout.csv        held-out rows: features, target and a `site` group column
  eval/predictions.csv    the model's predictions on them: y_true, y_pred, y_score, site

`--variant baseline` trains the earlier, simpler model (two features) whose
predictions are committed as baseline/predictions.csv: what a candidate is
compared with. `--variant weak` trains a deliberately poor model (two weak
features), so the pipeline's gates can be seen failing.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

WEAK_FEATURES = ["mean fractal dimension", "texture error"]
BASELINE_FEATURES = ["mean smoothness", "mean symmetry"]
VARIANTS = {"good": None, "baseline": BASELINE_FEATURES, "weak": WEAK_FEATURES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=list(VARIANTS), default="good")
    parser.add_argument("--out", default=".", help="folder to write model/ and eval/ into")
    parser.add_argument("--seed", type=int, default=7, help="the train/holdout split")
    parser.add_argument("--c", type=float, default=1.0,
                        help="inverse regularisation strength (a retrain with another C "
                             "gives a slightly different model on the same holdout rows)")
    args = parser.parse_args()

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "y_true"})
    # A stand-in for a sensitive or operational attribute to slice by.
    frame["site"] = np.random.default_rng(0).choice(["north", "south"], size=len(frame))
    chosen = VARIANTS[args.variant]
    features = [c for c in data.feature_names if chosen is None or c in chosen]
    train, holdout = train_test_split(frame, test_size=0.3, random_state=args.seed,
                                      stratify=frame["y_true"])

    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.c, max_iter=1000))
    model.fit(train[features], train["y_true"])

    out = Path(args.out)
    for folder in ("eval", "data"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    train.to_csv(out / "data" / "train.csv", index=False)
    holdout.to_csv(out / "eval" / "holdout.csv", index=False)
    predictions = pd.DataFrame({
        "y_true": holdout["y_true"].to_numpy(),
        "y_pred": model.predict(holdout[features]),
        "y_score": model.predict_proba(holdout[features])[:, 1].round(6),
        "site": holdout["site"].to_numpy(),
    })
    predictions.to_csv(out / "eval" / "predictions.csv", index=False)
    save_mlflow_model(model, holdout[features], out / "model")
    accuracy = float((predictions["y_true"] == predictions["y_pred"]).mean())
    print(f"trained {args.variant} model: holdout accuracy {accuracy:.3f} "
          f"on {len(holdout)} rows → {out / 'model'}, {out / 'eval'}")


def save_mlflow_model(model: object, example: pd.DataFrame, path: Path) -> None:
    import logging

    import mlflow.sklearn
    from mlflow.models import infer_signature

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # keep the demo's output readable

    if path.exists():
        shutil.rmtree(path)
    signature = infer_signature(example, model.predict(example))  # type: ignore[attr-defined]
    mlflow.sklearn.save_model(model, str(path), signature=signature,
                              serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE)


if __name__ == "__main__":
    main()
