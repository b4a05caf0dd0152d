"""Build the hostile-file corpus in this folder: python tests/corpus/build.py

Every upload of the portal (notice import, roster upload) must answer each of these files with a
clear message, in bounded time and memory, writing nothing. The files are committed; this script
says how each was made and rebuilds them byte for byte (fixed zip timestamps).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = (2024, 1, 1, 0, 0, 0)

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    '<Relationship Id="rId2" Target="sharedStrings.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
    "</Relationships>"
)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>身份证号</t></is></c></row>'
)
EMPTY_STRINGS = f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} count="0" uniqueCount="0"/>'
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)


def sheet_xml(body: str, *, dimension: str = "A1:B2", prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet {NS}>'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    )


def package(parts: dict[str, str | bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """An .xlsx-shaped zip; `parts` override or add to the minimal workbook."""
    members = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/sharedStrings.xml": EMPTY_STRINGS,
        "xl/worksheets/sheet1.xml": sheet_xml(HEADER_ROW),
    } | parts
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = compression
            archive.writestr(info, content)
    return buffer.getvalue()


def docx_package(document_xml: str) -> bytes:
    buffer = io.BytesIO()
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            ("[Content_Types].xml", types),
            ("_rels/.rels", rels),
            ("word/document.xml", document_xml),
        ):
            archive.writestr(zipfile.ZipInfo(name, STAMP), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def merged_sheet_xml(body: str, merges: list[str], *, dimension: str = "A1:B2") -> str:
    cells = "".join(f'<mergeCell ref="{ref}"/>' for ref in merges)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}>'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData>'
        f'<mergeCells count="{len(merges)}">{cells}</mergeCells></worksheet>'
    )


def many_sheets(count: int, sheet: str) -> bytes:
    """A workbook of `count` sheets, each the same sheet XML."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    types = CONTENT_TYPES.replace("</Types>", overrides + "</Types>")
    sheets = "".join(f'<sheet name="表{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, count + 1))
    workbook = WORKBOOK.replace('<sheet name="名单" sheetId="1" r:id="rId1"/>', sheets)
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Target="worksheets/sheet{i}.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            for i in range(1, count + 1)
        )
        + f'<Relationship Id="rId{count + 1}" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    )
    parts = {"[Content_Types].xml": types, "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": rels}
    parts |= {f"xl/worksheets/sheet{i}.xml": sheet for i in range(1, count + 1)}
    return package(parts)


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_table(rows: list[str]) -> str:
    body = f"<w:body><w:tbl>{''.join(rows)}</w:tbl></w:body>"
    return f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}>{body}</w:document>'


