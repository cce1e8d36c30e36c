"""Image filters both effects use: the guided filter (the collapse's matte edges, the
de-aging's skin smoothing)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]


def guided_filter(guide: F32, src: F32, radius: int, eps: float) -> F32:
    """He et al.'s guided filter (grey guide): edges of ``src`` snap to edges of ``guide``."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(a: NDArray[np.floating[Any]]) -> F32:
        return np.asarray(
            cv2.boxFilter(a, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT), np.float32
        )

    mi, mp = box(guide), box(src)
    var = box(guide * guide) - mi * mi
    cov = box(guide * src) - mi * mp
    a = cov / (var + eps)
    b = mp - a * mi
    return np.asarray(box(a) * guide + box(b), np.float32)
