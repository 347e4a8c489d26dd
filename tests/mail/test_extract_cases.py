"""One behaviour per test: the hard cases of code and link extraction, and each language."""

from __future__ import annotations

import pytest

from inboxkit.mail.extract import Extraction, extract
from inboxkit.mail.htmltext import html_to_text, render_html


def codes(subject: str | None = None, text: str | None = None, html: str | None = None):
    return [c.value for c in extract(subject, text, html).codes]


def first_code(subject: str | None = None, text: str | None = None, html: str | None = None):
    found = codes(subject, text, html)
    return found[0] if found else None


def links(subject: str | None = None, text: str | None = None, html: str | None = None):
    return [(x.url, x.kind) for x in extract(subject, text, html).links]


# --------------------------------------------------------------------------------------------
# Codes: shapes
# --------------------------------------------------------------------------------------------


def test_labelled_six_digit_code_is_found_with_confidence_and_snippet():
    result = extract(None, "Hi Sam,\n\nYour verification code is 482913.\n\nThanks", None)
    assert [c.value for c in result.codes] == ["482913"]
    code = result.codes[0]
    assert 0.5 < code.confidence <= 1.0
    assert "Your verification code is 482913" in code.snippet


def test_code_on_its_own_line_under_its_label_is_found():
    assert first_code(text="Your login code:\n\n    482913\n\nIt expires soon.") == "482913"


def test_code_before_its_label_is_found():
    assert first_code(text="482913 is your Acme Cloud verification code.") == "482913"


@pytest.mark.parametrize(
    "printed",
    ["482 913", "482-913", "4 8 2 9 1 3", "48 29 13", "482\u00a0913", "482 – 913", "482\u2013913"],
)
def test_digit_groups_are_joined_into_what_a_human_types(printed: str):
    assert first_code(text=f"Your security code: {printed}") == "482913"


def test_eight_digit_code_in_two_groups_is_joined():
    assert first_code(text="Backup verification code: 4829 1375") == "48291375"


def test_code_spread_over_table_cells_is_joined():
    cells = "".join(
        f'<td style="border:1px solid #ccc">{d}</td><td width="8">&nbsp;</td>' for d in "048213"
    )
    html = f"<p>Your code</p><table><tr>{cells}</tr></table>"
    assert first_code(html=html) == "048213"


def test_code_split_over_spans_is_joined():
    html = '<p>Your code is <span class="a">482</span><span class="b">913</span></p>'
    assert first_code(html=html) == "482913"


def test_code_in_inline_block_boxes_is_joined():
    boxes = "".join(f'<div style="display: inline-block; width:40px">{d}</div>' for d in "482913")
    assert first_code(html=f"<p>Enter this verification code:</p><div>{boxes}</div>") == "482913"


@pytest.mark.parametrize("code", ["G3H1Y2", "A8D-291", "K7PQ-2M9X", "X9F4T"])
def test_alphanumeric_code_is_kept_as_printed(code: str):
    assert first_code(text=f"Your verification code is {code}") == code


def test_letter_prefix_of_a_code_is_not_typed():
    assert first_code(subject="G-482913 is your verification code") == "482913"


def test_four_and_eight_digit_codes_are_found():
    assert first_code(text="Your PIN is 7391.") == "7391"
    assert first_code(text="One-time password: 48291375") == "48291375"


def test_leading_zero_is_kept():
    assert first_code(text="Your code: 048213") == "048213"


def test_lowercase_code_needs_a_label_right_before_it():
    assert first_code(text="Your verification code: x7k9p2") == "x7k9p2"
    assert codes(text="See item x7k9p2 in your cart.") == []


@pytest.mark.parametrize("printed", ["**482913**", "[ 482913 ]", "`482913`", "→ 482913"])
def test_decorated_code_on_its_own_line_is_found(printed: str):
    assert first_code(text=f"Enter the following code:\n\n{printed}\n") == "482913"


def test_letters_only_code_set_apart_under_its_label_is_found():
    text = "Your confirmation code is below. Enter it in your browser window.\n\nKXQ-ZTP\n\nThanks"
    assert first_code(text=text) == "KXQ-ZTP"


def test_letters_only_words_with_a_hyphen_are_not_codes():
    assert codes(text="USA-TODAY and NEW-YORK are places. Code review: ABC-DEF tomorrow.") == []


