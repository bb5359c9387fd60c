"""Brute-force references shared by the texture-family tests (small, slow, obviously right)."""

from __future__ import annotations

import numpy as np


def random_case(seed: int, n_levels: int = 4, shape: tuple[int, int, int] = (5, 6, 7)):
    """Random levels 1..n_levels and a random ROI (about 70 % of the voxels)."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, n_levels + 1, size=shape)
    roi = rng.random(shape) < 0.7
    return levels, roi


def brute_zones(levels, roi, *, in_plane):
    """Zones by breadth-first flood fill: list of (level, voxel list)."""
    from collections import deque

    nz, ny, nx = levels.shape
    seen = np.zeros(levels.shape, dtype=bool)
    steps = [
        (dz, dy, dx)
        for dz in ((0,) if in_plane else (-1, 0, 1))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dz, dy, dx) != (0, 0, 0)
    ]
    zones = []
    for start in zip(*np.nonzero(roi), strict=True):
        if seen[start]:
            continue
        level = levels[start]
        seen[start] = True
        queue, members = deque([start]), []
        while queue:
            z, y, x = queue.popleft()
            members.append((z, y, x))
            for dz, dy, dx in steps:
                q = (z + dz, y + dy, x + dx)
                if (
                    0 <= q[0] < nz
                    and 0 <= q[1] < ny
                    and 0 <= q[2] < nx
                    and roi[q]
                    and not seen[q]
                    and levels[q] == level
                ):
                    seen[q] = True
                    queue.append(q)
        zones.append((int(level), members))
    return zones
