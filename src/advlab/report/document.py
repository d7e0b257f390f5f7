"""A report as a list of blocks, written both as Markdown (figures beside it) and as one
self-contained HTML file (figures embedded as data URIs, so it opens offline)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

STYLE = """
body {
  font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
  line-height: 1.45; color: #222;
}
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1.2em 0; }
img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.answer { background: #f5f9ff; border-left: 4px solid #4a7bd0; padding: 0.5em 1em; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def _inline_html(text: str) -> str:
    """`code` and **bold**, after escaping."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


@dataclass
class Document:
    title: str
    figures_dir: Path  # where figure files live; Markdown links to them relative to the report
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def answer(self, text: str) -> None:
        """The measured answer to a question, set apart from the rest."""
        self.blocks.append(("answer", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(("figure", (Path(path), caption)))

    def to_markdown(self, report_dir: Path) -> str:
        lines = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                lines += ["#" * level + " " + text, ""]
            elif kind == "paragraph":
                lines += [value, ""]
            elif kind == "answer":
                lines += [f"> **Answer.** {value}", ""]
            elif kind == "table":
                header, rows = value
                lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                lines += ["| " + " | ".join(row) + " |" for row in rows] + [""]
            elif kind == "figure":
                path, caption = value
                lines += [f"![{caption}]({path.relative_to(report_dir).as_posix()})", "", f"*{caption}*", ""]
        return "\n".join(lines)

    def to_html(self) -> str:
        parts = [
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
            f"<style>{STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>",
        ]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value
                parts.append(f"<h{level}>{_inline_html(text)}</h{level}>")
            elif kind == "paragraph":
                parts.append(f"<p>{_inline_html(value)}</p>")
            elif kind == "answer":
                parts.append(f"<p class='answer'><strong>Answer.</strong> {_inline_html(value)}</p>")
            elif kind == "table":
                header, rows = value
                head = "".join(f"<th>{_inline_html(h)}</th>" for h in header)
                body = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif kind == "figure":
                path, caption = value
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(
                    f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                    f"<figcaption>{_inline_html(caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, report_dir: Path) -> tuple[Path, Path]:
        md, page = report_dir / "report.md", report_dir / "report.html"
        md.write_text(self.to_markdown(report_dir))
        page.write_text(self.to_html())
        return md, page