# --------------------------------------------------------------------------------------------
# Codes: the subject
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "482913 is your code",
        "Your Acme code: 482913",
        "[Acme] 482913 — your sign-in code",
        "Acme: use 482913 to confirm your email",
    ],
)
def test_code_in_the_subject_counts(subject: str):
    assert first_code(subject=subject, text="Use the code in the subject line.") == "482913"


def test_code_in_subject_and_body_ranks_above_another_labelled_number():
    found = codes(
        subject="482913 is your code",
        text="Your code is 482913.\nYour previous code 551029 no longer works.",
    )
    assert found[0] == "482913"


def test_bare_code_in_the_body_counts_when_the_subject_names_a_code():
    assert (
        first_code(subject="Your Acme verification code", text="Hi,\n\n482913\n\nAcme") == "482913"
    )


def test_bare_number_in_the_body_does_not_count_under_an_ordinary_subject():
    assert codes(subject="Your order summary", text="Hi,\n\n482913\n\nAcme") == []
    assert codes(subject="Your Acme verification code", text="Hi,\n\n2024\n\nAcme") == []


# --------------------------------------------------------------------------------------------
# Codes: distractors do not win
# --------------------------------------------------------------------------------------------

DISTRACTORS = {
    "copyright year": "© 2024 Acme Inc. All rights reserved.",
    "year in a sentence": "Since 2015 we have kept your account safe.",
    "date with slashes": "Requested on 12/05/2024.",
    "ISO date": "Requested on 2024-05-12.",
    "date with dots": "Angefordert am 12.05.2024.",
    "written date": "Requested on May 12, 2024 at 10:32 AM.",
    "CJK date": "2024年5月12日に送信されました。",
    "time": "Sent at 10:30 from Denver.",
    "US phone": "Questions? Call +1 (415) 555-0199.",
    "toll-free phone": "Call 1-800-555-0142 any time.",
    "UK phone": "Ring us on +44 20 7946 0958.",
    "grouped phone": "Call 0800 555 0110 or 030 12345678.",
    "price": "Total: $1,299.00",
    "euro price": "Summe: 1.299,00 €",
    "price with code": "Amount: 1299 EUR",
    "rouble price": "Итого: 12 990 ₽",
    "real price": "Total: R$ 1.299,90",
    "ZIP": "Acme Inc., San Francisco, CA 94103",
    "street number": "1234 Market Street, Suite 500",
    "postal code before a city": "Acme GmbH, Friedrichstraße 12, 10117 Berlin",
    "Polish postal code": "ul. Marszałkowska 100, 00-026 Warszawa",
    "order number": "Order number: 40417782",
    "order with hash": "Order #4041778 has shipped.",
    "invoice": "Invoice INV-2024551 is attached.",
    "ticket": "Ticket 88213 was updated.",
    "customer number": "Customer ID: 5582013",
    "tracking number": "Tracking number: 1Z999AA10123456784",
    "tracking groups": "Tracking: 9400 1000 0000 0000 0000 00",
    "expiry": "This link expires in 1440 minutes.",
    "hex colour": "Brand colours: #FF5733 and #1a2b3c",
    "number in URL": "See https://example.com/activity/4829135?session=772233",
    "number in e-mail address": "Write to help4829@example.com",
    "IP address": "Signed in from 203.0.113.42",
    "version": "Chrome 124.0.6367 on macOS 14.4",
    "card": "Visa ending in 4242",
    "percentage": "Save 2500% more",
    "promo code": "Use code SPRING25 at checkout for 25% off.",
    "promo code before digits": "Promo code: 4821 for free shipping",
    "postal code label": "Postal code: 94103",
    "booking reference": "Booking reference: DW7K9P",
    "IBAN": "IBAN GB33 BUKB 2020 1555 5555 55",
}


@pytest.mark.parametrize("name", sorted(DISTRACTORS))
def test_distractor_alone_yields_no_code(name: str):
    assert codes(text=DISTRACTORS[name]) == []


@pytest.mark.parametrize("name", sorted(DISTRACTORS))
def test_distractor_next_to_a_real_code_does_not_win(name: str):
    text = f"{DISTRACTORS[name]}\n\nYour verification code is 739104.\n\n{DISTRACTORS[name]}"
    assert first_code(text=text) == "739104"


def test_css_colours_and_hex_tokens_in_html_are_not_codes():
    html = """<html><head><style>.x{color:#FF5733} .c123456{margin:0}</style></head>
<body bgcolor="#ABCDEF"><p style="color:#123456" class="c654321">Welcome to Acme.</p>
<img src="https://cdn.example.com/banner-1200x628.png" alt=""></body></html>"""
    assert codes(html=html) == []


