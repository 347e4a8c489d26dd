"""Writes cases.json: the labelled replies that tests/mail/test_reply.py and bench/reply_bench.py
read. Each case is a message as a client composes it (text part, HTML part or both, written for
this corpus in the shapes those clients produce) with the reply text a reader should get.

    .venv/bin/python tests/data/replies/build.py

The generated cases cover every client in every language; SPECIAL holds the hand-written ones
(inline answers, bottom posting, forwards, signatures, messages that are not replies).
"""

from __future__ import annotations

import html as htmllib
import json
import textwrap
from pathlib import Path

OUT = Path(__file__).with_name("cases.json")
ANNA = "Anna Berg <anna@example.com>"
LONG = "Anna-Katharina Bergström-Lindqvist <anna.katharina.bergstrom@example.com>"
ME = "Jonas Weber <jonas@example.org>"

LANGUAGES: dict[str, dict[str, str]] = {
    "en": {
        "reply": "Thanks, Thursday at 10 works for me.\nI will bring the revised budget.",
        "original": "Could we move the review to Thursday?\nLet me know what time suits you.",
        "signoff": "Best regards,",
        "gmail": "On Mon, 3 Mar 2025 at 14:02, {who} wrote:",
        "apple": "On 3 Mar 2025, at 14:02, {who} wrote:",
        "thunderbird": "On 03/03/2025 14:02, Anna Berg wrote:",
        "yahoo": "On Monday, 3 March 2025 at 14:02:11 GMT+1, {who} wrote:",
        "labels": "From:|Sent:|To:|Subject:",
        "date": "Monday, March 3, 2025 2:02 PM",
        "re": "RE:",
        "original_sep": "-----Original Message-----",
        "iphone": "Sent from my iPhone",
        "outlook_mobile": "Get Outlook for Android",
        "forward": "---------- Forwarded message ---------",
        "apple_forward": "Begin forwarded message:",
    },
    "de": {
        "reply": "Danke, Donnerstag um 10 Uhr passt mir gut.\nIch bringe das überarbeitete Budget mit.",
        "original": "Können wir die Besprechung auf Donnerstag verschieben?\nSag mir, welche Uhrzeit dir passt.",
        "signoff": "Viele Grüße",
        "gmail": "Am Mo., 3. März 2025 um 14:02 Uhr schrieb {who}:",
        "apple": "Am 03.03.2025 um 14:02 schrieb {who}:",
        "thunderbird": "Am 03.03.25 um 14:02 schrieb Anna Berg:",
        "yahoo": "Am Montag, 3. März 2025 um 14:02:11 MEZ hat {who} Folgendes geschrieben:",
        "labels": "Von:|Gesendet:|An:|Betreff:",
        "date": "Montag, 3. März 2025 14:02",
        "re": "AW:",
        "original_sep": "-----Ursprüngliche Nachricht-----",
        "iphone": "Von meinem iPhone gesendet",
        "outlook_mobile": "Outlook für Android herunterladen",
        "forward": "---------- Weitergeleitete Nachricht ---------",
        "apple_forward": "Anfang der weitergeleiteten Nachricht:",
    },
    "fr": {
        "reply": "Merci, jeudi à 10 h me convient.\nJ'apporterai le budget révisé.",
        "original": "Pourrions-nous déplacer la réunion à jeudi ?\nDis-moi quelle heure te convient.",
        "signoff": "Cordialement,",
        "gmail": "Le lun. 3 mars 2025 à 14:02, {who} a écrit :",
        "apple": "Le 3 mars 2025 à 14:02, {who} a écrit :",
        "thunderbird": "Le 03/03/2025 à 14:02, Anna Berg a écrit :",
        "yahoo": "Le lundi 3 mars 2025 à 14:02:11 UTC+1, {who} a écrit :",
        "labels": "De :|Envoyé :|À :|Objet :",
        "date": "lundi 3 mars 2025 14:02",
        "re": "RE :",
        "original_sep": "-----Message d'origine-----",
        "iphone": "Envoyé de mon iPhone",
        "outlook_mobile": "Obtenir Outlook pour Android",
        "forward": "---------- Message transféré ---------",
        "apple_forward": "Début du message réexpédié :",
    },
    "es": {
        "reply": "Gracias, el jueves a las 10 me viene bien.\nLlevaré el presupuesto revisado.",
        "original": "¿Podemos mover la reunión al jueves?\nDime qué hora te viene mejor.",
        "signoff": "Saludos,",
        "gmail": "El lun, 3 mar 2025 a las 14:02, {who_paren} escribió:",
        "apple": "El 3 mar 2025, a las 14:02, {who} escribió:",
        "thunderbird": "El 3/3/25 a las 14:02, Anna Berg escribió:",
        "yahoo": "El lunes, 3 de marzo de 2025, 14:02:11 CET, {who} escribió:",
        "labels": "De:|Enviado:|Para:|Asunto:",
        "date": "lunes, 3 de marzo de 2025 14:02",
        "re": "RE:",
        "original_sep": "-----Mensaje original-----",
        "iphone": "Enviado desde mi iPhone",
        "outlook_mobile": "Obtener Outlook para Android",
        "forward": "---------- Mensaje reenviado ---------",
        "apple_forward": "Inicio del mensaje reenviado:",
    },
    "pt": {
        "reply": "Obrigado, quinta-feira às 10h funciona para mim.\nVou levar o orçamento revisado.",
        "original": "Podemos mudar a reunião para quinta-feira?\nDiga-me que horário prefere.",
        "signoff": "Atenciosamente,",
        "gmail": "Em seg., 3 de mar. de 2025 às 14:02, {who} escreveu:",
        "apple": "Em 3 de mar. de 2025, à(s) 14:02, {who} escreveu:",
        "thunderbird": "Em 03/03/2025 14:02, Anna Berg escreveu:",
        "yahoo": "Em segunda-feira, 3 de março de 2025 14:02:11 BRT, {who} escreveu:",
        "labels": "De:|Enviado:|Para:|Assunto:",
        "date": "segunda-feira, 3 de março de 2025 14:02",
        "re": "RE:",
        "original_sep": "-----Mensagem original-----",
        "iphone": "Enviado do meu iPhone",
        "outlook_mobile": "Obter o Outlook para Android",
        "forward": "---------- Mensagem encaminhada ---------",
        "apple_forward": "Início da mensagem reencaminhada:",
    },
    "it": {
        "reply": "Grazie, giovedì alle 10 va bene per me.\nPorterò il budget rivisto.",
        "original": "Possiamo spostare la riunione a giovedì?\nFammi sapere che ora ti va bene.",
        "signoff": "Cordiali saluti,",
        "gmail": "Il giorno lun 3 mar 2025 alle ore 14:02 {who} ha scritto:",
        "apple": "Il giorno 3 mar 2025, alle ore 14:02, {who} ha scritto:",
        "thunderbird": "Il 03/03/25 14:02, Anna Berg ha scritto:",
        "yahoo": "Il lunedì 3 marzo 2025, 14:02:11 CET, {who} ha scritto:",
        "labels": "Da:|Inviato:|A:|Oggetto:",
        "date": "lunedì 3 marzo 2025 14:02",
        "re": "R:",
        "original_sep": "-----Messaggio originale-----",
        "iphone": "Inviato da iPhone",
        "outlook_mobile": "Scarica Outlook per Android",
        "forward": "---------- Messaggio inoltrato ---------",
        "apple_forward": "Inizio messaggio inoltrato:",
    },
    "nl": {
        "reply": "Bedankt, donderdag om 10 uur komt mij goed uit.\nIk neem de herziene begroting mee.",
        "original": "Kunnen we de bespreking naar donderdag verplaatsen?\nLaat me weten hoe laat het je schikt.",
        "signoff": "Met vriendelijke groet,",
        "gmail": "Op ma 3 mrt 2025 om 14:02 schreef {who}:",
        "apple": "Op 3 mrt 2025, om 14:02, heeft {who} het volgende geschreven:",
        "thunderbird": "Op 03-03-2025 om 14:02 schreef Anna Berg:",
        "yahoo": "Op maandag 3 maart 2025 14:02:11 CET schreef {who}:",
        "labels": "Van:|Verzonden:|Aan:|Onderwerp:",
        "date": "maandag 3 maart 2025 14:02",
        "re": "RE:",
        "original_sep": "-----Oorspronkelijk bericht-----",
        "iphone": "Verstuurd vanaf mijn iPhone",
        "outlook_mobile": "Outlook voor Android downloaden",
        "forward": "---------- Doorgestuurd bericht ---------",
        "apple_forward": "Begin doorgestuurd bericht:",
    },
    "ru": {
        "reply": "Спасибо, четверг в 10 часов мне подходит.\nЯ принесу исправленный бюджет.",
        "original": "Можем перенести встречу на четверг?\nНапиши, какое время тебе удобно.",
        "signoff": "С уважением,",
        "gmail": "пн, 3 мар. 2025 г. в 14:02, {who}:",
        "apple": "3 марта 2025 г., в 14:02, {who} написал(а):",
        "thunderbird": "03.03.2025 14:02, Anna Berg пишет:",
        "yahoo": "понедельник, 3 марта 2025 г., 14:02:11 GMT+3, {who} написал(-а):",
        "labels": "От:|Отправлено:|Кому:|Тема:",
        "date": "3 марта 2025 г. 14:02",
        "re": "RE:",
        "original_sep": "-----Исходное сообщение-----",
        "iphone": "Отправлено с iPhone",
        "outlook_mobile": "Получить Outlook для Android",
        "forward": "---------- Пересылаемое сообщение ---------",
        "apple_forward": "Начало переадресованного сообщения:",
    },
    "ja": {
        "reply": "ありがとうございます。木曜日の10時で大丈夫です。\n修正した予算を持って行きます。",
        "original": "打ち合わせを木曜日に変更できますか？\n都合の良い時間を教えてください。",
        "signoff": "よろしくお願いします。",
        "gmail": "2025年3月3日(月) 14:02 {who}:",
        "apple": "2025/03/03 14:02、{who}のメール:",
        "thunderbird": "On 2025/03/03 14:02, Anna Berg wrote:",
        "yahoo": "2025年3月3日月曜日 14:02:11 JST、{who} のメッセージ:",
        "labels": "差出人:|送信日時:|宛先:|件名:",
        "date": "2025年3月3日 14:02",
        "re": "RE:",
        "original_sep": "-----Original Message-----",
        "iphone": "iPhoneから送信",
        "outlook_mobile": "Android版Outlookを入手",
        "forward": "---------- Forwarded message ---------",
        "apple_forward": "転送されたメッセージ:",
    },
    "zh": {
        "reply": "谢谢，星期四上午10点我可以。\n我会带上修改后的预算。",
        "original": "我们可以把会议改到星期四吗？\n告诉我你方便的时间。",
        "signoff": "祝好，",
        "gmail": "{who} 于2025年3月3日周一 14:02写道：",
        "apple": "2025年3月3日 14:02，{who} 写道：",
        "thunderbird": "在 2025/3/3 14:02, Anna Berg 写道:",
        "yahoo": "在 2025年3月3日星期一 14:02:11 [GMT+8], {who} 写道:",
        "labels": "发件人:|发送时间:|收件人:|主题:",
        "date": "2025年3月3日 14:02",
        "re": "回复:",
        "original_sep": "-----原始邮件-----",
        "iphone": "发自我的iPhone",
        "outlook_mobile": "获取 Outlook for Android",
        "forward": "---------- Forwarded message ---------",
        "apple_forward": "以下为转发的邮件：",
    },
    "pl": {
        "reply": "Dzięki, czwartek o 10 mi pasuje.\nPrzyniosę poprawiony budżet.",
        "original": "Czy możemy przenieść spotkanie na czwartek?\nDaj znać, która godzina ci pasuje.",
        "signoff": "Pozdrawiam,",
        "gmail": "pon., 3 mar 2025 o 14:02 {who} napisał(a):",
        "apple": "Wiadomość napisana przez {who} w dniu 03.03.2025, o godz. 14:02:",
        "thunderbird": "W dniu 3.03.2025 o 14:02, Anna Berg pisze:",
        "yahoo": "W poniedziałek, 3 marca 2025 14:02:11 CET, {who} napisał(-a):",
        "labels": "Od:|Wysłano:|Do:|Temat:",
        "date": "poniedziałek, 3 marca 2025 14:02",
        "re": "Odp:",
        "original_sep": "-----Oryginalna wiadomość-----",
        "iphone": "Wysłane z iPhone'a",
        "outlook_mobile": "Pobierz aplikację Outlook dla systemu Android",
        "forward": "---------- Przekazana wiadomość ---------",
        "apple_forward": "Początek przekazywanej wiadomości:",
    },
    "tr": {
        "reply": "Teşekkürler, perşembe saat 10 benim için uygun.\nGüncellenmiş bütçeyi getireceğim.",
        "original": "Toplantıyı perşembeye alabilir miyiz?\nSana hangi saat uyar, haber ver.",
        "signoff": "Saygılarımla,",
        "gmail": "{who}, 3 Mar 2025 Pzt, 14:02 tarihinde şunu yazdı:",
        "apple": "3 Mar 2025 tarihinde 14:02 saatinde, {who} şunları yazdı:",
        "thunderbird": "3.03.2025 14:02 tarihinde Anna Berg yazdı:",
        "yahoo": "3 Mart 2025 Pazartesi 14:02:11 GMT+3 tarihinde {who} şunu yazdı:",
        "labels": "Kimden:|Gönderildi:|Kime:|Konu:",
        "date": "3 Mart 2025 Pazartesi 14:02",
        "re": "YNT:",
        "original_sep": "-----Özgün İleti-----",
        "iphone": "iPhone'umdan gönderildi",
        "outlook_mobile": "Android için Outlook'u edinin",
        "forward": "---------- Yönlendirilen ileti ----------",
        "apple_forward": "İletilen mesajın başlangıcı:",
    },
}


