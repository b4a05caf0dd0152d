"""Read scanned or photographed attachment tables (image pages of a PDF, .jpg/.png) offline.

Pure Python on OpenCV (ruling lines, deskew) and RapidOCR's recognition model on onnxruntime;
the model ships inside the `rapidocr_onnxruntime` wheel and is loaded from there, so nothing is
downloaded at run time. Each page becomes what `pdf.py` makes of a text PDF's page — its text
lines and its tables as `_Table` grids — and the same assembly (`pdf._assemble`: 附件 labels,
tables continued over pages, the header repeated after a break, merged cells cut by it) turns
them into `Sheet`s for the layout reader. Everything after the grid is the import as it is.

A page is straightened first (a scan rotated up to a few degrees: the angle whose horizontal
projection is sharpest), then the table's ruling lines are found (long horizontal and vertical
runs of ink); the rows and columns are the lines, and two neighbouring cells with no line
between them are one merged cell. Each cell's text lines are cut by their ink and read by the
recognition model. Every cell value is an `OcrText` (a str) carrying the model's confidence:
the layout reader flags each row that used a doubtful cell (`OcrText.doubtful`), so a reading
below `DOUBT_BELOW` is never taken silently.

Limits: `MAX_IMAGE_PIXELS` per image (Pillow refuses larger ones before decoding: image bombs),
`MAX_OCR_PAGES` pages, and the upload sandbox's memory and time.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .grid import GridError, Merge
from .page_geometry import (
    _binary,
    _cells,
    _clean_ink,
    _crop,
    _find_tables,
    _pieces,
    _straighten,
    _text_lines,
)

# A4 at 300 dpi is 8.7 million pixels; a phone photo 12–50 million. Pillow refuses an image
# over twice this with DecompressionBombError, and we refuse it over this from its header.
MAX_IMAGE_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
MAX_OCR_PAGES = 10  # at 4–8 s of CPU a page, what fits in the sandbox's 60 s (UPLOAD_PARSE_CPU_SECONDS)
RENDER_DPI = 200
# A cell is doubtful when the model gives its weakest digit less than DOUBT_BELOW, or its
# weakest other character less than NAME_DOUBT_BELOW (a misread name is also caught by unit
# matching; a misread digit only by a total).
DOUBT_BELOW = 0.90
NAME_DOUBT_BELOW = 0.80

ERROR_IMAGE_TOO_LARGE = "图片尺寸过大（{width}×{height} 像素），超过上限 {limit} 万像素，已拒绝。"
ERROR_IMAGE_BOMB = "图片尺寸过大（超过上限 {limit} 万像素的两倍），已拒绝。"
ERROR_IMAGE_DAMAGED = "图片文件已损坏或不完整，无法读取（{detail}）。"
ERROR_OCR_TOO_MANY_PAGES = "扫描件有 {pages} 页，超过上限 {limit} 页：请只上传附件表格所在的页。"
ERROR_OCR_UNAVAILABLE = (
    "服务器未安装文字识别组件（rapidocr_onnxruntime），无法读取扫描件或照片：请上传 Excel、Word 或文字版 PDF。"
)
ERROR_OCR_NO_TABLE = (
    "扫描件或照片中没有找到带表格线的表格：请拍摄或扫描整张表格（表格线清晰、不要裁掉边框），"
    "或上传通知附件的 Excel、Word 文件。"
)


class OcrText(str):
    """A cell's text as recognised, with the model's confidence in its weakest character and
    its weakest digit, the page and the cell's box on the straightened page (pixels)."""

    confidence: float
    digits: float
    page: int
    box: tuple[int, int, int, int]

    def __new__(cls, text: str, confidence: float = 1.0, digits: float = 1.0, page: int = 0, box=(0, 0, 0, 0)):
        value = super().__new__(cls, text)
        value.confidence = confidence
        value.digits = digits
        value.page = page
        value.box = tuple(int(v) for v in box)
        return value

    def __reduce__(self):
        return (OcrText, (str(self), self.confidence, self.digits, self.page, self.box))

    @property
    def doubtful(self) -> bool:
        return self.digits < DOUBT_BELOW or self.confidence < NAME_DOUBT_BELOW

    @property
    def certainty(self) -> float:
        """The weaker of the two, for the message."""
        return min(self.digits, self.confidence)


# -- the model ----------------------------------------------------------------------------