def test_code_in_html_with_colours_everywhere_is_still_found():
    html = '<td style="color:#1A2B3C">Your code is</td><td style="color:#0F0F0F">739104</td>'
    assert first_code(html=f"<table><tr>{html}</tr></table>") == "739104"


@pytest.mark.parametrize(
    "text", ["Payment verification code: 482913", "Account security code is 482913"]
)
def test_words_naming_a_purpose_do_not_disqualify_a_code_label(text: str):
    assert first_code(text=text) == "482913"


@pytest.mark.parametrize("text", ["Your order code: 4829", "Gift card code 48291375"])
def test_words_naming_another_kind_of_code_disqualify_the_label(text: str):
    assert codes(text=text) == []


def test_code_label_in_an_earlier_sentence_does_not_claim_a_footer_number():
    text = "If you did not request this code, ignore this email.\nAcme, Rua Augusta 1578, Lisboa"
    assert codes(text=text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Your order 40417782 has shipped. Track it in the app.",
        "Thanks for your purchase!\nOrder number: 40417782\nTotal: $129.99\n© 2024 Acme",
        "This week: 12 new releases, 1,024 readers, doors open 18:30. Use code SPRING20 for 20% off.",
        "Your package is on its way!\nTracking number: 1Z999AA10123456784\nDelivery: May 16",
        "Invoice INV-2024551 for April 2024. Amount due: $1,480.00. Customer number: 44871203.",
        "Paid with Visa ending in 4242. Auth code 012345.",
        "Flight KA 2291 departs June 14, 2024 at 07:45. Seat 14C, gate B32.",
    ],
)
def test_ordinary_mail_yields_no_codes(text: str):
    assert codes(subject="Your order", text=text) == []


# --------------------------------------------------------------------------------------------
# Codes: invisible characters and hidden text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_invisible_characters_between_digits_are_ignored(sep: str):
    assert first_code(text=f"Your code is {sep.join('482913')}") == "482913"


def test_invisible_entities_in_html_are_ignored():
    html = "<p>Your code is 4&#8203;8&zwnj;2&zwj;9&shy;1&#xFEFF;3</p>"
    assert first_code(html=html) == "482913"


def test_hidden_preheader_decoy_does_not_win():
    html = """<span style="display:none !important">Your old code 551029</span>
<div style="max-height:0;overflow:hidden;mso-hide:all">code 551029</div>
<p>Your verification code is <b>739104</b></p>"""
    assert codes(html=html) == ["739104"]


def test_preheader_repeating_the_code_does_not_duplicate_it():
    html = (
        '<div style="display:none;max-height:0;opacity:0">Your code is 739104'
        + "&zwnj;&nbsp;" * 50
        + "</div><p>Your verification code:</p><p>739104</p>"
    )
    result = extract(None, None, html)
    assert [c.value for c in result.codes] == ["739104"]


def test_text_and_html_parts_agree_on_one_code():
    text = "Your code is 739104"
    html = "<p>Your code is <strong>739 104</strong></p>"
    assert codes(text=text, html=html) == ["739104"]


def test_code_only_in_html_is_found_when_text_part_is_a_stub():
    text = "Your mail client cannot show this message. View it online: https://example.com/m/1"
    html = "<p>Your sign-in code</p><h1>739104</h1>"
    assert first_code(text=text, html=html) == "739104"


# --------------------------------------------------------------------------------------------
# Codes: languages and digits
# --------------------------------------------------------------------------------------------

LANGUAGES = {
    "en": ("Your verification code is {c}.", "{c} is your verification code"),
    "es": ("Tu código de verificación es {c}.", "{c} es tu código de verificación"),
    "pt": ("Seu código de verificação: {c}", "{c} é o seu código de acesso"),
    "fr": ("Votre code de sécurité est : {c}.", "{c} est votre code de connexion"),
    "de": ("Ihr Bestätigungscode lautet {c}.", "{c} ist Ihr Sicherheitscode"),
    "it": ("Il tuo codice di verifica è {c}.", "{c} è il tuo codice di accesso"),
    "nl": ("Je verificatiecode is {c}.", "{c} is je inlogcode"),
    "pl": ("Twój kod weryfikacyjny to {c}.", "{c} to Twój kod jednorazowy"),
    "tr": ("Doğrulama kodunuz: {c}", "{c} doğrulama kodunuzdur"),
    "ru": ("Ваш код подтверждения: {c}", "{c} — ваш код для входа"),
    "ja": ("認証コード：{c}", "{c}があなたの確認コードです"),
    "zh": ("您的验证码是{c}，5分钟内有效。", "{c}是您的验证码"),
    "ar": ("رمز التحقق الخاص بك هو {c}", "{c} هو رمز التحقق الخاص بك"),
}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_label_before_the_code_in_each_language(lang: str):
    assert first_code(text=LANGUAGES[lang][0].format(c="739104")) == "739104"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_label_after_the_code_in_each_language(lang: str):
    assert first_code(subject=LANGUAGES[lang][1].format(c="739104")) == "739104"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_each_language_with_a_distracting_date_and_phone(lang: str):
    text = (
        "2024-05-12 · +1 (415) 555-0199\n"
        + LANGUAGES[lang][0].format(c="739104")
        + "\n© 2024 · 1-800-555-0142"
    )
    assert first_code(text=text) == "739104"