def attr(lang: dict[str, str], client: str, who: str = ANNA) -> str:
    name, _, rest = who.partition(" <")
    return lang[client].format(who=who, who_paren=f"{name} (<{rest}")


def quoted(text: str, prefix: str = "> ") -> str:
    return "\n".join((prefix + line).rstrip() for line in text.split("\n"))


def body(lang: dict[str, str]) -> str:
    """What the author wrote: the answer, a sign-off and a first name."""
    return f"{lang['reply']}\n\n{lang['signoff']}\nJonas"


def original(lang: dict[str, str]) -> str:
    return f"{lang['original']}\n\nAnna"


def divs(text: str) -> str:
    return "".join(
        f"<div>{htmllib.escape(line)}</div>" if line else "<div><br></div>"
        for line in text.split("\n")
    )


def header_block(lang: dict[str, str], subject: str = "Budget") -> str:
    f, s, t, j = lang["labels"].split("|")
    return f"{f} {ANNA}\n{s} {lang['date']}\n{t} {ME}\n{j} {subject}"


def header_block_html(lang: dict[str, str]) -> str:
    f, s, t, j = (htmllib.escape(x) for x in lang["labels"].split("|"))
    return (
        f"<b>{f}</b> {htmllib.escape(ANNA)}<br><b>{s}</b> {lang['date']}<br>"
        f"<b>{t}</b> {htmllib.escape(ME)}<br><b>{j}</b> Budget"
    )


