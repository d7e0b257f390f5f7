import base64
import re

from PIL import Image

from advlab.report.build import relation
from advlab.report.document import Document


def test_markdown_links_figures_and_html_embeds_them(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    Image.new("RGB", (4, 3), "red").save(figures / "a.png")
    doc = Document("Title <1>", figures)
    doc.heading("Section")
    doc.paragraph("uses `code` & **bold**")
    doc.answer("it works")
    doc.table(["a", "b"], [["1", "<2>"]])
    doc.figure(figures / "a.png", "a red box")
    md, page = doc.write(tmp_path)
    text = md.read_text()
    assert "![a red box](figures/a.png)" in text and "| 1 | <2> |" in text and "> **Answer.** it works" in text
    html = page.read_text()
    assert "Title &lt;1&gt;" in html and "<code>code</code> &amp; <strong>bold</strong>" in html and "&lt;2&gt;" in html
    src = re.search(r"src='data:image/png;base64,([^']+)'", html).group(1)
    assert base64.b64decode(src) == (figures / "a.png").read_bytes()
    assert "figures/a.png" not in html  # self-contained: no file references


def test_answer_words_flip_with_the_numbers():
    assert relation(0.9, 0.8) == "above" and relation(0.7, 0.8) == "below"
    assert relation(0.80001, 0.8) == "level with"
    assert relation(0.7, 0.8, "better than", "worse than") == "worse than"