def docx_cell(text: str = "", *, merge: str | None = None) -> str:
    value = f' w:val="{merge}"' if merge else ""
    props = "" if merge is None else f"<w:tcPr><w:vMerge{value}/></w:tcPr>"
    return f"<w:tc>{props}<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares a huge picture (its data is a few bytes)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def huge_scanned_page() -> bytes:
    """A PDF of one picture page (no text: a scan) 14,400 points square."""
    import io

    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(14_400, 14_400), invariant=1)
    pdf.drawImage(ImageReader(Image.new("L", (20, 20), 128)), 0, 0, width=14_400, height=14_400)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def corpus() -> dict[str, bytes]:
    good = package({})
    gbk = "姓名,身份证号,献血日期,献血量\r\n张三,360426199101010071,2026-03-03,400\r\n".encode("gbk")
    return {
        # wrong types
        "empty.xlsx": b"",
        "photo-renamed.xlsx": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        # image bombs: a PNG declaring 100,000 × 100,000 pixels; a scanned PDF page 5 m wide
        "image-bomb.png": png_declaring(100_000, 100_000),
        "scan-bomb.pdf": huge_scanned_page(),
        "program-renamed.csv": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 2000,
        "pdf-renamed.xls": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        "webpage-renamed.xls": "<html><body><table><tr><td>姓名</td></tr></table></body></html>".encode(),
        "encrypted.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 504
        + "EncryptedPackage".encode("utf-16-le")
        + b"\0" * 1024,
        # broken archives
        "truncated.xlsx": good[: len(good) // 2],
        "truncated.docx": docx_package("<w:document/>")[:300],
        # zip bombs: one huge member; many members that add up
        "zip-bomb.xlsx": package({"xl/worksheets/sheet1.xml": sheet_xml(HEADER_ROW) + " " * (300 * 1024 * 1024)}),
        "zip-bomb-spread.xlsx": package(
            {f"xl/media/pad{i:02d}.bin": b"\0" * (9 * 1024 * 1024) for i in range(50)},
        ),
        # XML entity bombs and external entities, in the sheet, the shared strings and a Word file
        "entity-bomb-sheet.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": sheet_xml(
                    '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=LAUGHS
                )
            }
        ),
        "entity-bomb-strings.xlsx": package(
            {
                "xl/sharedStrings.xml": (
                    f'<?xml version="1.0"?>{LAUGHS}<sst {NS} count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
                ),
                "xl/worksheets/sheet1.xml": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
            }
        ),
        "external-entity.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": sheet_xml(
                    '<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>',
                    prolog='<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                )
            }
        ),
        "entity-bomb.docx": docx_package(
            f'<?xml version="1.0"?>{LAUGHS}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>"
        ),
        # a million rows: declared, real empty rows, empty CSV lines
        "million-rows-declared.xlsx": package(
            {"xl/worksheets/sheet1.xml": sheet_xml(HEADER_ROW, dimension="A1:XFD1048576")}
        ),
        "million-empty-rows.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": sheet_xml(
                    HEADER_ROW + "".join(f'<row r="{r}"/>' for r in range(2, 1_048_577))
                )
            }
        ),
        "million-empty-lines.csv": "姓名,身份证号\r\n".encode() + b",\r\n" * 1_000_000,
        # formulas with no cached values, one of them a DDE command
        "formulas.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": sheet_xml(
                    HEADER_ROW
                    + '<row r="2"><c r="A2"><f>CONCAT("张","三")</f></c><c r="B2"><f>cmd|\' /C calc\'!A0</f></c></row>'
                )
            }
        ),
        "macro.xlsm": package({"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 1000}),
        # GBK text mis-decoded: once with the bytes replaced by U+FFFD, once read as Latin-1
        "gbk-replaced-as-utf8.csv": gbk.decode("utf-8", errors="replace").encode("utf-8"),
        "gbk-read-as-latin1.csv": gbk.decode("latin-1").encode("utf-8"),
        # merged ranges: one merge across every column of a thousand rows; 300,000 merges
        "merge-whole-width.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": merged_sheet_xml(
                    HEADER_ROW + "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 1001)),
                    ["D1:XFD1000"],
                    dimension="A1:B1000",
                )
            }
        ),
        "merges-300000.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": merged_sheet_xml(
                    HEADER_ROW,
                    [f"{_column(2 * k + 1)}{r}:{_column(2 * k + 2)}{r}" for r in range(2, 3002) for k in range(100)],
                )
            }
        ),
        # 40 sheets, each declaring 200 columns by 200,000 rows: within the per-sheet limits
        "sheets-declaring-40x40m-cells.xlsx": many_sheets(40, sheet_xml(HEADER_ROW, dimension="A1:GR200000")),
        # Word: a vertical merge down 1,500 rows (python-docx recursed once per row); a merge
        # continued in the first row, with nothing above it to continue
        "vmerge-1500-rows.docx": docx_package(
            docx_table(
                ["<w:tr>" + docx_cell("说明", merge="restart") + docx_cell("见附件") + "</w:tr>"]
                + ["<w:tr>" + docx_cell(merge="") + docx_cell() + "</w:tr>"] * 1499
            )
        ),
        "vmerge-first-row.docx": docx_package(
            docx_table(
                ["<w:tr>" + docx_cell("说明", merge="") + docx_cell("见附件") + "</w:tr>"]
                + ["<w:tr>" + docx_cell(merge="") + docx_cell() + "</w:tr>"]
            )
        ),
        # 10 MB of text in one cell
        "huge-cell.csv": "姓名,身份证号\r\n".encode() + b'"' + b"A" * (10 * 1024 * 1024) + b'",1\r\n',
        "huge-cell.xlsx": package(
            {
                "xl/worksheets/sheet1.xml": sheet_xml(
                    HEADER_ROW
                    + '<row r="2"><c r="A2" t="inlineStr"><is><t>'
                    + "血" * (10 * 1024 * 1024 // 3)
                    + "</t></is></c></row>"
                )
            }
        ),
    }


def _column(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def main() -> None:
    for path in HERE.iterdir():
        if path.suffix not in (".py",):
            path.unlink()
    for name, content in corpus().items():
        if len(content) > 1024 * 1024 and not name.endswith((".xlsx", ".docx")):
            # big plain text is stored gzipped; the tests upload it decompressed, as NAME
            stored = gzip.compress(content, mtime=0)
            name += ".gz"
        else:
            stored = content
        (HERE / name).write_bytes(stored)
        print(f"{name:32} {len(content):>12,} bytes uploaded, {len(stored):>10,} stored")


def load() -> dict[str, bytes]:
    """The corpus as uploaded: name -> bytes."""
    files = {}
    for path in sorted(HERE.iterdir()):
        if path.suffix == ".py" or path.name.startswith("__"):
            continue
        if path.suffix == ".gz":
            files[path.stem] = gzip.decompress(path.read_bytes())
        else:
            files[path.name] = path.read_bytes()
    return files


if __name__ == "__main__":
    main()
