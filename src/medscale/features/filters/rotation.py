"""Right-angle rotations for rotation-invariant filtering (IBSI-2 sec. 2.2.3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["pooled", "right_angle_rotations"]

Rotation = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _rot(k: int, axes: tuple[int, int]) -> Rotation:
    return (lambda a: np.rot90(a, k, axes), lambda a: np.rot90(a, -k, axes))


def right_angle_rotations(*, two_d: bool) -> Iterator[Rotation]:
    """(forward, inverse) pairs: the 4 in-plane rotations (2-D) or the 24 of the cube (3-D)."""
    if two_d:
        for k in range(4):
            yield _rot(k, (1, 2))
        return
    # the 6 directions the z axis can point to, then 4 turns about it
    faces: list[Rotation] = [
        _rot(0, (0, 1)),
        _rot(1, (0, 1)),
        _rot(2, (0, 1)),
        _rot(3, (0, 1)),
        _rot(1, (0, 2)),
        _rot(3, (0, 2)),
    ]
    for face in faces:
        for k in range(4):
            yield _compose(face, _rot(k, (1, 2)))


def _compose(first: Rotation, second: Rotation) -> Rotation:
    def forward(a: np.ndarray) -> np.ndarray:
        return second[0](first[0](a))

    def inverse(a: np.ndarray) -> np.ndarray:
        return first[1](second[1](a))

    return forward, inverse


def pooled(
    array: np.ndarray,
    apply: Callable[[np.ndarray], np.ndarray],
    *,
    two_d: bool,
    pooling: str,
) -> np.ndarray:
    """Pool ``apply`` over the right-angle rotations of ``array`` ("max", "mean" or "min")."""
    result: np.ndarray | None = None
    count = 0
    for forward, inverse in right_angle_rotations(two_d=two_d):
        response = np.ascontiguousarray(inverse(apply(np.ascontiguousarray(forward(array)))))
        count += 1
        if result is None:
            result = response.copy()
        elif pooling == "max":
            np.maximum(result, response, out=result)
        elif pooling == "min":
            np.minimum(result, response, out=result)
        else:
            result += response
    assert result is not None
    return result / count if pooling == "mean" else result