@pytest.mark.parametrize(
    ("printed", "lang"),
    [
        ("٧٣٩١٠٤", "ar"),  # Arabic-Indic
        ("۷۳۹۱۰۴", "ar"),  # Eastern Arabic-Indic
        ("７３９１０４", "ja"),  # full-width
        ("７３９１０４", "zh"),
    ],
)
def test_non_ascii_digits_are_normalised_to_ascii(printed: str, lang: str):
    assert first_code(text=LANGUAGES[lang][0].format(c=printed)) == "739104"


def test_full_width_comma_after_a_chinese_code_is_not_a_thousands_separator():
    assert first_code(text="验证码739104，5分钟内有效。") == "739104"


def test_german_tan_far_from_its_label_in_one_sentence():
    text = "Ihre TAN für die Überweisung über 1.250,00 € an DE89 3704 0044 0532 lautet: 739104"
    assert first_code(text=text) == "739104"


@pytest.mark.parametrize(
    "text",
    [
        "Ваш заказ № 558812 от 12.05.2024 на сумму 12 990 ₽",
        "ご注文番号：558812334 合計金額：¥12,800",
        "您的订单 20240512889 已发货。邮编：200120",
        "رقم الطلب: ٥٥٨٨١٢ الرمز البريدي: 12214",
        "Ihre Bestellung 30448812 wurde versandt. Kundennummer 4471029.",
        "Numéro de commande : 4471822. Code postal : 75008.",
    ],
)
def test_order_and_postal_numbers_in_other_languages_are_not_codes(text: str):
    assert codes(text=text) == []


# --------------------------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------------------------


def card(*blocks: str) -> str:
    return "<table>" + "".join(f"<tr><td>{b}</td></tr>" for b in blocks) + "</table>"


FOOTER = (
    '<a href="https://acme.example/"><img src="https://cdn.acme.example/logo.png" alt="Acme"></a>'
    '<a href="https://www.facebook.com/acme"><img src="f.png" alt="Facebook"></a>'
    '<a href="https://acme.example/privacy">Privacy Policy</a> · '
    '<a href="https://help.acme.example/">Help Center</a> · '
    '<a href="https://acme.example/email/unsubscribe?u=1">Unsubscribe</a> · '
    '<a href="mailto:support@acme.example">support@acme.example</a> · '
    '<a href="tel:+14155550199">+1 415 555 0199</a>'
)


def test_verify_button_is_the_first_link_and_footer_links_come_last():
    html = card(
        '<a href="https://acme.example/">Home</a>',
        "Please confirm your email address.",
        '<a href="https://acme.example/verify?token=abc123def456ghi789">Confirm email</a>',
        FOOTER,
    )
    found = links(subject="Confirm your email", html=html)
    assert found[0] == ("https://acme.example/verify?token=abc123def456ghi789", "verify")
    assert found[-1] == ("https://acme.example/email/unsubscribe?u=1", "unsubscribe")
    kinds = dict(found)
    assert kinds["https://acme.example/privacy"] == "other"
    urls = [u for u, _ in found]
    assert urls.index("https://acme.example/") < urls.index("https://acme.example/privacy")


def test_mailto_and_tel_links_are_never_returned():
    found = links(html=FOOTER, text="Mail mailto:a@example.com or call tel:+14155550199")
    assert not [u for u, _ in found if not u.startswith("http")]


