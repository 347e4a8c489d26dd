"""The corpus's second half: mail shaped like what identity servers, auth libraries, CMSs,
password managers, meeting tools and newsletters send, one group per hard class.

`make_corpus.py` appends these after its own messages (so adding here never changes the files
written before). Each group is a category of `labels.json`:

- `code_letters`: codes of capitals only ("KXQZTPWM") or mixed case with digits ("aB3dE6fG"),
  highlighted (<strong>, <code>, a big cell, a heading, letter-spaced) or alone on a line;
- `code_long_groups`: long numeric codes printed in dash-separated groups ("123-456-789");
- `code_words`: codes of dictionary words joined by hyphens, to copy and paste;
- `link_approve`: sign-in approval mail with an approve and a deny link, in either order;
- `link_button`: the button (a token in its URL) after a homepage, product or documentation link;
- `no_action`: notices whose links do nothing for a flow (password changed, welcome, statement);
- `not_a_code`: meeting invitations (IDs and passcodes), promo codes, referral numbers;
- `footnote_links`: plain-text renderings with numbered footnote links.

Every brand, address and link is fictional; every text was written for this corpus. It uses its
own random generator, so `make_corpus.py`'s output does not depend on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_rng = random.Random(8080)


@dataclass
class Case:
    name: str
    category: str
    lang: str
    brand: str
    domain: str
    subject: str
    text: str | None
    html: str | None
    code: str | None = None
    link: str | None = None
    link_kind: str | None = None


def tok(n: int = 40) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(_rng.choice(alphabet) for _ in range(n))


def page(title: str, blocks: list[str], domain: str, lang: str = "en", footer: str = "") -> str:
    """A single-column card in the shape of an identity server's or CMS's template."""
    rows = "\n".join(
        '<tr><td style="padding:0 32px 14px 32px;font-family:Arial,sans-serif;font-size:15px;'
        f'line-height:22px;color:#333333;">{b}</td></tr>'
        for b in blocks
    )
    foot = footer or (
        f'<a href="https://{domain}/" style="color:#888888;">{domain}</a> &middot; '
        f'<a href="https://{domain}/privacy" style="color:#888888;">Privacy</a>'
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ margin:0; background:#f4f4f5; }} .btn:hover {{ opacity:.9; }}</style></head>
<body style="margin:0;background:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="padding:24px 8px;">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" border="0" style="background:#ffffff;border-radius:6px;">
<tr><td style="padding:28px 32px 12px 32px;"><a href="https://{domain}/"><img src="https://{domain}/static/logo.png" alt="{domain}" width="120" height="30"></a></td></tr>
<tr><td style="padding:0 32px 12px 32px;font-family:Arial,sans-serif;font-size:20px;font-weight:bold;color:#111111;">{title}</td></tr>
{rows}
</table>
<table role="presentation" width="560" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="padding:16px 32px;font-family:Arial,sans-serif;font-size:12px;color:#888888;">{foot}</td></tr></table>
</td></tr></table>
</body></html>
"""


def btn(url: str, label: str, color: str = "#2f6fed") -> str:
    return (
        f'<a href="{url}" class="btn" target="_blank" style="display:inline-block;background:{color};'
        "color:#ffffff;padding:12px 24px;border-radius:4px;font-weight:bold;text-decoration:none;"
        f'">{label}</a>'
    )


def cell_btn(url: str, label: str, color: str = "#16a34a") -> str:
    """A table-cell button: the colour on the cell, a plain anchor inside."""
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>'
        f'<td bgcolor="{color}" style="border-radius:4px;padding:10px 20px;">'
        f'<a href="{url}" style="color:#ffffff;font-weight:bold;text-decoration:none;">{label}</a>'
        "</td></tr></table>"
    )


# --------------------------------------------------------------------------------------------
# 1. Codes of letters only, or of mixed case with digits
# --------------------------------------------------------------------------------------------

