"""The body as Markdown: what is kept (structure, links), what goes (hidden text, tracking
pixels, layout), the size bound, and hostile input."""

from __future__ import annotations

from inboxkit.mail.markdown import MAX_MARKDOWN_CHARS, markdown


def test_headings_paragraphs_emphasis_and_links_are_markdown():
    html = (
        "<h1>Welcome, <em>Jamie</em></h1><p>Thanks for <b>joining</b>. Open "
        '<a href="https://app.example/home">your dashboard</a> or <a href="https://app.example/">'
        "https://app.example/</a>.</p>"
    )
    assert markdown(None, html) == (
        "# Welcome, _Jamie_\n\nThanks for **joining**. Open "
        "[your dashboard](https://app.example/home) or <https://app.example/>."
    )


def test_link_urls_are_kept_whole_with_markdown_breaking_characters_escaped():
    html = '<a href="https://x.example/a b(c)?t=1&amp;u=2">go</a>'
    assert markdown(None, html) == "[go](https://x.example/a%20b%28c%29?t=1&u=2)"


def test_an_image_link_is_named_by_its_alt_text_and_script_links_are_plain_text():
    html = (
        '<a href="https://shop.example/sale"><img src="b.png" alt="Shop the sale"></a>'
        '<p><a href="javascript:alert(1)">click</a></p>'
    )
    assert markdown(None, html) == "[Shop the sale](https://shop.example/sale)\n\nclick"


def test_lists_nest_and_number():
    html = "<ul><li>One</li><li>Two<ul><li>Two a</li></ul></li></ul><ol><li>A</li><li>B</li></ol>"
    assert markdown(None, html) == "- One\n- Two\n  - Two a\n\n1. A\n2. B"


def test_a_data_table_is_a_markdown_table_and_a_layout_table_is_text():
    data = "<table><tr><th>Item</th><th>Price</th></tr><tr><td>Tea</td><td>3.00</td></tr></table>"
    assert markdown(None, data) == "| Item | Price |\n| --- | --- |\n| Tea | 3.00 |"
    layout = (
        '<table role="presentation"><tr><td><table><tr><td>Hello</td></tr></table></td></tr>'
        "<tr><td>World</td></tr></table>"
    )
    assert markdown(None, layout) == "Hello\nWorld"


def test_hidden_preheaders_tracking_pixels_and_head_are_dropped():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        '<div style="display:none;max-height:0">Preheader text</div><p>Visible</p>'
        '<img src="https://t.example/o.gif" width="1" height="1" alt="">'
        '<img src="logo.png" alt="">'
        "<script>alert(1)</script></body></html>"
    )
    assert markdown(None, html) == "Visible"


def test_an_outlook_only_hidden_button_keeps_its_link():
    html = '<a href="https://app.example/verify" style="mso-hide:all">Verify</a>'
    assert markdown(None, html) == "[Verify](https://app.example/verify)"


def test_quotes_and_code_blocks():
    html = "<blockquote><p>said</p><blockquote>deeper</blockquote></blockquote><pre>a\n  b</pre>"
    assert markdown(None, html) == "> said\n>\n> > deeper\n\n```\na\n  b\n```"


def test_a_text_part_passes_through_when_there_is_no_html():
    assert (
        markdown("  Plain *text* stays.\n\nLine two\n", None) == "Plain *text* stays.\n\nLine two"
    )
    assert markdown(None, None) == ""


def test_markdown_is_bounded_and_says_it_was_cut():
    html = "".join(f"<p>Paragraph {i} with some words in it.</p>" for i in range(20_000))
    out = markdown(None, html)
    assert len(out) <= MAX_MARKDOWN_CHARS + 100
    assert out.startswith("Paragraph 0 ") and out.endswith("more characters]")
    assert "truncated" in out.rsplit("\n", 1)[1]


def test_forged_marks_in_the_input_are_removed():
    assert markdown(None, "<p>a\x01b\x04c\x05d\x07e\x08f</p>") == "abcdef"


# Hostile input: the renderer is linear (lexbor parses, a few selector passes rewrite, nesting
# is capped by htmltext); the assertions are on the answer.


def test_a_megabyte_of_deeply_nested_html_renders_bounded():
    html = "<div><b><i><ul><li><blockquote>" * 40_000 + "core"
    out = markdown(None, html[: 1024 * 1024])
    assert len(out) <= MAX_MARKDOWN_CHARS + 100


def test_a_hundred_thousand_links_render_bounded():
    html = '<a href="https://x.example/">x</a> ' * 100_000
    out = markdown(None, html)
    assert out.startswith("[x](https://x.example/)") and len(out) <= MAX_MARKDOWN_CHARS + 100


def test_many_tables_render_bounded():
    html = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>" * 20_000
    out = markdown(None, html)
    assert out.startswith("| a | b |") and len(out) <= MAX_MARKDOWN_CHARS + 100
