"""`medscale train MANIFEST --task segmentation --model unet --out MODEL`: the U-Net from a
manifest's ``image`` + ``mask`` columns (see `medscale.segment.unet`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medscale.errors import InputError


def train_from_manifest(
    manifest: str | Path,
    out: str | Path,
    *,
    epochs: int = 30,
    device: str = "auto",
    resume: bool = False,
    seed: int = 0,
    on_epoch: Any = None,
    **options: Any,
) -> Any:
    """Train on the manifest's cases, checkpointing to `out` each epoch; save the model folder.

    Returns the `UNetSegmenter`. With `resume`, a cut training continues from ``out``'s
    checkpoint; the checkpoint is removed once the model folder is written.
    """
    from medscale.dl import configure_threads
    from medscale.engine.manifest import read_manifest
    from medscale.io import read_image, read_mask
    from medscale.segment.unet import train_unet

    table = read_manifest(manifest, required=("case_id", "image", "mask"))
    ids = table["case_id"].to_pylist()
    images, masks = [], []
    for case, image_path, mask_path in zip(
        ids, table["image"].to_pylist(), table["mask"].to_pylist(), strict=True
    ):
        if not image_path or not mask_path:
            raise InputError(f"{manifest}: case {case} needs both an image and a mask")
        try:
            images.append(read_image(image_path))
            masks.append(read_mask(mask_path))
        except InputError as err:
            raise type(err)(f"case {case}: {err}") from err
    if not images:
        raise InputError(f"{manifest}: the manifest has no cases")
    folder = Path(out)
    configure_threads()  # the cores this process may use
    model = train_unet(
        images,
        masks,
        epochs=epochs,
        device=device,
        checkpoint_folder=folder,
        resume=resume,
        seed=seed,
        names=[f"case {case}" for case in ids],
        on_epoch=on_epoch,
        **options,
    )
    model.record["manifest"] = str(Path(manifest).resolve())
    model.save(folder)
    from medscale.dl import Checkpoint

    Checkpoint(folder).remove()
    return model