_recognizer = None
_lock = threading.Lock()


def _get_recognizer():
    """RapidOCR's text recognizer (PP-OCRv4), its model read from the installed wheel."""
    global _recognizer
    with _lock:
        if _recognizer is None:
            try:
                import rapidocr_onnxruntime
                from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
                from rapidocr_onnxruntime.utils import read_yaml
            except ImportError as exc:  # pragma: no cover - installed by requirements.txt
                raise GridError(ERROR_OCR_UNAVAILABLE) from exc
            from pathlib import Path

            root = Path(rapidocr_onnxruntime.__file__).parent
            config = read_yaml(str(root / "config.yaml"))["Rec"]
            config["model_path"] = str(root / config["model_path"])
            config["intra_op_num_threads"] = 2
            config["inter_op_num_threads"] = 1
            # Batches of a few lines, padded only to their widest line (not to 320 pixels):
            # a cell's line is short, and the padding was two thirds of the work.
            config["rec_batch_num"] = 6
            config["rec_img_shape"] = [3, 48, 96]
            _recognizer = TextRecognizer(config)
    return _recognizer


def _recognise(crops: list[np.ndarray]) -> list[tuple[str, float, float]]:
    """Text, the weakest character's and the weakest digit's probability of each line image."""
    if not crops:
        return []
    import cv2

    images = [cv2.cvtColor(c, cv2.COLOR_GRAY2BGR) for c in crops]
    results, _ = _get_recognizer()(images, return_word_box=True)
    out = []
    for result in results:
        text = result[0]
        confs = result[2][4] if len(result) > 2 else [result[1]]
        confidence = float(min(confs)) if text else 0.0
        digits = [c for ch, c in zip(text, confs, strict=False) if ch.isdigit()]
        out.append((_fix(text), confidence, float(min(digits, default=1.0))))
    return out


def _fix(text: str) -> str:
    """Characters the model mistakes for look-alikes in Chinese numerals: "+-月" is 十一月."""
    text = re.sub(r"\+(?=\s*[-—_一二三月])", "十", text)
    text = re.sub(r"(?<=[十])\s*[-—_]", "一", text)
    text = re.sub(r"(?<![0-9０-９])[-—_](?=\s*月)", "一", text)
    # "组织部7；宣传部5；": a semicolon after a number read as a colon (a time "8:00" keeps it)
    text = re.sub(r"(?<=[0-9])\s*[:：∶︰;](?=\s*[\u4e00-\u9fff])", "；", text)
    text = re.sub(r"([\u4e00-\u9fff][0-9]+)\s*[:：∶︰;]\s*$", "\\1；", text)
    text = re.sub(r"([0-9][（(]全年[）)])\s*[:：∶︰;]", "\\1；", text)  # "卫健系统600（全年）；"
    return text


# -- images in ----------------------------------------------------------------------------


