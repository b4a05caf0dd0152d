"""Scans and photos of the three real notices, made in the test as a scanner or phone makes them.

Each notice is printed to PDF (`pdfs.notice_pdf`: title, body, 附件 labels, ruled tables over
pages, merged cells cut by page breaks), rendered to grey pages at 150–200 dpi (pdfium), turned
by up to 2°, given sensor noise and JPEG compression, and put back together as a scanned PDF
(one picture per page, no text) or kept as one .jpg/.png page.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pypdfium2
from PIL import Image

from quotas.notice.grid import read_grids

from .pdfs import notice_pdf, table_from_sheet

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
CASES = ["rugao-2023", "yizheng-2024", "yuanzhou-2023"]
BODY = ["各镇人民政府，各园区，市各委、办、局：", "现将无偿献血工作目标任务分解落实如下。"]


def expected(name: str) -> dict:
    return json.loads((NOTICES / f"{name}.xlsx.expected.json").read_text(encoding="utf-8"))


def printed(name: str) -> bytes:
    sheets = read_grids((NOTICES / f"{name}.xlsx").read_bytes(), f"{name}.xlsx")
    return notice_pdf([table_from_sheet(sheet, sheet.name) for sheet in sheets], body=BODY)


def scanned_pages(
    pdf: bytes, *, dpi: int = 170, angle: float = 1.0, noise: float = 8.0, quality: int = 60, seed: int = 1
) -> list[Image.Image]:
    """Each page as a scanner gives it: grey, turned by `angle` degrees, noisy, JPEG-compressed."""
    rng = np.random.default_rng(seed)
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            image = image.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=255)
            pixels = np.asarray(image, dtype=np.float32)
            pixels = pixels * 0.85 + 20 + rng.normal(0, noise, pixels.shape)  # grey paper, sensor noise
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            pages.append(Image.open(io.BytesIO(buffer.getvalue())))
    finally:
        document.close()
    return pages


def scanned_pdf(pages: list[Image.Image], dpi: int = 170) -> bytes:
    """A PDF of one picture per page and no text, as a scanner writes it."""
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buffer.getvalue()


def jpeg(page: Image.Image, quality: int = 70) -> bytes:
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