_LETTER_SHAPES = {
    "strong": lambda c: f"<strong>{c}</strong>",
    "code": lambda c: (
        f'<code style="font-size:18px;background:#f1f1f1;padding:4px 8px;">{c}</code>'
    ),
    "h1": lambda c: f'<h1 style="font-size:32px;letter-spacing:2px;margin:8px 0;">{c}</h1>',
    "h2": lambda c: f'<h2 style="font-family:monospace;">{c}</h2>',
    "bigtd": lambda c: (
        '<table role="presentation" align="center"><tr><td style="font-size:30px;font-weight:700;'
        f'padding:12px 20px;background:#eef2ff;border-radius:6px;">{c}</td></tr></table>'
    ),
    "spaced": lambda c: (
        f'<span style="letter-spacing:8px;font-size:26px;font-family:Menlo,monospace;">{c}</span>'
    ),
    "b": lambda c: f"<b>{c}</b>",
}


def _letters() -> list[Case]:
    rows = [
        # name, lang, brand, domain, subject, intro (with {code} where the label runs into it,
        # else the code follows as a block), code, shape, format
        ("en_strong", "en", "Keyhaven", "keyhaven.example",
         "Your Keyhaven login code",
         "Here is your login code: {code}. It expires in 15 minutes.",
         "KXQZTPWM", "strong", "html"),
        ("en_mixed_block", "en", "Authwell", "authwell.example.com",
         "Verify your email",
         "Enter the following confirmation code to finish creating your account:",
         "aB3dE6fG", "bigtd", "multi"),
        ("en_caps_h1", "en", "Pinecrest CMS", "pinecrest.example.org",
         "Your sign-in code for Pinecrest",
         "Copy the code below into the sign-in window. WELCOME BACK to Pinecrest.",
         "QWRTZPLK", "h1", "html"),
        ("en_mixed_code", "en", "Ledgerly", "ledgerly.test",
         "Ledgerly verification code",
         "ACCOUNT SECURITY\nUse this verification code to confirm it is you:",
         "x7Km2Qp9", "code", "multi"),
        ("de_caps", "de", "Schlüsselwerk", "schluesselwerk.example",
         "Ihr Anmeldecode",
         "Bitte geben Sie den folgenden Anmeldecode ein, um fortzufahren:",
         "HBWQXJKM", "spaced", "multi"),
        ("de_mixed", "de", "Tresorio", "tresorio.example.net",
         "Bestätigungscode für Ihr Konto",
         "Ihr Bestätigungscode lautet:",
         "Tr8vKw2N", "strong", "html"),
        ("fr_caps", "fr", "Clefor", "clefor.example",
         "Votre code de connexion",
         "Voici votre code de connexion. Il est valable pendant 10 minutes :",
         "MPRVZWXQ", "bigtd", "html"),
        ("es_caps", "es", "Llavero", "llavero.example.com",
         "Tu código de verificación",
         "Introduce este código de verificación en la aplicación:",
         "ZNKPQRTW", "h2", "multi"),
        ("pt_mixed", "pt", "Cofrinho", "cofrinho.example",
         "Seu código de confirmação",
         "Use o código de confirmação abaixo para concluir o acesso:",
         "pQ4rT8mZ", "code", "html"),
        ("it_caps", "it", "Chiavetta", "chiavetta.example.net",
         "Il tuo codice di accesso",
         "Inserisci questo codice di verifica per accedere:",
         "WKTRZQXB", "b", "html"),
        ("nl_caps", "nl", "Sleutelbos", "sleutelbos.test",
         "Je inlogcode",
         "Gebruik deze verificatiecode om in te loggen:",
         "JXVRKQPZ", "spaced", "multi"),
        ("ru_caps", "ru", "Ключник", "klyuchnik.example",
         "Код подтверждения",
         "Ваш код подтверждения:",
         "RXZKQWTP", "bigtd", "html"),
        ("ja_mixed", "ja", "カギノ", "kagino.example.jp",
         "認証コードのお知らせ",
         "以下の認証コードを入力してください。",
         "k9Wm3XpR", "h1", "html"),
        ("zh_caps", "zh", "钥匙盒", "yaoshihe.example.cn",
         "您的验证码",
         "您的验证码如下，10分钟内有效：",
         "TQZKWXRM", "strong", "multi"),
        ("pl_mixed", "pl", "Kluczyk", "kluczyk.example.pl",
         "Twój kod weryfikacyjny",
         "Wpisz poniższy kod weryfikacyjny, aby się zalogować:",
         "Zw7QnK3v", "bigtd", "html"),
        ("sv_caps", "sv", "Nyckelpiga", "nyckelpiga.example.se",
         "Din inloggningskod",
         "Använd den här koden för att logga in:",
         "PZKXWQRT", "b", "html"),
    ]  # fmt: skip
    out = []
    for name, lang, brand, domain, subject, intro, code, shape, fmt in rows:
        block = _LETTER_SHAPES[shape](code)
        if "{code}" in intro:
            blocks = [intro.format(code=block)]
            text_intro = intro.format(code=code)
        else:
            blocks = [intro.replace("\n", "<br>"), block]
            text_intro = f"{intro}\n\n    {code}"
        blocks.append("PASSWORD TIPS: never share this with anyone.")
        html = page(subject, blocks, domain, lang)
        text = f"{text_intro}\n\nPASSWORD TIPS: never share this with anyone.\n\n-- \n{brand}\n"
        out.append(
            Case(f"letters_{name}", "code_letters", lang, brand, domain, subject,
                 text if fmt == "multi" else None, html, code=code)
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 2. Long numeric codes in dash-separated groups
# --------------------------------------------------------------------------------------------


def _long_groups() -> list[Case]:
    rows = [
        ("en_9", "en", "Ironvault", "ironvault.example", "Your Ironvault security code",
         "Your security code is 481-907-326. Need help? Call 1-800-555-0142 or write to us. "
         "Request 2024-05-12.", "481907326"),
        ("en_8", "en", "Cobalt ID", "cobaltid.example.com", "Cobalt ID verification",
         "Enter this verification code:\n\n    5830-2914\n\nOrder reference 2024-0512-77 is not "
         "affected.", "58302914"),
        ("de_9", "de", "Burgtor", "burgtor.example", "Ihr Sicherheitscode",
         "Ihr Sicherheitscode: 720-441-958\nTelefon: +49 30 555-0199\nIBAN DE89 3704 0044 0532 "
         "0130 00", "720441958"),
        ("fr_12", "fr", "Portail Nuage", "portailnuage.example", "Code de vérification",
         "Votre code de vérification :\n\n1234-5678-9012\n\nCommande n° 2024-0512.",
         "123456789012"),
        ("es_9", "es", "Cerrojo", "cerrojo.example.com", "Código de seguridad",
         "Tu código de seguridad es 605-118-274. Teléfono de soporte: 912-345-678.",
         "605118274"),
        ("ja_8", "ja", "ミツバチ認証", "mitsubachi.example.jp", "確認コード",
         "確認コード：3907-6615\nお問い合わせ：03-5555-0123", "39076615"),
        ("pl_9", "pl", "Zasuwa", "zasuwa.example.pl", "Kod weryfikacyjny",
         "Twój kod weryfikacyjny: 902-517-363\nInfolinia: 22 555 01 99", "902517363"),
        ("it_8", "it", "Lucchetto", "lucchetto.example.it", "Codice di verifica",
         "Il tuo codice di verifica è 7741-2058. Data: 12-05-2024.", "77412058"),
    ]  # fmt: skip
    out = []
    for i, (name, lang, brand, domain, subject, body, code) in enumerate(rows):
        html = None
        text: str | None = f"{body}\n\n-- \n{brand}\nhttps://{domain}/\n"
        if i % 2:
            paragraphs = [p.replace("\n", "<br>") for p in body.split("\n\n")]
            html = page(subject, paragraphs, domain, lang)
            text = text if i % 4 == 1 else None
        out.append(Case(f"long_{name}", "code_long_groups", lang, brand, domain, subject, text,
                        html, code=code))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 3. Word codes
# --------------------------------------------------------------------------------------------


def _words() -> list[Case]:
    rows = [
        ("en", "Hearthside", "hearthside.example", "Your Hearthside sign-in phrase",
         "Copy and paste this code into the sign-in page:", "amber-falcon-river"),
        ("en_text", "Loomstack", "loomstack.test", "Loomstack verification code",
         "Your verification code is below. Paste it into the app to continue.",
         "copper-meadow-lantern-violet"),
        ("de", "Wortschatz", "wortschatz.example", "Ihr Bestätigungscode",
         "Kopieren Sie diesen Bestätigungscode und fügen Sie ihn in der App ein:",
         "silver-harbor-candle"),
        ("fr", "Motclef", "motclef.example", "Votre code de confirmation",
         "Copiez ce code de confirmation et collez-le dans l'application :",
         "orange-pebble-forest"),
        ("nl", "Woordslot", "woordslot.example.nl", "Je verificatiecode",
         "Kopieer deze verificatiecode en plak hem in de app:", "maple-thunder-garden"),
        ("es", "Palabrota", "palabrota.example", "Tu código de acceso",
         "Copia y pega este código de acceso en la aplicación:", "cobalt-willow-summit"),
    ]  # fmt: skip
    out = []
    for i, (name, brand, domain, subject, intro, code) in enumerate(rows):
        lang = name.split("_")[0]
        text = f"{intro}\n\n{code}\n\nThis is a one-time code.\n\n-- \n{brand}\n"
        html = page(
            subject,
            [
                intro,
                f'<p style="font-family:monospace;font-size:20px;">{code}</p>',
                "Step-by-step help: see our up-to-date guide.",
            ],
            domain,
            lang,
        )
        out.append(Case(f"words_{name}", "code_words", lang, brand, domain, subject,
                        text if i % 2 else None, html if i != 1 else None, code=code))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 4. Approve versus deny
# --------------------------------------------------------------------------------------------


def _approve() -> list[Case]:
    rows = [
        # name, lang, subject, intro, approve text, deny text, deny first
        ("en_deny_first", "en", "New sign-in to your account",
         "Someone is trying to sign in to your account from Firefox on Windows.",
         "Yes, it was me", "No, block it", True),
        ("en_approve_first", "en", "Approve sign-in request",
         "A sign-in attempt needs your approval.", "Approve", "Deny", False),
        ("en_secure", "en", "Was this you?",
         "We noticed a new login from Lisbon, Portugal.", "Confirm sign-in",
         "This wasn't me", True),
        ("en_secure_my", "en", "Sign-in attempt",
         "A new device wants to access your vault.", "Yes, it's me", "Secure my account", True),
        ("de", "de", "Neue Anmeldung bestätigen",
         "Jemand versucht, sich bei Ihrem Konto anzumelden.", "Ja, das war ich",
         "Nein, blockieren", True),
        ("fr", "fr", "Nouvelle connexion à votre compte",
         "Une tentative de connexion nécessite votre approbation.", "Oui, c'était moi",
         "Non, ce n'était pas moi", True),
        ("es", "es", "Aprobar inicio de sesión",
         "Alguien intenta iniciar sesión en tu cuenta.", "Sí, fui yo", "No, bloquear", True),
        ("pt", "pt", "Aprovar novo acesso",
         "Detectamos uma tentativa de login na sua conta.", "Sim, fui eu",
         "Não fui eu", True),
        ("ru", "ru", "Подтвердите вход",
         "Кто-то пытается войти в ваш аккаунт.", "Да, это я", "Нет, заблокировать", True),
        ("ja", "ja", "ログインの承認",
         "新しい端末からログインしようとしています。", "承認する", "拒否する", True),
    ]  # fmt: skip
    out = []
    for i, (name, lang, subject, intro, yes, no, deny_first) in enumerate(rows):
        domain = f"guardpost{i}.example"
        yes_url = f"https://{domain}/login/approve?request={tok()}"
        no_url = f"https://{domain}/login/deny?request={tok()}"
        buttons = [cell_btn(no_url, no, "#dc2626"), cell_btn(yes_url, yes)]
        if not deny_first:
            buttons.reverse()
        html = page(subject, [intro, "Chrome · 203.0.113.7 · 10:42 UTC", *buttons], domain, lang)
        text = None
        if i % 3 == 0:
            pairs = [(no, no_url), (yes, yes_url)]
            if not deny_first:
                pairs.reverse()
            text = intro + "\n\n" + "\n\n".join(f"{t}: {u}" for t, u in pairs) + "\n"
        out.append(Case(f"approve_{name}", "link_approve", lang, "Guardpost", domain, subject,
                        text, html, link=yes_url, link_kind="login"))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 5. The button after a homepage, product or documentation link
# --------------------------------------------------------------------------------------------


def _buttons() -> list[Case]:
    out = []
    magic = [
        ("en", "Sign in to Driftboard", "Log in to Driftboard",
         "Click the button below to log in to Driftboard.", "Sign in"),
        ("de", "Anmelden bei Driftboard", "Bei Driftboard anmelden",
         "Klicken Sie auf die Schaltfläche, um sich anzumelden.", "Jetzt anmelden"),
        ("fr", "Connexion à Driftboard", "Se connecter à Driftboard",
         "Cliquez sur le bouton ci-dessous pour vous connecter.", "Se connecter"),
        ("zh", "登录 Driftboard", "登录 Driftboard", "点击下方按钮即可登录。", "立即登录"),
    ]  # fmt: skip
    for i, (lang, subject, home_text, intro, label) in enumerate(magic):
        domain = f"driftboard{i}.example"
        url = f"https://{domain}/auth/callback?token={tok()}&email=sam%40example.com"
        home = f'<a href="https://{domain}/" style="color:#2f6fed;">{home_text}</a>'
        html = page(subject, [home, intro, btn(url, label)], domain, lang)
        out.append(Case(f"button_magic_{lang}", "link_button", lang, "Driftboard", domain,
                        subject, None, html, link=url, link_kind="login"))  # fmt: skip
    invites = [
        ("en", "Maya invited you to join Orbit Labs on Tasklane",
         "Maya Chen has invited you to collaborate in the Orbit Labs workspace.",
         "Tasklane — the project tool for fast teams", "Accept invitation"),
        ("en_join", "You've been invited to the Research team",
         "Your colleague added you to the Research team.", "See what's new in Tasklane",
         "Join team"),
        ("es", "Te han invitado a Tasklane", "Maya te ha invitado a su espacio de trabajo.",
         "Descubre Tasklane", "Aceptar invitación"),
        ("it", "Sei stato invitato su Tasklane", "Maya ti ha invitato nel suo spazio di lavoro.",
         "Scopri Tasklane", "Accetta l'invito"),
    ]  # fmt: skip
    for i, (name, subject, intro, product, label) in enumerate(invites):
        domain = f"tasklane{i}.example.com"
        lang = name.split("_")[0]
        url = f"https://{domain}/invites/{tok(32)}"
        product_link = f'<a href="https://{domain}/features?utm_source=invite">{product}</a>'
        html = page(subject, [intro, product_link, cell_btn(url, label, "#7c3aed")], domain, lang)
        out.append(Case(f"button_invite_{name}", "link_button", lang, "Tasklane", domain, subject,
                        None, html, link=url, link_kind="verify"))  # fmt: skip
    devices = [
        ("en", "Activate your device", "To connect your TV, open the activation page and enter "
         "this code:", "Read the setup guide", "Activate device"),
        ("pt", "Ative seu dispositivo", "Para conectar sua TV, abra a página de ativação e digite o código:",
         "Guia de configuração", "Ativar dispositivo"),
        ("nl", "Activeer je apparaat", "Open de activeringspagina en voer deze code in:",
         "Lees de handleiding", "Apparaat activeren"),
    ]  # fmt: skip
    for i, (lang, subject, intro, docs, label) in enumerate(devices):
        domain = f"streamcast{i}.example"
        url = f"https://{domain}/activate?user_code=WDJB-MJHT"
        docs_link = f'<a href="https://docs.{domain}/setup/device-flow">{docs}</a>'
        intro = f"{intro}<br><br><strong>WDJB-MJHT</strong>"
        html = page(subject, [intro, docs_link, btn(url, label)], domain, lang)
        text = None
        if i == 0:
            text = f"{intro.split('<br>')[0]}\n\n    WDJB-MJHT\n\n{docs}: https://docs.{domain}/setup/device-flow\n\n{label}: {url}\n"
        out.append(Case(f"button_device_{lang}", "link_button", lang, "Streamcast", domain,
                        subject, text, html, code="WDJB-MJHT", link=url,
                        link_kind="verify"))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 6. Notices whose links do nothing for a flow
# --------------------------------------------------------------------------------------------


def _no_action() -> list[Case]:
    rows = [
        ("pwchanged_en", "en", "Your password was changed",
         ["The password for your account was changed on 12 May 2024.",
          "If you made this change, no action is needed.",
          '<a href="https://{d}/">Go to {b}</a>',
          'Questions? <a href="https://{d}/support">Contact support</a>']),
        ("pwchanged_de", "de", "Ihr Passwort wurde geändert",
         ["Das Passwort für Ihr Konto wurde soeben geändert.",
          "Wenn Sie das waren, müssen Sie nichts tun.",
          '<a href="https://{d}/">Zu {b}</a>',
          '<a href="https://{d}/hilfe">Hilfe &amp; Kontakt</a>']),
        ("pwchanged_fr", "fr", "Votre mot de passe a été modifié",
         ["Le mot de passe de votre compte a bien été modifié.",
          '<a href="https://{d}/">Accéder à {b}</a>',
          '<a href="https://{d}/aide">Centre d\'aide</a>']),
        ("welcome_en", "en", "Welcome to {b}!",
         ["Your account is ready. Your email address has been verified.",
          btn("https://{d}/dashboard", "Go to your dashboard"),
          '<a href="https://{d}/docs/getting-started">Read the getting started guide</a>']),
        ("welcome_es", "es", "¡Bienvenido a {b}!",
         ["Tu cuenta ya está activa y tu correo está verificado.",
          btn("https://{d}/panel", "Ir al panel"),
          '<a href="https://{d}/ayuda">Centro de ayuda</a>']),
        ("statement_en", "en", "Your May statement is ready",
         ["Your account statement for May 2024 is now available.",
          "Account ending in 4821 · Balance $2,340.17",
          btn("https://{d}/statements", "View statement"),
          '<a href="https://{d}/">Sign in to online banking</a> to see all statements.']),
        ("statement_pl", "pl", "Wyciąg za maj jest dostępny",
         ["Twój wyciąg z rachunku za maj 2024 jest gotowy.",
          btn("https://{d}/wyciagi", "Zobacz wyciąg")]),
        ("emailchanged_ja", "ja", "メールアドレスが変更されました",
         ["アカウントのメールアドレスが変更されました。",
          '<a href="https://{d}/">{b} を開く</a>',
          '<a href="https://{d}/support">サポート</a>']),
    ]  # fmt: skip
    out = []
    for i, (name, lang, subject, blocks) in enumerate(rows):
        brand, domain = "Northpass", f"northpass{i}.example"
        subject = subject.format(b=brand)
        filled = [b.replace("{d}", domain).replace("{b}", brand) for b in blocks]
        html = page(subject, filled, domain, lang)
        out.append(Case(f"notice_{name}", "no_action", lang, brand, domain, subject, None, html))
    return out


# --------------------------------------------------------------------------------------------
# 7. Numbers that are not codes
# --------------------------------------------------------------------------------------------


def _not_codes() -> list[Case]:
    out = []
    invite_text = {
        "en": ("Huddle meeting: Weekly sync", "Sam is inviting you to a scheduled Huddle meeting.",
               "Join Huddle Meeting", "Meeting ID: 812 3456 7890", "Passcode: 482913",
               "One tap mobile: +15555550123,,81234567890#,,,,*482913#"),
        "en_teams": ("Microcast meeting: Design review", "Join on your computer or mobile app",
                     "Join the meeting now", "Meeting ID: 234 567 890 123", "Passcode: aB3cD4",
                     "Dial in by phone: +1 555-555-0144,,918273645# Phone conference ID: 918 273 645#"),
        "de": ("Einladung: Projektrunde", "Sie sind zu einem Huddle-Meeting eingeladen.",
               "Meeting beitreten", "Meeting-ID: 845 2291 0073", "Kenncode: 710264",
               "Einwahl: +49 30 555 0199"),
        "fr": ("Invitation : point hebdomadaire", "Vous êtes invité à une réunion Huddle.",
               "Rejoindre la réunion", "ID de réunion : 873 0042 1185", "Code secret : 559301",
               "Par téléphone : +33 1 55 55 01 99"),
        "es": ("Invitación: revisión mensual", "Te invitamos a una reunión de Huddle.",
               "Unirse a la reunión", "ID de reunión: 830 1200 4417", "Código de acceso: 771204",
               "Teléfono: +34 910 555 019"),
    }  # fmt: skip
    for name, (subject, intro, join, mid, passcode, phone) in invite_text.items():
        lang = name.split("_")[0]
        domain = "huddle.example" if name != "en_teams" else "microcast.example"
        join_url = f"https://{domain}/j/81234567890?pwd={tok(32)}"
        text = (f"{intro}\n\nTopic: {subject}\nTime: May 14, 2024 10:00 AM\n\n{join}\n{join_url}"
                f"\n\n{mid}\n{passcode}\n\n{phone}\n")  # fmt: skip
        html = page(subject, [intro, btn(join_url, join), mid, passcode, phone], domain, lang)
        out.append(Case(f"meeting_{name}", "not_a_code", lang, "Huddle", domain, subject, text,
                        html if name != "en" else None))  # fmt: skip
    promos = [
        ("en", "Summer sale: 20% off everything", "Use code SUMMER20 at checkout.",
         "Or try code FREESHIP for free shipping on your first order.", "Shop now"),
        ("en_caps", "Our newsletter: the May issue", "NEW ARRIVALS this week.",
         "Use promo code SPRINGSALE for 15% off. Referral number: 582913", "Read more"),
        ("de", "Nur heute: 25 % Rabatt", "Mit dem Gutscheincode SOMMER25 sparen Sie 25 %.",
         "Ihre Kundennummer: 40417782", "Jetzt einkaufen"),
        ("fr", "Soldes d'été", "Utilisez le code promo ETEPROMO lors du paiement.",
         "Parrainez un ami : votre code de parrainage est PARRAIN7.", "J'en profite"),
        ("it", "Saldi estivi", "Usa il codice sconto ESTATE30 al momento del pagamento.",
         "Numero cliente: 30042817", "Acquista ora"),
        ("nl", "Zomeractie", "Gebruik kortingscode ZOMERTIJD bij het afrekenen.",
         "Klantnummer: 55102938", "Bekijk de actie"),
        ("ru", "Летняя распродажа", "Используйте промокод LETO2024 при оформлении заказа.",
         "Номер заказа: 77120455", "В магазин"),
    ]  # fmt: skip
    for i, (name, subject, line1, line2, cta) in enumerate(promos):
        lang = name.split("_")[0]
        domain = f"shopwell{i}.example"
        html = page(subject, [f"<h2>{subject.upper()}</h2>", line1, line2,
                              btn(f"https://{domain}/sale?utm_campaign=summer", cta)],
                    domain, lang)  # fmt: skip
        out.append(Case(f"promo_{name}", "not_a_code", lang, "Shopwell", domain, subject, None,
                        html))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# 8. Plain text with footnote links
# --------------------------------------------------------------------------------------------


def _footnotes() -> list[Case]:
    out = []
    rows = [
        ("en", "Sign in to Quarry", "login", "auth/magic",
         "Welcome back! Sign in [2] to continue where you left off.", "Sign in",
         ["Quarry [1]", "Sign in [2]", "Help [3]"]),
        ("en_glued", "Confirm your email", "verify", "account/confirm",
         "Please confirm your email address[2] to activate your account.",
         "confirm your email address", []),
        ("de", "Passwort zurücksetzen", "reset", "password/reset",
         "Sie können Ihr Passwort hier zurücksetzen [2].", "Passwort zurücksetzen", []),
        ("fr", "Réinitialisez votre mot de passe", "reset", "password/reset",
         "Réinitialiser le mot de passe [2]", "Réinitialiser le mot de passe", []),
        ("es", "Confirma tu correo", "verify", "verify-email",
         "Confirma tu correo electrónico [2] para empezar.", "Confirma tu correo electrónico", []),
        ("pt_urlglued", "Entrar no Quarry", "login", "auth/magic", "", "", []),
    ]  # fmt: skip
    for i, (name, subject, kind, path, line, _label, nav) in enumerate(rows):
        lang = name.split("_")[0]
        domain = f"quarry{i}.example"
        url = f"https://{domain}/{path}?token={tok()}"
        head = " | ".join(nav) + "\n\n" if nav else ""
        if name == "pt_urlglued":
            # The marker glued to the URL itself.
            text = (
                f"Quarry[1]\n\nClique no link abaixo para entrar:\n{url}[2]\n\n"
                f"Ajuda[3]\n\n[1] https://{domain}/\n[3] https://{domain}/help\n"
            )
        else:
            text = (
                f"{head}{line}\n\nIf you did not ask for this, ignore this message.\n\n"
                f"Links:\n------\n[1] https://{domain}/\n[2] {url}\n[3] https://{domain}/help\n"
            )
        out.append(Case(f"footnote_{name}", "footnote_links", lang, "Quarry", domain, subject,
                        text, None, link=url, link_kind=kind))  # fmt: skip
    return out


def cases() -> list[Case]:
    """Every case of the second half, in a fixed order."""
    return [
        *_letters(),
        *_long_groups(),
        *_words(),
        *_approve(),
        *_buttons(),
        *_no_action(),
        *_not_codes(),
        *_footnotes(),
    ]