def open_image(data: bytes) -> np.ndarray:
    """A .jpg/.png upload as a grey page, refused from its header when too large."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise GridError(ERROR_IMAGE_TOO_LARGE.format(width=width, height=height, limit=MAX_IMAGE_PIXELS // 10_000))
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image.convert("L") if image.mode not in ("L", "RGB") else image)
        return np.asarray(image.convert("L"))
    except GridError:
        raise
    except Image.DecompressionBombError as exc:
        raise GridError(ERROR_IMAGE_BOMB.format(limit=MAX_IMAGE_PIXELS // 10_000)) from exc
    except Exception as exc:  # Pillow raises many types on broken files
        raise GridError(ERROR_IMAGE_DAMAGED.format(detail=type(exc).__name__)) from exc


def render_pdf_pages(data: bytes, pages: list[int]) -> list[np.ndarray]:
    """The given 1-based pages of a PDF as grey images at RENDER_DPI (pdfium)."""
    import pypdfium2

    if len(pages) > MAX_OCR_PAGES:
        raise GridError(ERROR_OCR_TOO_MANY_PAGES.format(pages=len(pages), limit=MAX_OCR_PAGES))
    document = pypdfium2.PdfDocument(data)
    images = []
    try:
        for number in pages:
            page = document[number - 1]
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > MAX_IMAGE_PIXELS:
                raise GridError(
                    ERROR_IMAGE_TOO_LARGE.format(
                        width=int(width * scale), height=int(height * scale), limit=MAX_IMAGE_PIXELS // 10_000
                    )
                )
            bitmap = page.render(scale=scale, grayscale=True)
            images.append(np.array(bitmap.to_pil().convert("L")))
            page.close()
    finally:
        document.close()
    return images


# -- one page -----------------------------------------------------------------------------


@dataclass
class _OcrCell:
    """A table cell on a scanned page, as `pdf._Table.cells` holds them."""

    top: int
    left: int
    bottom: int
    right: int
    value: OcrText | None

    def text(self) -> str | None:
        return self.value if self.value and self.value.strip() else None


def _table_jobs(table, horizontal, vertical, ink, gray, jobs: list) -> dict:
    """A table's cells, each with the parts (text lines) to be recognised in it; the line
    images go to `jobs` (where the text goes, the image). A line made of pieces apart is also
    read piece by piece, to know where its spaces are."""
    inset = 4
    cells = {}
    for top, left, bottom, right in _cells(table, horizontal, vertical):
        y0, y1 = table.ys[top], table.ys[bottom + 1]
        x0, x1 = table.xs[left], table.xs[right + 1]
        inside = ink[y0 + inset : y1 - inset, x0 + inset : x1 - inset]
        parts = []
        for line in _text_lines(inside):
            ly0, ly1, lx0, lx1 = line
            room = ((x1 - inset) - (x0 + inset + lx1)) / max(ly1 - ly0, 1)
            # Room for less than a character at the right edge: the line was wrapped. Room
            # for half a character or more may also be a space the line ended with.
            part = _LinePart(wrapped=room < 1.6, maybe_space=0.4 <= room < 1.6)
            line_image = _crop(gray, y0 + inset + ly0, y0 + inset + ly1, x0 + inset + lx0, x0 + inset + lx1)
            jobs.append(((part, -1), line_image))
            pieces = _pieces(inside, line)
            if len(pieces) > 1:  # read apart too, to know where the spaces are
                for i, (px0, px1) in enumerate(pieces):
                    image = _crop(gray, y0 + inset + ly0, y0 + inset + ly1, x0 + inset + px0, x0 + inset + px1)
                    jobs.append(((part, i), image))
                part.pieces = len(pieces)
            parts.append(part)
        cells[(top, left)] = (_OcrCell(top, left, bottom, right, None), parts, (x0, y0, x1, y1))
    return cells


def _outside_jobs(tables, ink, gray, jobs: list) -> list:
    """Text outside the tables (the notice's title and body, 附件 labels, the table's title):
    one holder per line, its image in `jobs`."""
    outside = ink.copy()
    for table in tables:
        x0, y0, x1, y1 = table.bbox
        outside[max(y0 - 3, 0) : y1 + 4, max(x0 - 3, 0) : x1 + 4] = False
    holders = []
    for ly0, ly1, lx0, lx1 in _text_lines(outside):
        if ly1 - ly0 > 120:  # a picture or a seal, not a line of text
            continue
        holder = _LinePart(top=ly0)
        holders.append(holder)
        jobs.append(((holder, -1), _crop(gray, ly0, ly1, lx0, lx1)))
    return holders


def _cell_text(parts: list) -> tuple[str, float, float]:
    """A cell's text from its recognised lines, with the lowest confidence and digit certainty."""
    text = ""
    confidence = min((part.confidence for part in parts), default=0.0)
    digits = min((part.digits for part in parts), default=1.0)
    for i, part in enumerate(parts):
        if i:
            before = parts[i - 1]
            if before.wrapped and before.maybe_space and _ORGANISATION_END.search(text):
                # "扬子文旅控股集团有限公司 / 扬子投资发展有限公司": two names sharing a
                # number, or one name wrapped? The print cannot tell: two, in doubt.
                text += " "
                confidence = min(confidence, NAME_DOUBT_BELOW / 2)
            else:
                text += "" if before.wrapped else "\n"
        text += part.spaced()
    return _fix(text), confidence, digits


