"""CNN test AUC on MedMNIST (PneumoniaMNIST subset, AdrenalMNIST3D), trained on 1 CPU thread.

Writes each split's images as files (PNG for 2-D, NIfTI for 3-D) with a manifest, trains
:func:`medscale.models.cnn.train_cnn` on the data set's own train split with its own
validation split for early stopping, predicts the test split from the files and reports the
test AUC with a 95 % bootstrap CI (:func:`medscale.models.classification_metrics`).

    nice -n 10 python benchmarks/bench_cnn_medmnist.py pneumonia --epochs 10
    nice -n 10 python benchmarks/bench_cnn_medmnist.py adrenal3d --epochs 10

Data: ../shared/data/medmnist (``medscale datasets fetch medmnist``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from medscale.image import Image
from medscale.io import write_image
from medscale.models import classification_metrics, read_table
from medscale.models.cnn import CnnConfig, load_cnn, predict_cnn, train_cnn

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "medmnist"
SETS = {
    "pneumonia": ("pneumoniamnist_subset.npz", ".png", 2.0),
    "adrenal3d": ("adrenalmnist3d.npz", ".nii.gz", 64.0 / 28),
}


def write_split(
    arrays: np.lib.npyio.NpzFile,
    split: str,
    folder: Path,
    suffix: str,
    spacing: float,
    limit: int | None,
) -> pd.DataFrame:
    images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"][:, 0]
    if limit is not None and limit < len(images):  # a class-stratified subset, fixed seed
        rng = np.random.default_rng(0)
        keep = np.sort(
            np.concatenate(
                [
                    rng.choice(
                        np.flatnonzero(labels == k),
                        round(limit * np.mean(labels == k)),
                        replace=False,
                    )
                    for k in np.unique(labels)
                ]
            )
        )
        images, labels = images[keep], labels[keep]
    rows = []
    for i, (array, label) in enumerate(zip(images, labels, strict=True)):
        path = folder / f"{split}{i:05d}{suffix}"
        if suffix == ".png":
            from PIL import Image as Picture

            Picture.fromarray(array).save(path)
        else:
            write_image(Image(array, spacing=(spacing,) * 3), path)
        rows.append(
            {
                "case_id": f"{split}{i:05d}",
                "image": str(path),
                "label": int(label),
                "validation": split == "val",
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(SETS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shape", type=int, nargs="+", default=None)
    parser.add_argument("--widths", type=int, nargs=4, default=(8, 16, 32, 64))
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args()
    name, suffix, spacing = SETS[args.dataset]
    arrays = np.load(DATA / name)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        fit = pd.concat(
            [
                write_split(
                    arrays, s, folder, suffix, spacing, args.train_limit if s == "train" else None
                )
                for s in ("train", "val")
            ],
            ignore_index=True,
        )
        test = write_split(arrays, "test", folder, suffix, spacing, None)
        fit.to_csv(folder / "fit.csv", index=False)
        test.to_csv(folder / "test.csv", index=False)
        write_s = time.perf_counter() - t0
        config = CnnConfig(
            shape=tuple(args.shape) if args.shape else arrays["train_images"].shape[1:],
            epochs=args.epochs,
            patience=args.patience,
            batch_size=args.batch_size,
            block_inplanes=tuple(args.widths),
            device="cpu",
            threads=args.threads,
            margin_mm=0.0,
        )
        t0 = time.perf_counter()
        model = train_cnn(
            read_table(folder / "fit.csv"),
            target="label",
            out=folder / "model",
            config=config,
            validation_column="validation",
        )
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictions = predict_cnn(
            load_cnn(folder / "model"), read_table(folder / "test.csv"), device="cpu"
        )
        predict_s = time.perf_counter() - t0
    proba = predictions["probability"].to_numpy()
    metrics = classification_metrics(
        predictions["label"], np.column_stack([1 - proba, proba]), [0, 1], n_boot=1000, seed=0
    )
    notes = model.card.notes
    result = {
        "dataset": args.dataset,
        "n_train": notes["n_train"],
        "n_val": notes["n_validation"],
        "n_test": len(predictions),
        "shape": list(config.shape or ()),
        "widths": list(config.block_inplanes),
        "epochs_run": notes["epochs_run"],
        "best_epoch": notes["best_epoch"],
        "threads": args.threads,
        "write_files_s": round(write_s, 1),
        "train_s": round(train_s, 1),
        "predict_s": round(predict_s, 1),
        "val_auc": model.card.metrics["auc"],
        "test": metrics,
        "n_parameters": sum(p.numel() for p in model.network.parameters()),
    }
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