def wrap(line: str) -> str:
    """Gmail's plain-text part wraps long lines at 76 characters."""
    return "\n".join(textwrap.wrap(line, 76, break_long_words=False, break_on_hyphens=False))


def cases_for(code: str, lang: dict[str, str]) -> list[dict[str, object]]:
    new = body(lang)
    orig = original(lang)
    re_subject = f"{lang['re']} Budget"
    out: list[dict[str, object]] = []

    def add(client: str, variant: str, *, text=None, html=None, expected=new, subject=re_subject):
        out.append(
            {
                "id": f"{client}-{variant}-{code}",
                "client": client,
                "language": code,
                "subject": subject,
                "text": text,
                "html": html,
                "expected": expected,
            }
        )

    gmail_attr = attr(lang, "gmail")
    gmail_text = f"{new}\n\n{gmail_attr}\n\n{quoted(orig)}\n"
    add("gmail", "text", text=gmail_text)
    long_attr = wrap(attr(lang, "gmail", LONG))
    add("gmail", "wrapped", text=f"{new}\n\n{long_attr}\n\n{quoted(orig)}\n")
    gmail_html = (
        f'<div dir="ltr">{divs(new)}</div><br><div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">{htmllib.escape(gmail_attr)}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
        f'rgb(204,204,204);padding-left:1ex"><div dir="ltr">{divs(orig)}</div></blockquote></div>'
    )
    add("gmail", "html", text=gmail_text, html=gmail_html)

    outlook_text = f"{new}\n\n________________________________\n{header_block(lang)}\n\n{orig}\n"
    add("outlook", "text", text=outlook_text)
    classic = f"{new}\n\n{lang['original_sep']}\n{header_block(lang)}\n\n{orig}\n"
    add("outlook", "classic", text=classic)
    outlook_html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>'
        '</head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Aptos_'
        f'EmbeddedFont, Calibri, Helvetica, sans-serif; font-size: 12pt;">{divs(new)}</div>'
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:'
        f'11pt" color="#000000">{header_block_html(lang)}</font><div>&nbsp;</div></div>'
        f"<div>{divs(orig)}</div></body></html>"
    )
    add("outlook", "html", text=outlook_text, html=outlook_html)
    mobile = (
        f"{new}\n\n{lang['outlook_mobile']}\n________________________________\n"
        f"{header_block(lang)}\n\n{orig}\n"
    )
    add("outlook-mobile", "text", text=mobile)

    apple_attr = attr(lang, "apple")
    ios_text = f"{new}\n\n{lang['iphone']}\n\n{quoted(apple_attr)}\n>\n{quoted(orig)}\n"
    add("ios", "text", text=ios_text)
    ios_html = (
        f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        f'<body dir="auto">{divs(new)}<div><br></div><div dir="ltr">'
        f"{htmllib.escape(lang['iphone'])}</div>"
        f'<div dir="ltr"><br><blockquote type="cite">{htmllib.escape(apple_attr)}<br><br>'
        f'</blockquote></div><blockquote type="cite"><div dir="ltr">{divs(orig)}</div>'
        "</blockquote></body></html>"
    )
    add("ios", "html", text=ios_text, html=ios_html)
    mac_html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: '
        f'after-white-space;">{divs(new)}<div><br><div>{htmllib.escape(apple_attr)}</div>'
        '<br class="Apple-interchange-newline"><blockquote type="cite"><div>'
        f"{divs(orig)}</div></blockquote></div><br></body></html>"
    )
    add("apple-mail", "html", text=f"{new}\n\n{apple_attr}\n\n{quoted(orig)}\n", html=mac_html)

    tb_attr = attr(lang, "thunderbird")
    tb_new = f"{new}\n\n-- \nJonas Weber\nExample Corp"
    add("thunderbird", "text", text=f"{tb_new}\n\n{tb_attr}\n{quoted(orig, '>')}\n")
    tb_html = (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta http-equiv="content-type" '
        'content="text/html; charset=UTF-8">\n  </head>\n  <body>\n    <p>'
        + "<br>\n".join(htmllib.escape(line) for line in new.split("\n"))
        + '</p>\n    <pre class="moz-signature" cols="72">-- \nJonas Weber\nExample Corp</pre>\n'
        f'    <div class="moz-cite-prefix">{htmllib.escape(tb_attr)}<br>\n    </div>\n'
        '    <blockquote type="cite" cite="mid:1a2b3c@example.com">'
        + "<br>".join(htmllib.escape(line) for line in orig.split("\n"))
        + "</blockquote>\n  </body>\n</html>\n"
    )
    add("thunderbird", "html", html=tb_html)

    yahoo_attr = attr(lang, "yahoo")
    yahoo_html = (
        '<html><head></head><body><div class="ydp5e1a2b3cyahoo-style-wrap" style="font-family:'
        f'Helvetica Neue, Helvetica, Arial, sans-serif;font-size:13px;">{divs(new)}</div>'
        '<div id="yahoo_quoted_8812345671" class="yahoo_quoted"><div style="font-family:'
        "'Helvetica Neue', Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;\">"
        f"<div>{htmllib.escape(yahoo_attr)}</div><div><br></div><div><br></div>"
        f'<div><div dir="ltr">{divs(orig)}</div></div></div></div></body></html>'
    )
    add("yahoo", "html", html=yahoo_html)

    fwd_note = lang["reply"].split("\n")[0]
    f, s, t, j = lang["labels"].split("|")
    fwd_text = (
        f"{fwd_note}\n\n{lang['forward']}\n{f} {ANNA}\nDate: Mon, 3 Mar 2025 at 14:02\n"
        f"Subject: Budget\nTo: {ME}\n\n\n{orig}\n"
    )
    add("gmail", "forward", text=fwd_text, expected=fwd_text, subject="Fwd: Budget")
    return out