def _table_element(table, cells: dict, number: int, to_points: float):
    """A recognised table as `pdf._Table`: its grid of texts, merges and column edges."""
    from .pdf import _Table

    rows: list[list[object]] = [[None] * (len(table.xs) - 1) for _ in range(len(table.ys) - 1)]
    merges = []
    table_cells = {}
    for (top, left), (cell, parts, box) in cells.items():
        text, confidence, digits = _cell_text(parts)
        if parts and text.strip():
            cell.value = OcrText(text, confidence, digits, number, box)
            rows[top][left] = cell.value
        if cell.bottom > top or cell.right > left:
            merges.append(Merge(top, left, cell.bottom, cell.right))
        table_cells[(top, left)] = cell
    x_first = table.xs[0]
    col_edges = [(x - x_first) * to_points for x in table.xs]
    return _Table(number, table.ys[0] * to_points, rows, merges, col_edges, table_cells)


def read_page(gray: np.ndarray, number: int):
    """One page's text lines and tables, as `pdf._read_page` gives them (coordinates in points)."""
    import cv2

    from .pdf import _Line

    gray = _straighten(gray)
    binary = _binary(gray)
    tables, (horizontal, vertical) = _find_tables(binary)
    lines_mask = cv2.bitwise_or(horizontal, vertical)
    ink = _clean_ink(cv2.bitwise_and(binary, cv2.bitwise_not(lines_mask)))
    to_points = 72 / (gray.shape[1] / 8.27)  # the page's width is an A4 page's (8.27 in)

    jobs: list[tuple[object, np.ndarray]] = []  # (where the text goes, the line image)
    layouts = [(table, _table_jobs(table, horizontal, vertical, ink, gray, jobs)) for table in tables]
    text_lines = _outside_jobs(tables, ink, gray, jobs)
    results = _recognise([image for _, image in jobs])  # every line of the page in one batch
    for ((part, index), _), result in zip(jobs, results, strict=True):
        if index < 0:
            part.text, part.confidence, part.digits = result
        else:
            part.piece_texts.append(result[0])

    elements = [_Line(number, holder.top * to_points, holder.text) for holder in text_lines if holder.text.strip()]
    elements += [_table_element(table, cells, number, to_points) for table, cells in layouts]
    elements.sort(key=lambda e: e.top)
    return elements, bool(tables)


_ORGANISATION_END = re.compile(r"(?:公司|集团|局|院|委|办|中心|所|厂|站|队|学校|银行|协会)$")
_PUNCTUATION = "、，,。；;：:（）()《》“”\"'·.-—"


@dataclass(eq=False)
class _LinePart:
    """A line of text: read whole, and apart at its wide gaps to place the spaces."""

    wrapped: bool = False  # it reaches the cell's right edge: the next line continues it
    maybe_space: bool = False  # ... and it may have ended with a space
    top: int = 0
    text: str = ""
    confidence: float = 0.0
    digits: float = 1.0
    pieces: int = 0
    piece_texts: list[str] = field(default_factory=list)

    def spaced(self) -> str:
        """The line's text with a space at each wide gap ("扬子文旅控股集团有限公司 扬子投资发展有限公司",
        "一 月"), when the pieces read apart say the same as the whole line; never next to
        punctuation, whose glyph leaves a gap of its own ("纪委（监委）、市委办")."""
        text = self.text.strip()
        pieces = [p.strip() for p in self.piece_texts]
        if not self.pieces or "".join(pieces).replace(" ", "") != text.replace(" ", ""):
            return text
        out = pieces[0]
        for piece in pieces[1:]:
            if not piece:
                continue
            if out and out[-1] not in _PUNCTUATION and piece[0] not in _PUNCTUATION:
                out += " "
            out += piece
        return out


def read_images(pages: list[np.ndarray], numbers: list[int] | None = None):
    """Sheets, notice text and warnings of scanned pages, as `pdf.read_pdf` returns them.

    `numbers` are the pages' numbers in the file (a PDF's picture pages), 1, 2, … by default:
    each cell's `OcrText.page`, so `cell_images` finds its page again."""
    from .pdf import _assemble

    if len(pages) > MAX_OCR_PAGES:
        raise GridError(ERROR_OCR_TOO_MANY_PAGES.format(pages=len(pages), limit=MAX_OCR_PAGES))
    from core.sandbox import report_progress

    elements = []
    report_progress(0, len(pages))
    for done, (number, gray) in enumerate(zip(numbers or range(1, len(pages) + 1), pages, strict=True), start=1):
        page_elements, _ = read_page(gray, number)
        elements.extend(page_elements)
        report_progress(done, len(pages))  # the upload's progress page shows it (quotas.tasks)
    sheets, text = _assemble(elements)
    if not sheets:
        raise GridError(ERROR_OCR_NO_TABLE)
    for sheet in sheets:
        sheet.ocr = True
    return sheets, text, [WARN_OCR.format(pages=len(pages))]