@pytest.mark.parametrize(
    ("anchor", "kind"),
    [
        ("Verify my email", "verify"),
        ("Activate account", "verify"),
        ("Reset password", "reset"),
        ("Choose a new password", "reset"),
        ("Sign in to Acme", "login"),
        ("Log in now", "login"),
        ("Confirmar correo electrónico", "verify"),
        ("Redefinir senha", "reset"),
        ("Se connecter", "login"),
        ("E-Mail-Adresse bestätigen", "verify"),
        ("Reimposta password", "reset"),
        ("Inloggen", "login"),
        ("Potwierdź adres e-mail", "verify"),
        ("Şifremi sıfırla", "reset"),
        ("Войти", "login"),
        ("メールアドレスを確認する", "verify"),
        ("重置密码", "reset"),
        ("تسجيل الدخول", "login"),
    ],
)
def test_link_kind_comes_from_its_text(anchor: str, kind: str):
    html = card(f'<a href="https://acme.example/r/9f8e7d6c5b4a">{anchor}</a>', FOOTER)
    assert links(subject="Your account", html=html)[0] == (
        "https://acme.example/r/9f8e7d6c5b4a",
        kind,
    )


def test_link_kind_comes_from_the_url_path_when_the_text_says_nothing():
    html = card(
        "Thanks for joining Acme! Confirm your email address:",
        '<a href="https://acme.example/account/verify-email?t=1">https://acme.example/account/verify-email?t=1</a>',
    )
    assert links(html=html)[0] == ("https://acme.example/account/verify-email?t=1", "verify")


def test_click_here_takes_its_kind_from_the_sentence():
    html = "<p>To reset your password, <a href='https://t.example/c/xyz'>click here</a>.</p>"
    assert links(subject="Password help", html=html)[0] == ("https://t.example/c/xyz", "reset")


def test_click_tracking_redirect_is_kept_as_is():
    url = "https://u1234.ct.sendmail.example.net/ls/click?upn=AbC-2BdEf-3DgHi&amp;x=1"
    html = card(
        "Confirm your email address to finish signing up.", f'<a href="{url}">Confirm email</a>'
    )
    assert links(html=html)[0] == (url.replace("&amp;", "&"), "verify")


def test_href_entities_and_line_breaks_are_cleaned():
    html = '<a href="https://acme.example/verify?a=1&amp;b=2&#38;c=3\n  &d=4">Verify email</a>'
    assert links(subject="Verify your email", html=html)[0][0] == (
        "https://acme.example/verify?a=1&b=2&c=3&d=4"
    )


def test_links_are_deduplicated_keeping_the_best_text():
    url = "https://acme.example/verify?token=abc"
    html = card(
        f'<a href="{url}"><img src="b.png" alt=""></a>',
        f'<a href="{url}">Verify email</a>',
        f'Or paste this link: <a href="{url}">{url}</a>',
    )
    result = extract("Verify your email", None, html)
    assert [x.url for x in result.links].count(url) == 1
    assert result.links[0].text == "Verify email"
    assert result.links[0].kind == "verify"


def test_url_shown_as_anchor_text_does_not_outrank_the_tracked_href():
    tracked = "https://click.acme.example/ls/click?upn=XYZ123"
    direct = "https://acme.example/verify?token=abc"
    html = card(
        f'<a href="{tracked}">Verify email</a>',
        f'Or paste this link: <a href="{tracked}">{direct}</a>',
    )
    assert links(subject="Verify your email", html=html)[0] == (tracked, "verify")


def test_image_only_links_rank_after_text_links():
    html = card(
        '<a href="https://acme.example/promo"><img src="banner.png" alt="Summer sale"></a>',
        '<a href="https://acme.example/blog">Read the blog</a>',
    )
    assert [u for u, _ in links(html=html)] == [
        "https://acme.example/blog",
        "https://acme.example/promo",
    ]


def test_not_me_link_in_a_code_mail_is_not_the_first_link():
    text = (
        "Your sign-in code is 739104.\n\n"
        "Didn't request this? Reset your password: https://acme.example/security/reset?t=abc\n"
    )
    result = extract("Your sign-in code", text, None)
    assert result.codes[0].value == "739104"
    assert result.links[0].kind == "other"


def test_newsletter_log_in_link_is_not_an_action_link():
    html = card(
        '<a href="https://acme.example/login">Log in</a> <a href="https://acme.example/account">My account</a>',
        "<h2>Top picks this week</h2><p>Read the story behind our 2024 winners.</p>",
        '<a href="https://acme.example/shop">Shop now</a>',
        FOOTER,
    )
    found = links(subject="This week at Acme: 12 new releases", html=html)
    assert not [k for _, k in found if k in ("verify", "login", "reset")]


