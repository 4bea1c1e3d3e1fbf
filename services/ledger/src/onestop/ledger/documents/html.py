"""A document as an HTML page: Jinja2 templates (templates/<kind>.html.j2), autoescaped, one environment built
once (templates load from the package, not the working directory)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from onestop.ledger.documents.model import Document, zh_date


def _block_kind(block: object) -> str:
    return type(block).__name__.lower()


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("onestop.ledger.documents", "templates"),
                      autoescape=select_autoescape(["j2", "html"], default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["zh_date"] = zh_date
    env.globals["block_kind"] = _block_kind
    return env


def render_html(doc: Document) -> str:
    """The page of the document's kind."""
    return environment().get_template(f"{doc.kind}.html.j2").render(doc=doc)