SPECIAL: list[dict[str, object]] = [
    {
        "id": "thunderbird-inline-en",
        "client": "thunderbird",
        "language": "en",
        "subject": "Re: Launch checklist",
        "text": (
            "On 03/03/2025 14:02, Anna Berg wrote:\n> 1. Is the staging database migrated?\n\n"
            "Yes, since Friday.\n\n> 2. Who signs off the release notes?\n\nMarta does.\n\n"
            "> 3. Can we launch on Tuesday?\n\nWednesday is safer.\n\n-- \nJonas\n"
        ),
        "html": None,
        "expected": (
            "On 03/03/2025 14:02, Anna Berg wrote:\n> 1. Is the staging database migrated?\n\n"
            "Yes, since Friday.\n\n> 2. Who signs off the release notes?\n\nMarta does.\n\n"
            "> 3. Can we launch on Tuesday?\n\nWednesday is safer."
        ),
    },
    {
        "id": "gmail-inline-text-en",
        "client": "gmail",
        "language": "en",
        "subject": "Re: Questions",
        "text": (
            "Answers below.\n\nOn Mon, 3 Mar 2025 at 14:02, Anna Berg <anna@example.com> wrote:\n\n"
            "> Do you have the invoice number?\n\nINV-2291.\n\n> And the due date?\n\n"
            "The 31st.\n"
        ),
        "html": None,
        "expected": (
            "Answers below.\n\nOn Mon, 3 Mar 2025 at 14:02, Anna Berg <anna@example.com> wrote:\n\n"
            "> Do you have the invoice number?\n\nINV-2291.\n\n> And the due date?\n\nThe 31st."
        ),
    },
    {
        "id": "gmail-inline-html-en",
        "client": "gmail",
        "language": "en",
        "subject": "Re: Questions",
        "text": None,
        "html": (
            '<div dir="ltr">Answers below.</div><br><div class="gmail_quote"><div dir="ltr" '
            'class="gmail_attr">On Mon, 3 Mar 2025 at 14:02, Anna Berg &lt;anna@example.com&gt; '
            'wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">'
            "<div>Do you have the invoice number?</div></blockquote><div>INV-2291.</div>"
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><div>And the due '
            "date?</div></blockquote><div>The 31st.</div></div>"
        ),
        "expected": (
            "Answers below.\nOn Mon, 3 Mar 2025 at 14:02, Anna Berg <anna@example.com> wrote:\n"
            "Do you have the invoice number?\nINV-2291.\nAnd the due date?\nThe 31st."
        ),
    },
    {
        "id": "thunderbird-bottom-posted-en",
        "client": "thunderbird",
        "language": "en",
        "subject": "Re: Keys",
        "text": (
            "On 03/03/2025 14:02, Anna Berg wrote:\n> Did you leave the keys at reception?\n>\n"
            "> Anna\n\nYes, in an envelope with your name on it.\n\nJonas\n"
        ),
        "html": None,
        "expected": "Yes, in an envelope with your name on it.\n\nJonas",
    },
    {
        "id": "thunderbird-bottom-posted-html-de",
        "client": "thunderbird",
        "language": "de",
        "subject": "Re: Schlüssel",
        "text": None,
        "html": (
            '<html><body><div class="moz-cite-prefix">Am 03.03.25 um 14:02 schrieb Anna Berg:'
            '<br></div><blockquote type="cite">Hast du die Schlüssel am Empfang gelassen?'
            "</blockquote><p>Ja, in einem Umschlag mit deinem Namen.</p></body></html>"
        ),
        "expected": "Ja, in einem Umschlag mit deinem Namen.",
    },
    {
        "id": "plain-not-a-reply-en",
        "client": "gmail",
        "language": "en",
        "subject": "Welcome to the team",
        "text": (
            "Hi all,\n\nPlease welcome Marta, who joins the finance team today.\n\nJonas\n\n"
            "-- \nJonas Weber | Example Corp\n"
        ),
        "html": None,
        "expected": "Hi all,\n\nPlease welcome Marta, who joins the finance team today.\n\nJonas",
    },
    {
        "id": "outlook-contact-signature-en",
        "client": "outlook",
        "language": "en",
        "subject": "RE: Budget",
        "text": (
            "The figures are attached.\n\nBest regards,\nJonas Weber\nHead of Finance | Example Corp\n"
            "+49 30 1234 5678\nwww.example.org\n\nFrom: Anna Berg <anna@example.com>\n"
            "Sent: Monday, March 3, 2025 2:02 PM\nTo: Jonas Weber <jonas@example.org>\n"
            "Subject: Budget\n\nCan you send the figures?\n"
        ),
        "html": None,
        "expected": "The figures are attached.\n\nBest regards,\nJonas Weber",
    },
    {
        "id": "plain-signoff-kept-de",
        "client": "thunderbird",
        "language": "de",
        "subject": "Mittagessen",
        "text": "Hallo Anna,\n\nhast du morgen Zeit für ein Mittagessen?\n\nViele Grüße\nJonas\n",
        "html": None,
        "expected": "Hallo Anna,\n\nhast du morgen Zeit für ein Mittagessen?\n\nViele Grüße\nJonas",
    },
    {
        "id": "android-galaxy-en",
        "client": "android",
        "language": "en",
        "subject": "RE: Budget",
        "text": (
            "On my way, ten minutes.\n\n\n\nSent from my Galaxy\n\n\n-------- Original message "
            "--------\nFrom: Anna Berg <anna@example.com> \nDate: 03/03/2025 14:02 (GMT+01:00) \n"
            "To: jonas@example.org \nSubject: Budget \n\nWhere are you?\n"
        ),
        "html": None,
        "expected": "On my way, ten minutes.",
    },
    {
        "id": "outlook-ios-en",
        "client": "outlook-mobile",
        "language": "en",
        "subject": "RE: Budget",
        "text": (
            "Approved.\n\nGet Outlook for iOS\n________________________________\nFrom: Anna Berg "
            "<anna@example.com>\nSent: Monday, March 3, 2025 2:02:11 PM\nTo: Jonas Weber "
            "<jonas@example.org>\nSubject: Budget\n\nCan you approve the budget?\n"
        ),
        "html": None,
        "expected": "Approved.",
    },
    {
        "id": "outlook-forward-subject-en",
        "client": "outlook",
        "language": "en",
        "subject": "FW: Budget",
        "text": (
            "Marta, see below.\n\nFrom: Anna Berg <anna@example.com>\nSent: Monday, March 3, 2025 "
            "2:02 PM\nTo: Jonas Weber <jonas@example.org>\nSubject: Budget\n\nThe budget is due "
            "on Friday.\n"
        ),
        "html": None,
        "expected": (
            "Marta, see below.\n\nFrom: Anna Berg <anna@example.com>\nSent: Monday, March 3, 2025 "
            "2:02 PM\nTo: Jonas Weber <jonas@example.org>\nSubject: Budget\n\nThe budget is due "
            "on Friday."
        ),
    },
    {
        "id": "apple-mail-forward-fr",
        "client": "apple-mail",
        "language": "fr",
        "subject": "Budget",
        "text": (
            "Pour info.\n\nDébut du message réexpédié :\n\nDe: Anna Berg <anna@example.com>\n"
            "Objet: Budget\nDate: 3 mars 2025 à 14:02:11 UTC+1\nÀ: Jonas Weber "
            "<jonas@example.org>\n\nLe budget est à rendre vendredi.\n"
        ),
        "html": None,
        "expected": (
            "Pour info.\n\nDébut du message réexpédié :\n\nDe: Anna Berg <anna@example.com>\n"
            "Objet: Budget\nDate: 3 mars 2025 à 14:02:11 UTC+1\nÀ: Jonas Weber "
            "<jonas@example.org>\n\nLe budget est à rendre vendredi."
        ),
    },
    {
        "id": "gmail-reply-to-forward-en",
        "client": "gmail",
        "language": "en",
        "subject": "Re: Fwd: Budget",
        "text": (
            "Thanks, I will look at it tonight.\n\nOn Tue, 4 Mar 2025 at 09:15, Jonas Weber "
            "<jonas@example.org> wrote:\n\n> FYI\n>\n> ---------- Forwarded message ---------\n"
            "> From: Anna Berg <anna@example.com>\n> Subject: Budget\n>\n> Due Friday.\n"
        ),
        "html": None,
        "expected": "Thanks, I will look at it tonight.",
    },
    {
        "id": "gmail-forward-html-en",
        "client": "gmail",
        "language": "en",
        "subject": "Fwd: Budget",
        "text": None,
        "html": (
            '<div dir="ltr">See below.<br><br><div class="gmail_quote"><div dir="ltr" '
            'class="gmail_attr">---------- Forwarded message ---------<br>From: <strong '
            'class="gmail_sendername" dir="auto">Anna Berg</strong> <span dir="auto">&lt;'
            "anna@example.com&gt;</span><br>Date: Mon, 3 Mar 2025 at 14:02<br>Subject: Budget<br>"
            'To: &lt;jonas@example.org&gt;<br></div><br><br><div dir="ltr">Due Friday.</div>'
            "</div></div>"
        ),
        "expected": (
            "See below.\n---------- Forwarded message ---------\nFrom: Anna Berg <anna@example.com>\n"
            "Date: Mon, 3 Mar 2025 at 14:02\nSubject: Budget\nTo: <jonas@example.org>\nDue Friday."
        ),
    },
    {
        "id": "gmail-colon-in-reply-en",
        "client": "gmail",
        "language": "en",
        "subject": "Re: Times",
        "text": (
            "Here are the slots we have:\n- 10:00\n- 14:30\n\nOn Mon, 3 Mar 2025 at 14:02, Anna Berg "
            "<anna@example.com> wrote:\n\n> Which times are free?\n"
        ),
        "html": None,
        "expected": "Here are the slots we have:\n- 10:00\n- 14:30",
    },
    {
        "id": "gmail-nested-history-es",
        "client": "gmail",
        "language": "es",
        "subject": "Re: Presupuesto",
        "text": (
            "Perfecto, cerramos así.\n\nEl mar, 4 mar 2025 a las 9:15, Anna Berg (<anna@example.com>) "
            "escribió:\n\n> Entonces el jueves.\n>\n> El lun, 3 mar 2025 a las 14:02, Jonas Weber (<"
            "jonas@example.org>) escribió:\n>\n>> ¿Jueves o viernes?\n"
        ),
        "html": None,
        "expected": "Perfecto, cerramos así.",
    },
    {
        "id": "yahoo-android-footer-en",
        "client": "yahoo",
        "language": "en",
        "subject": "Re: Budget",
        "text": None,
        "html": (
            '<html><body><div dir="ltr">Fine by me.</div><div id="ymail_android_signature"><a '
            'id="ymail_android_signature_link" href="https://mail.example/android">Sent from '
            'Yahoo Mail on Android</a></div><div id="yahoo_quoted_1234" class="yahoo_quoted">'
            "<div>On Mon, Mar 3, 2025 at 14:02, Anna Berg &lt;anna@example.com&gt; wrote:</div>"
            "<div>Is the budget fine?</div></div></body></html>"
        ),
        "expected": "Fine by me.",
    },
    {
        "id": "outlook-html-only-de",
        "client": "outlook",
        "language": "de",
        "subject": "AW: Budget",
        "text": None,
        "html": (
            '<html><body><div class="WordSection1"><p class="MsoNormal">Ist erledigt.</p>'
            '<p class="MsoNormal">&nbsp;</p><div><div style="border:none;border-top:solid #E1E1E1 '
            '1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>Von:</b> Anna Berg &lt;'
            "anna@example.com&gt; <br><b>Gesendet:</b> Montag, 3. März 2025 14:02<br><b>An:</b> "
            "Jonas Weber &lt;jonas@example.org&gt;<br><b>Betreff:</b> Budget</p></div></div>"
            '<p class="MsoNormal">Ist das Budget fertig?</p></div></body></html>'
        ),
        "expected": "Ist erledigt.",
    },
]


def main() -> None:
    cases = [case for code, lang in LANGUAGES.items() for case in cases_for(code, lang)]
    cases += SPECIAL
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    OUT.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()
