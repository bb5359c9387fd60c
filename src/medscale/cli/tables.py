"""Writing a result table the way every command does: Parquet for ``.parquet``, else CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def write_table(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write `frame` to `out` (its folder made when missing), without the index; the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
