"""The geometry of a scanned page, before any text is read (OpenCV, pure Python otherwise):
straightening, ink, the tables' ruling lines and cells, text lines and their pieces. `ocr.py`
reads the text of what this finds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grid import MAX_COLUMNS, MAX_ROWS, GridError

WORK_WIDTH = 1700  # pages are read at about 200 dpi: wider images are scaled down to this
MAX_SKEW = 3.0  # degrees


def _binary(gray: np.ndarray) -> np.ndarray:
    import cv2

    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    return cv2.adaptiveThreshold(blurred, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 35, 18)


def _skew(binary: np.ndarray) -> float:
    """The page's rotation in degrees: the angle that makes its rows of ink sharpest."""
    import cv2

    scale = 800 / max(binary.shape[1], 1)
    small = cv2.resize(binary, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(small, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(profile)).sum())

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.25), key=sharpness)
    fine = max(np.arange(coarse - 0.25, coarse + 0.26, 0.05), key=sharpness)
    return float(fine)


def _straighten(gray: np.ndarray) -> np.ndarray:
    import cv2

    if gray.shape[1] > WORK_WIDTH * 1.3:
        scale = WORK_WIDTH / gray.shape[1]
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    angle = _skew(_binary(gray))
    if abs(angle) < 0.05:
        return gray
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def _runs(mask: np.ndarray, min_gap: int = 1) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask as (start, end) inclusive; gaps shorter than min_gap joined."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(mask):
        if runs and i - runs[-1][1] <= min_gap:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(a, b) for a, b in runs]


def _line_positions(profile: np.ndarray, threshold: float) -> list[int]:
    return [(a + b) // 2 for a, b in _runs(profile >= threshold, min_gap=3)]


@dataclass
class _PageTable:
    ys: list[int]
    xs: list[int]
    bbox: tuple[int, int, int, int]


def _find_tables(binary: np.ndarray) -> tuple[list[_PageTable], np.ndarray]:
    """The ruled tables of a page, and the mask of their ruling lines."""
    import cv2

    h, w = binary.shape
    length = max(40, w // 30)
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    # Reconnect lines broken by noise or compression.
    horizontal = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3)))
    vertical = cv2.dilate(vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 9)))
    lines = cv2.bitwise_or(horizontal, vertical)
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    tables = []
    for i in range(1, count):
        x, y, bw, bh, _ = stats[i]
        if bw < w * 0.15 or bh < length:
            continue
        region_h = horizontal[y : y + bh, x : x + bw] > 0
        region_v = vertical[y : y + bh, x : x + bw] > 0
        ys = [y + v for v in _line_positions(region_h.sum(axis=1), bw * 0.25)]
        xs = [x + v for v in _line_positions(region_v.sum(axis=0), bh * 0.25)]
        if len(ys) < 2 or len(xs) < 2:
            continue
        if len(xs) - 1 > MAX_COLUMNS or len(ys) - 1 > MAX_ROWS:
            raise GridError(OCR_TABLE_TOO_LARGE.format(rows=len(ys) - 1, cols=len(xs) - 1))
        tables.append(_PageTable(ys, xs, (x, y, x + bw, y + bh)))
    return tables, (horizontal, vertical)


OCR_TABLE_TOO_LARGE = "扫描的表格有 {rows} 行、{cols} 列，超过上限，已拒绝。"


def _has_line(mask: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> bool:
    """Whether a ruling line runs through most of the band mask[y0:y1, x0:x1] (along its long side)."""
    band = mask[max(y0, 0) : y1, max(x0, 0) : x1] > 0
    if band.size == 0:
        return False
    if band.shape[1] >= band.shape[0]:  # horizontal band: columns that cross a line
        covered = band.any(axis=0).mean()
    else:
        covered = band.any(axis=1).mean()
    return covered > 0.6


def _cells(table: _PageTable, horizontal: np.ndarray, vertical: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The table's cells as (top, left, bottom, right) grid indices; a missing line merges."""
    ys, xs = table.ys, table.xs
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = list(range(rows * cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    t = 4
    for r in range(rows):
        for c in range(cols):
            pad_x = max(2, (xs[c + 1] - xs[c]) // 8)
            pad_y = max(2, (ys[r + 1] - ys[r]) // 8)
            if c + 1 < cols and not _has_line(
                vertical, ys[r] + pad_y, ys[r + 1] - pad_y, xs[c + 1] - t, xs[c + 1] + t + 1
            ):
                union(r * cols + c, r * cols + c + 1)
            if r + 1 < rows and not _has_line(
                horizontal, ys[r + 1] - t, ys[r + 1] + t + 1, xs[c] + pad_x, xs[c + 1] - pad_x
            ):
                union(r * cols + c, (r + 1) * cols + c)
    groups: dict[int, list[int]] = {}
    for i in range(rows * cols):
        groups.setdefault(find(i), []).append(i)
    boxes = []
    for members in groups.values():
        rs = [i // cols for i in members]
        cs = [i % cols for i in members]
        boxes.append((min(rs), min(cs), max(rs), max(cs)))
    return sorted(boxes)


def _text_lines(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Lines of text in an ink mask (a cell's inside, or a page outside its tables) as
    (y0, y1, x0, x1), top to bottom; specks of noise left out."""
    if ink.size == 0:
        return []
    rows = ink.sum(axis=1)
    lines = []
    for y0, y1 in _runs(rows > 0, min_gap=2):
        if y1 - y0 < 6:
            continue
        band = ink[y0 : y1 + 1]
        columns = band.sum(axis=0)
        xs = np.flatnonzero(columns > 0)
        if band.sum() < 25 or xs.size == 0:
            continue
        lines.append((y0, y1, int(xs[0]), int(xs[-1])))
    return lines


def _pieces(ink: np.ndarray, line: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """A line cut where its characters stand apart by more than half their height (two names
    separated by a space, "一 月"): the pieces' (x0, x1), read separately and joined by a space."""
    y0, y1, x0, x1 = line
    columns = ink[y0 : y1 + 1, x0 : x1 + 1].any(axis=0)
    gap = max(4, int((y1 - y0 + 1) * 0.3))
    pieces = []
    for a, b in _runs(columns, min_gap=gap):
        pieces.append((x0 + a, x0 + b))
    return pieces or [(x0, x1)]


def _crop(gray: np.ndarray, y0: int, y1: int, x0: int, x1: int, pad: int = 4) -> np.ndarray:
    h, w = gray.shape
    return gray[max(y0 - pad, 0) : min(y1 + pad + 1, h), max(x0 - pad, 0) : min(x1 + pad + 1, w)]


def _clean_ink(binary: np.ndarray) -> np.ndarray:
    """Ink without isolated specks (noise): components of a few pixels are dropped."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= 6
    return keep[labels]