def test_magic_link_mail_ranks_login_link_above_the_nav_link():
    html = card(
        '<a href="https://acme.example/help">Help</a>',
        "Click the button below to sign in. This link expires in 15 minutes.",
        '<a href="https://acme.example/auth/magic?token=9f8e7d6c5b4a3f2e1d0c">Sign in to Acme</a>',
    )
    assert links(subject="Your Acme sign-in link", html=html)[0] == (
        "https://acme.example/auth/magic?token=9f8e7d6c5b4a3f2e1d0c",
        "login",
    )


# --------------------------------------------------------------------------------------------
# Links in plain text
# --------------------------------------------------------------------------------------------


def test_url_wrapped_onto_the_next_line_is_rejoined():
    text = "Click to verify: https://x.example/verify?t=abc\n123\n\nThanks"
    assert links(text=text)[0] == ("https://x.example/verify?t=abc123", "verify")


def test_url_in_angle_brackets_over_several_lines_is_rejoined():
    text = "Sign in with this link:\n<https://x.example/auth/magic?token=abc\ndef123\nghi>\nThanks"
    assert links(subject="Sign in", text=text)[0] == (
        "https://x.example/auth/magic?token=abcdef123ghi",
        "login",
    )


def test_url_hard_wrapped_at_the_column_limit_is_rejoined():
    url = "https://acme.example/password/reset?token=" + "k" * 30 + "Q7" + "m" * 12
    line = "To reset your password, open: " + url
    text = f"{line[:76]}\n{line[76:]}\n\nIf you didn't ask for this, ignore this email."
    assert links(subject="Reset your password", text=text)[0] == (url, "reset")


def test_word_on_the_next_line_is_not_glued_to_a_url():
    text = "Confirm your email: https://x.example/verify/abc\nThanks,\nThe Acme team"
    assert links(text=text)[0][0] == "https://x.example/verify/abc"


def test_trailing_punctuation_and_parentheses_are_not_part_of_a_url():
    text = (
        "Verify your email address (link: https://x.example/verify/abc).\n"
        "See https://en.example.org/wiki/Foo_(bar), then https://x.example/a."
    )
    urls = [u for u, _ in links(text=text)]
    assert urls[0] == "https://x.example/verify/abc"
    assert "https://en.example.org/wiki/Foo_(bar)" in urls
    assert "https://x.example/a" in urls


def test_markdown_link_in_text_is_cleaned():
    text = "**Log in to Acme**\n\n[Log in](https://acme.example/login/email-link?token=abc)\n"
    assert links(subject="Log in to Acme", text=text)[0] == (
        "https://acme.example/login/email-link?token=abc",
        "login",
    )


# --------------------------------------------------------------------------------------------
# html_to_text
# --------------------------------------------------------------------------------------------


def test_html_to_text_skips_head_scripts_styles_and_comments():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style><script>var a=1</script></head>"
        "<body><!-- hidden note --><p>Hello</p><script>alert(1)</script><noscript>x</noscript>"
        "<!--[if mso]><p>Outlook only</p><![endif]--></body></html>"
    )
    assert html_to_text(html) == "Hello"