WARN_OCR = (
    "这是扫描件或照片（{pages} 页），表格由文字识别读取：请逐行核对，识别把握不足的单元格、与合计不符的数字已标出。"
)


def scan_pages(data: bytes, filename: str) -> int:
    """How many pages of an upload OCR would read (0: none, the file has text), found cheaply
    before reading it: a .jpg/.png is one page; a PDF's pages without a character of text are
    pictures (pdfium's count, no layout analysis). A file that cannot be opened, an image or a
    page too large, or more pages than the readers accept, is 0: the ordinary reading refuses it
    at once, with its message, in the request."""
    from .grid import detect_format
    from .pdf import MAX_PAGES

    try:
        kind = detect_format(data, filename)
    except GridError:
        return 0
    if kind == "image":
        return 1 if _image_looks_readable(data) else 0
    if kind != "pdf":
        return 0
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except Exception:  # noqa: BLE001 - damaged or encrypted: read_pdf says which
        return 0
    try:
        count = len(document)
        if not count or count > MAX_PAGES or count > MAX_OCR_PAGES:
            return 0
        pictures = 0
        for index in range(count):
            page = document[index]
            width, height = page.get_size()
            if width * height * (RENDER_DPI / 72) ** 2 > MAX_IMAGE_PIXELS:
                page.close()
                return 0  # refused by the reader at once (`render_pdf_pages`)
            text = page.get_textpage()
            if text.count_chars() == 0:
                pictures += 1
            text.close()
            page.close()
        return pictures
    except Exception:  # noqa: BLE001
        return 0
    finally:
        document.close()


def _image_looks_readable(data: bytes) -> bool:
    """A .jpg/.png whose header opens, within MAX_IMAGE_PIXELS, and whose structure checks
    (Pillow's `verify`, no decoding): else the reader refuses it at once, in the request."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            return False
        image.verify()
    except Exception:  # noqa: BLE001 - damaged: `open_image` says how
        return False
    return True


def read_image_file(data: bytes):
    return read_images([open_image(data)])


# -- the images of cells, for the preview -------------------------------------------------

CELL_IMAGE_MAX_WIDTH = 480  # pixels: a cell's picture in the preview, scaled down if wider
CELL_IMAGE_MAX_HEIGHT = 160
MAX_CELL_IMAGES = 200  # per preview: the page stays light


def cell_images(data: bytes, cells: list[tuple[int, tuple[int, int, int, int]]]) -> list[bytes]:
    """PNG pictures of cells of a scan or photo, each given as (page, box) from its `OcrText`:
    the page is read again as the reader read it (rendered, scaled, straightened the same way,
    so the box falls on the same pixels) and the box cut out with a margin. Pure, and run in
    the upload sandbox like the reader; each page is read once. Pictures stay in memory."""
    from .grid import detect_format

    cells = cells[:MAX_CELL_IMAGES]
    numbers = sorted({page for page, _ in cells})
    if detect_format(data, "") == "pdf":
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        count = len(document)
        document.close()
        numbers = [n for n in numbers if 1 <= n <= count]
        pages = dict(zip(numbers, render_pdf_pages(data, numbers), strict=True))
    else:  # a photo: one page
        pages = {1: open_image(data)} if 1 in numbers else {}
    straight = {number: _straighten(gray) for number, gray in pages.items()}
    out = []
    for page, (x0, y0, x1, y1) in cells:
        gray = straight.get(page)
        if gray is None or x1 <= x0 or y1 <= y0:
            out.append(b"")
            continue
        out.append(_png(_crop(gray, y0, y1, x0, x1, pad=6)))
    return out


def _png(gray: np.ndarray) -> bytes:
    image = Image.fromarray(gray)
    scale = min(1.0, CELL_IMAGE_MAX_WIDTH / image.width, CELL_IMAGE_MAX_HEIGHT / image.height)
    if scale < 1.0:
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


_IMAGE_MAGIC = re.compile(rb"^(?:\xff\xd8\xff|\x89PNG\r\n\x1a\n)")


def is_image(head: bytes) -> bool:
    return bool(_IMAGE_MAGIC.match(head))
