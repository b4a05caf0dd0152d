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


# Yizheng's 附件1 as printed with a 合计 row (3,425, the sum of its ten numbers), except that
# 刘集镇's 380 reads 880: what a misread digit looks like to the reader. Every row of the sum is
# flagged; staff correct 附件1 C4 to 380 and the total agrees again.
MISREAD_REF, MISREAD_AS, MISREAD_TRUE, MISREAD_TOTAL = "附件1!C4", "880", "380", 3425


def misread_scan(*, dpi: int = 170) -> bytes:
    """A photographed page (.jpg) of yizheng-2024's 附件1 whose 刘集镇 number does not add up."""
    sheet = read_grids((NOTICES / "yizheng-2024.xlsx").read_bytes(), "yizheng-2024.xlsx")[0]
    table = table_from_sheet(sheet, "附件1")
    rows = [list(row) for row in table.rows]
    assert rows[1][1] == "刘集镇" and rows[1][2] == MISREAD_TRUE
    rows[1][2] = MISREAD_AS
    rows.append(["合计", None, str(MISREAD_TOTAL)])
    table.rows = rows
    pdf = notice_pdf([table], body=BODY, attachments_on_new_page=False)
    return jpeg(scanned_pages(pdf, dpi=dpi, angle=0.8)[0])