def test_html_to_text_puts_blocks_and_breaks_on_lines_and_cells_on_one_line():
    html = (
        "<h1>Title</h1><p>First<br>second</p><div>Third</div>"
        "<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><th>d</th><td>e</td></tr></table>"
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert html_to_text(html) == "Title\nFirst\nsecond\nThird\na\tb\tc\nd\te\none\ntwo"


def test_html_to_text_decodes_entities_and_collapses_whitespace():
    html = "<p>Fish &amp; chips\n\n   &mdash; &eacute;t&eacute; &#x1F600;&nbsp;&nbsp;ok</p>"
    assert html_to_text(html) == "Fish & chips — été 😀 ok"


def test_html_to_text_removes_invisible_characters():
    html = "<p>A&#8203;B&zwnj;C&zwj;D&shy;E&#8288;F&#xFEFF;G</p>"
    assert html_to_text(html) == "ABCDEFG"


def test_html_to_text_drops_hidden_preheaders_and_keeps_inline_text_together():
    html = (
        '<div style="display:none;max-height:0">Preview text &zwnj;&nbsp;&zwnj;</div>'
        '<span class="preheader">More preview</span>'
        "<p>Hello <b>big</b> <i>world</i><img src='x.png'>!</p>"
    )
    assert html_to_text(html) == "Hello big world!"


def test_html_to_text_keeps_preformatted_lines():
    assert html_to_text("<pre>line one\nline two</pre><p>after</p>") == "line one\nline two\nafter"


def test_html_to_text_skips_unrendered_tags_in_any_case_and_anchors_inside_hidden_ones():
    html = (
        "<body><SCRIPT>var a=1</SCRIPT><Style>p{}</Style><SVG><text>logo</text></SVG>"
        '<div HIDDEN><a href="https://a.example/verify/abc">Verify</a></div>'
        '<p>Shown <a href="https://a.example/help">help</a></p></body>'
    )
    rendered = render_html(html)
    assert rendered.text == "Shown help"
    assert [a.href for a in rendered.anchors] == ["https://a.example/help"]


def test_button_hidden_from_outlook_only_is_still_the_link_to_click():
    # Bulletproof buttons: a VML copy for Outlook in a conditional comment, and the real
    # anchor, styled `mso-hide:all`, for every other client.
    html = (
        "<p>Confirm your address to finish signing up.</p>"
        '<!--[if mso]><v:roundrect href="https://app.example/confirm?t=Zq81"></v:roundrect><![endif]-->'
        '<a href="https://app.example/confirm?t=Zq81" style="mso-hide:all;background:#1a73e8">'
        "Confirm email</a>"
        '<p><a href="https://app.example/">app.example</a></p>'
    )
    assert "Confirm email" in html_to_text(html)
    first = extract("Confirm your address", None, html).links[0]
    assert (first.url, first.kind) == ("https://app.example/confirm?t=Zq81", "verify")


def test_html_to_text_keeps_inline_markup_inside_preformatted_text_on_its_lines():
    html = "<pre>code <b>482913</b>\nline <a href='https://a.example/x'>two</a></pre><i>after</i>"
    assert html_to_text(html) == "code 482913\nline two\nafter"


def test_html_to_text_of_empty_or_textless_html_is_empty():
    assert html_to_text("") == ""
    assert html_to_text("<html><head><title>x</title></head><body></body></html>") == ""
    assert html_to_text("<<<>>>") == "<<<>>>"


def test_render_html_reports_anchor_text_context_and_buttons():
    rendered = render_html(
        card(
            "Click the button below to verify your email.",
            '<a href="https://acme.example/v">Verify</a>',
            'Read <a href="https://acme.example/terms">the terms</a> first.',
        )
    )
    verify, terms = rendered.anchors
    assert (verify.href, verify.text, verify.alone) == ("https://acme.example/v", "Verify", True)
    assert "Click the button below" in verify.context
    assert (terms.text, terms.alone) == ("the terms", False)


def test_html_with_many_closed_elements_is_rendered_whole():
    html = "<body>" + "<p><b>x</b></p>" * 6000 + "<p>end</p></body>"
    assert html_to_text(html).endswith("x\nend")


def test_html_nested_deeper_than_the_limit_is_rendered_up_to_the_limit():
    html = "<p>start</p>" + "<div>" * 5000 + "<p>deep tail</p>"
    text = html_to_text(html)
    assert text.startswith("start") and "deep tail" not in text


def test_text_before_a_late_body_tag_is_not_lost_when_there_is_no_head():
    assert html_to_text("<p>Hello</p><body><p>World</p></body>") == "Hello\nWorld"


def test_deeply_nested_html_renders_without_error():
    html = "<div>" * 50_000 + "Your code is 739104" + "</div>" * 50_000
    assert isinstance(html_to_text(html), str)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


def test_to_dict_has_the_documented_shape():
    result = extract(
        "Verify your email",
        "Your code is 739104. Verify: https://acme.example/verify?t=1",
        None,
    )
    data = result.to_dict()
    assert set(data) == {"codes", "links"}
    assert data["codes"][0] == {
        "value": "739104",
        "confidence": result.codes[0].confidence,
        "snippet": result.codes[0].snippet,
    }
    assert data["links"][0] == {
        "url": "https://acme.example/verify?t=1",
        "kind": "verify",
        "text": "Verify",
    }


def test_empty_message_yields_an_empty_extraction():
    assert extract(None, None, None) == Extraction([], [])
    assert extract("", "", "") == Extraction([], [])


# --------------------------------------------------------------------------------------------
# Real-world classes: letter and word codes, long groups, approvals, buttons, footnotes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["KXQZTPWM", "aB3dE6fG", "x7Km2Qp9"])
def test_letter_and_mixed_case_code_under_its_label_is_kept_as_printed(code: str):
    html = f"<p>Your login code:</p><h1>{code}</h1><p>It expires in 15 minutes.</p>"
    assert first_code(html=html) == code


@pytest.mark.parametrize("word", ["WELCOME", "PASSWORD", "ACCOUNT", "SECURITY", "ARRIVALS"])
def test_capitalised_word_set_apart_under_a_code_label_is_no_code(word: str):
    assert codes(text=f"Your verification code is below.\n\n{word}\n\nThanks") == []


def test_capitals_in_prose_without_a_label_are_no_code():
    assert codes(text="NEW ARRIVALS this week: QWRTZPLK jackets in every size.") == []


def test_long_code_in_dash_groups_is_typed_without_separators():
    text = "Your security code is 481-907-326. Call 1-800-555-0142 or 555-123-4567 for help."
    assert codes(text=text) == ["481907326"]


def test_phone_number_in_equal_dash_groups_is_no_code():
    assert codes(text="Support line: 912-345-678. Your security code is 605118.") == ["605118"]


def test_word_code_to_copy_and_paste_is_kept_as_printed():
    text = "Copy and paste this code into the sign-in page:\n\namber-falcon-river\n"
    assert first_code(text=text) == "amber-falcon-river"


def test_hyphenated_words_of_prose_are_no_code():
    text = "Your code: see our step-by-step, up-to-date guide on state-of-the-art sign-in."
    assert codes(text=text) == []


def test_meeting_passcode_and_id_are_not_one_time_codes():
    text = (
        "Join Zoom Meeting\nhttps://huddle.example/j/81234567890\n\n"
        "Meeting ID: 812 3456 7890\nPasscode: 482913\n"
    )
    assert codes(text=text) == []


@pytest.mark.parametrize(
    "line", ["Use code FREESHIP for free shipping.", "Use code SUMMER20 at checkout."]
)
def test_promo_code_in_a_newsletter_is_no_code(line: str):
    assert codes(subject="Our summer sale", text=f"Big news!\n\n{line}\n") == []


def _button(url: str, label: str) -> str:
    return (
        f'<table><tr><td bgcolor="#16a34a" style="padding:10px"><a href="{url}">{label}</a>'
        "</td></tr></table>"
    )


def test_approve_link_ranks_before_deny_link_whatever_the_order():
    approve = "https://id.example/login/approve?request=" + "a" * 32
    deny = "https://id.example/login/deny?request=" + "b" * 32
    html = (
        "<p>Someone is trying to sign in to your account.</p>"
        + _button(deny, "No, block it")
        + _button(approve, "Yes, it was me")
    )
    assert links(html=html)[0] == (approve, "login")


def test_button_with_a_token_beats_a_sign_in_link_to_the_home_page():
    button = "https://app.example/auth/callback?token=" + "t" * 40
    html = (
        '<p><a href="https://app.example/">Log in to App</a></p>'
        "<p>Click the button below to log in.</p>" + _button(button, "Sign in")
    )
    assert links(subject="Sign in to App", html=html)[0] == (button, "login")


def test_invitation_accept_button_beats_a_product_link():
    accept = "https://tasks.example/invites/" + "k" * 32
    html = (
        "<p>Maya invited you to collaborate.</p>"
        '<p><a href="https://tasks.example/features">See what is new</a></p>'
        + _button(accept, "Accept invitation")
    )
    assert links(subject="Maya invited you", html=html)[0] == (accept, "verify")


def test_password_changed_notice_links_to_home_page_are_not_reset_links():
    html = (
        "<p>The password for your account was changed.</p>"
        '<p><a href="https://bank.example/">Go to Bank</a></p>'
        '<p><a href="https://bank.example/support">Contact support</a></p>'
    )
    found = links(subject="Your password was changed", html=html)
    assert found[0][1] not in ("verify", "login", "reset")


def test_footnote_marker_is_not_part_of_the_url_and_the_citing_words_name_it():
    url = "https://app.example/auth/magic?token=" + "m" * 40
    text = (
        "Welcome back! Sign in [2] to continue.\n\nLinks:\n------\n"
        f"[1] https://app.example/\n[2] {url}\n[3] https://app.example/help\n"
    )
    first = extract("Sign in to App", text, None).links[0]
    assert (first.url, first.kind, first.text) == (url, "login", "Sign in")


def test_footnote_marker_glued_to_a_url_is_dropped():
    url = "https://app.example/auth/magic?token=" + "g" * 40
    text = f"Click the link below to sign in:\n{url}[2]\n"
    assert links(subject="Sign in", text=text)[0] == (url, "login")
