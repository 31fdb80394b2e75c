"""The report's HTML page: its Markdown through the ``markdown`` package, figures embedded.

The page is self-contained: PNG images found beside the Markdown become ``data:`` URIs. Raw
HTML in the Markdown is escaped, not passed through (the report quotes error messages).
"""

import base64
import html
import re
from pathlib import Path
from typing import Any

__all__ = ["anchor", "markdown_to_html", "require_markdown"]

_EXTENSIONS = ["tables", "fenced_code", "toc"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "line-height:1.45;color:#222}img{max-width:100%}table{border-collapse:collapse;"
    "margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left}th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2em}"
    "pre{background:#f3f3f3;padding:.6em;overflow-x:auto}"
)


def anchor(title: str) -> str:
    """The id of a heading: the contents list links to it, the HTML page's headings carry it.

    Example:
        >>> anchor("Model prototype: telling mirror images apart")
        'model-prototype-telling-mirror-images-apart'
    """
    slug = re.sub(r"[^\w\- ]", "", title.lower()).strip()
    return re.sub(r"\s+", "-", slug)


def require_markdown() -> Any:
    """The ``markdown`` module; without it, an ImportError naming the ``report`` extra."""
    try:
        import markdown
    except ImportError:
        raise ImportError(
            "the report's HTML page needs markdown: pip install 'equibasis[report]'"
        ) from None
    return markdown


def _data_uri(src: str, base: Path) -> str:
    """``src`` as a ``data:`` URI when it names a PNG file under ``base``, else unchanged."""
    path = base / src
    if path.suffix.lower() != ".png" or not path.is_file():
        return src
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _embed_images(base: Path) -> Any:
    """A tree processor that replaces the ``src`` of each image by :func:`_data_uri`."""
    from markdown.treeprocessors import Treeprocessor

    class EmbedImages(Treeprocessor):
        def run(self, root: Any) -> None:
            for image in root.iter("img"):
                image.set("src", _data_uri(image.get("src", ""), base))

    return EmbedImages()


def markdown_to_html(markdown: str, base: str | Path | None = None, title: str = "report") -> str:
    """Render Markdown (with tables and fenced code) as one self-contained HTML page.

    Headings get the ids of :func:`anchor`; PNG images found under ``base`` are embedded as
    data URIs, so the page needs no other file.

    Args:
        markdown: The Markdown text.
        base: Folder that image paths are relative to (``None``: leave image links as they are).
        title: The page title.

    Returns:
        The HTML document as a string.

    Raises:
        ImportError: The ``markdown`` package is not installed.

    Example:
        >>> '<h1 id="t">T</h1>' in markdown_to_html("# T")
        True
    """
    converter = require_markdown().Markdown(
        extensions=_EXTENSIONS,
        extension_configs={"toc": {"slugify": lambda text, separator: anchor(text)}},
        output_format="html",
    )
    converter.preprocessors.deregister("html_block")  # raw HTML shown as text
    converter.inlinePatterns.deregister("html")
    if base is not None:  # after the inline patterns (20) have made the <img> elements
        converter.treeprocessors.register(_embed_images(Path(base)), "embed_images", 15)
    body = converter.convert(markdown)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + body
        + "\n</body>\n</html>\n"
    )
