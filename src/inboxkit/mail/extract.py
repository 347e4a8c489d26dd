"""Find the one-time codes and the links a person would act on in a message.

`extract(subject, text, html)` returns ranked `codes` and `links`. It is pure, never raises, and
its cost is bounded whatever the input: it reads at most `SCAN_CHARS` (200,000) characters of
each text (the subject, the text/plain body, the rendering of the HTML body) and renders at
most `HTML_CHARS` (256,000) characters of HTML markup; per text it looks at no more than
`MAX_CLUSTERS` number clusters and reads the words around at most `MAX_SCORED` of them, and it
examines at most `MAX_LINKS` links per source. Codes and links sit near the top of real mail,
so the caps cost nothing there.

Codes. The common approach, a `\\b\\d{4,8}\\b` regex ranked by distance to a keyword, returns
the year in the footer, the phone number of the help desk or the order number, misses "123 456"
and "A8D-291", and is confused by zero-width characters. Here:

1. Text is normalised: invisible characters removed, every script's digits and full-width
   forms mapped to ASCII, URLs and e-mail addresses blanked out.
2. Candidates are digit clusters: digit groups joined by single spaces, tabs or hyphens, so a
   code spread over table cells ("4\\t8\\t2\\t9\\t1\\t3") or printed in groups ("123 456") is one
   candidate, while "+1 415 555 0199" is one too-long number and not a code. Clusters glued to
   letters become alphanumeric candidates ("G3H1Y2", "A8D-291"), kept as printed.
3. The characters around a candidate reject what cannot be a code: part of a decimal, time or
   date ("10:30", "1.299", "12/05"), money ("$1299", "1299 EUR"), a phone number ("+44 ...",
   "(555) 1234"), an ID ("#123456"), a unit ("10 minutes", "2024年").
4. The words before and after it are matched against labels in many languages: positive ("code",
   "código", "Bestätigungscode", "验证码", "رمز التحقق"), negative, naming another kind of number
   ("order", "tracking", "promo code", "postal code"). A candidate needs a positive label close
   by, in its own sentence unless it stands alone on its line, and a negative label directly
   before it rejects it. Layout adds to the score: a code alone on its line, set directly
   after its label, or repeated in the subject. A subject that names a code ("Your Acme
   verification code") lends a little weight to a bare number set apart in the body.

A message that is not about verification has no code labels near its numbers, so it yields no
codes: precision comes before recall.

Links. Every http(s) link, from HTML anchors (with their text) and from plain text (including
URLs wrapped over several lines), is given a kind from its text, its URL and the sentence
around it. The first link is what completes the flow: a verify, login or reset link when the
message is about that (so a "Log in" link in a newsletter's header stays `other`), else
ordinary links, then help, privacy, social and image-only links, unsubscribe last. A link in
an "if this wasn't you" sentence is a way out of the flow, not the flow, so it is `other`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from inboxkit.mail.htmltext import Rendered, render_html, strip_invisible

__all__ = ["Code", "Link", "Extraction", "extract", "SCAN_CHARS", "HTML_CHARS"]

SCAN_CHARS = 200_000  # characters of each text scanned; codes and links sit near the top
HTML_CHARS = 256_000  # characters of HTML markup rendered (Gmail clips a body at 102 KB)
MAX_CLUSTERS = 2_000  # digit clusters looked at per text
MAX_SCORED = 200  # candidates whose surrounding words are read, per text
MAX_LINKS = 300  # links examined per message
MAX_URL_CHARS = 8192  # longer URLs are not links anyone clicks; they are never returned
MAX_CODES = 10
THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Code:
    value: str
    confidence: float
    snippet: str

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "confidence": self.confidence, "snippet": self.snippet}


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    kind: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"url": self.url, "kind": self.kind, "text": self.text}


@dataclass(frozen=True, slots=True)
class Extraction:
    codes: list[Code] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        return {
            "codes": [c.to_dict() for c in self.codes],
            "links": [x.to_dict() for x in self.links],
        }


def extract(subject: str | None, text: str | None, html: str | None) -> Extraction:
    """Rank the one-time codes and the links in a message. Pure; never raises."""
    try:
        return _extract(subject or "", text or "", html or "")
    except Exception:  # extraction is a convenience; it must never cost a message
        return Extraction()


# --------------------------------------------------------------------------------------------
# Vocabulary. One phrase per line; words are matched whole in scripts that separate words, and
# as substrings in Chinese, Japanese and Arabic (which attach particles and articles to them).
# --------------------------------------------------------------------------------------------

_CODE_STRONG = """
verification code|verification codes|verify code|security code|confirmation code|authentication code
login code|log in code|log-in code|sign in code|sign-in code|signin code|access code
one-time code|one time code|one-time passcode|one-time password|one time password|one-time pin
otp|passcode|2fa code|2fa|two-factor code|two-factor|2-step verification|two-step verification
temporary code|activation code|validation code|magic code|pin code|sms code|device code
verification pin|security pin|confirmation pin
código de verificación|codigo de verificacion|código de seguridad|codigo de seguridad
código de acceso|codigo de acceso|código de confirmación|codigo de confirmacion
código de un solo uso|código de inicio de sesión|código temporal|clave de acceso|clave temporal
código de activación|contraseña de un solo uso|clave de un solo uso|código otp
código de verificação|codigo de verificacao|código de segurança|codigo de seguranca
código de confirmação|codigo de confirmacao|código de autenticação|código de login
código de ativação|senha temporária|senha de uso único|código de uso único|código de validação
code de vérification|code de verification|code de sécurité|code de securite|code de confirmation
code d'accès|code d'acces|code de connexion|code à usage unique|code a usage unique
mot de passe à usage unique|code temporaire|code d'activation|code de validation
bestätigungscode|bestaetigungscode|verifizierungscode|sicherheitscode|einmalcode|einmal-code
einmalpasswort|einmalkennwort|anmeldecode|zugangscode|prüfcode|authentifizierungscode
aktivierungscode|login-code|freigabecode|tan|mtan|smstan|sms-tan|verifikationscode
codice di verifica|codice di sicurezza|codice di accesso|codice di conferma|codice otp
codice monouso|codice temporaneo|codice di autenticazione|password monouso|codice di attivazione
codice di verifica temporaneo|codice usa e getta
verificatiecode|beveiligingscode|inlogcode|bevestigingscode|toegangscode|eenmalige code
authenticatiecode|activatiecode|aanmeldcode|controlecode|verificatie code|sms-code
kod weryfikacyjny|kod weryfikacji|kod potwierdzający|kod potwierdzajacy|kod potwierdzenia
kod bezpieczeństwa|kod jednorazowy|kod dostępu|kod logowania|hasło jednorazowe|kod autoryzacyjny
kod sms|kod aktywacyjny|kod uwierzytelniający
doğrulama kodu|doğrulama kodunuz|dogrulama kodu|güvenlik kodu|güvenlik kodunuz|onay kodu
onay kodunuz|giriş kodu|giriş kodunuz|tek kullanımlık şifre|tek kullanımlık kod
tek kullanımlık şifreniz|aktivasyon kodu|erişim kodu|doğrulama şifresi
код подтверждения|проверочный код|код проверки|код доступа|код безопасности|одноразовый код
одноразовый пароль|код для входа|код входа|код активации|код верификации|код авторизации
"""

_CODE_STRONG_CJK = """
验证码|驗證碼|校验码|校驗碼|动态码|動態碼|动态密码|動態密碼|确认码|確認碼|安全码|安全碼
一次性密码|一次性密碼|登录码|登入碼|激活码|啟用碼|认证码|認證碼|验证代码|校验代码|授权码
認証コード|確認コード|認証番号|ワンタイムパスワード|ワンタイムコード|セキュリティコード
検証コード|ログインコード|認証キー|承認コード|パスコード|本人確認コード|認証用コード
رمز التحقق|رمز التأكيد|رمز الأمان|رمز الدخول|رمز التفعيل|كود التحقق|كود التفعيل|كود التأكيد
كلمة المرور لمرة واحدة|رمز لمرة واحدة|رمز التحقق الخاص بك|رمز المصادقة
"""

_CODE_MEDIUM = """
code|codes|pin|token|your code|this code|the code
código|codigo|clave|senha|codice|kod|kodu|kodunuz|kodun|kodem|kodunu|kodudur|kodunuzdur|koddur|şifre|şifreniz|şifrenizdir
код|кода|коду|кодом|пароль
"""

_CODE_MEDIUM_CJK = """
コード|暗証番号|确认号码|密码|密碼|代码|رمز|الرمز|رمزك|كود|الكود
"""

_CODE_VERBS = """
enter|use|type|paste|input|provide|submit
ingresa|ingrese|introduce|introduzca|usa|utiliza|escribe|digita
digite|insira|informe|utilize
saisissez|entrez|utilisez|saisir|entrer|tapez
eingeben|verwenden|nutzen|gib|geben
inserisci|inserire|utilizza|digita
voer|gebruik|vul
wpisz|wprowadź|wprowadz|użyj|uzyj|podaj
girin|giriniz|kullanın|gir
введите|используйте|укажите
"""

_CODE_VERBS_CJK = """
入力|输入|輸入|填写|填寫|أدخل|ادخل|استخدم
"""

# Words naming another kind of number. Directly before a number, they reject it.
_NEGATIVE = """
order|order number|order no|order id|orders|invoice|invoice number|receipt|receipt number
ticket|ticket number|case|case number|customer|customer number|customer id|account number
account no|account id|acct|member|member id|membership|membership number|loyalty|tracking
tracking number|tracking code|tracking id|shipment|parcel|package|reference|reference number
ref|booking|booking reference|booking number|reservation|reservation number|confirmation number
itinerary|flight|seat|gate|room|promo|promo code|promotional code|coupon|coupon code|voucher
voucher code|discount|discount code|gift card|gift code|referral|referral code|postcode
post code|zip|zip code|postal code|suite|ste|apt|apartment|unit|floor|po box|p.o. box|box
serial|serial number|model|sku|item|isbn|iban|routing|transaction|transaction id|payment
card ending|ending in|last four|points|version|build|chapter|step|no|nr|id|user id|request id
bill|statement|policy|claim|employee|student|patient|license|licence|plate|vat|tax|ssn
amount|total|subtotal|price|balance|qty|quantity|copyright|since|year|rewards
tracking code|auth code|authorization code|authorisation code|pickup code|door code|gate code|building code|area code|country code|swift
bic|sort code|product code|style code|color code|colour code|barcode|qr code|article
pedido|número de pedido|numero de pedido|factura|recibo|cliente|número de cliente|seguimiento
número de seguimiento|envío|envio|paquete|referencia|reserva|cupón|cupon|descuento
código promocional|codigo promocional|código de descuento|código postal|codigo postal
importe|precio|cuenta|encomenda|fatura|rastreamento|código de rastreamento|código de rastreio
pacote|referência|cupom|cupão|desconto|cep|valor|preço|conta|cpf|cnpj|nota fiscal|nif
commande|numéro de commande|numero de commande|facture|reçu|client|numéro client|suivi
numéro de suivi|colis|envoi|référence|réf|réservation|réduction|code promo|bon de réduction
code postal|montant|prix|compte|siret|siren|tva
bestellung|bestellnummer|auftrag|auftragsnummer|rechnung|rechnungsnummer|beleg|kunde
kundennummer|sendung|sendungsnummer|sendungsverfolgung|paket|referenz|buchung|buchungsnummer
gutschein|gutscheincode|rabatt|rabattcode|aktionscode|postleitzahl|plz|betrag|summe|gesamt
preis|konto|ust-idnr|hrb|amtsgericht|steuernummer|nr.|vorgangsnummer
ordine|numero d'ordine|numero ordine|fattura|ricevuta|spedizione|tracciamento|pacco
riferimento|prenotazione|buono|sconto|codice sconto|codice promozionale|cap|codice postale
importo|totale|prezzo|conto|p.iva|partita iva|codice fiscale
bestelling|bestelnummer|ordernummer|factuur|factuurnummer|bon|klant|klantnummer|zending
pakket|referentie|boeking|reservering|kortingscode|korting|actiecode|bedrag|totaal|prijs
rekening|kvk|btw|track en trace
zamówienie|zamówienia|zamowienie|numer zamówienia|faktura|faktury|paragon|klient|klienta
przesyłka|przesyłki|numer przesyłki|paczka|paczki|rezerwacja|kupon|rabat|kod rabatowy
kod promocyjny|kod pocztowy|kwota|suma|cena|nip|regon|krs|numer
sipariş|sipariş numarası|sipariş no|siparişiniz|fiş|müşteri|müşteri numarası|kargo|takip
takip numarası|takip no|gönderi|referans|rezervasyon|indirim|indirim kodu|promosyon kodu
kupon kodu|posta kodu|tutar|toplam|fiyat|hesap|vergi|vergi no
заказ|заказа|номер заказа|счёт|счет|чек|квитанция|клиент|трек|трек-номер|отслеживания
посылка|посылки|отправление|номер отправления|бронирование|бронь|купон|скидка|промокод
индекс|почтовый индекс|сумма|итого|цена|инн|огрн|кпп|номер
"""

_NEGATIVE_CJK = """
注文番号|注文|ご注文|請求書|領収書|お客様番号|会員番号|追跡番号|お問い合わせ番号|伝票番号
配送|予約番号|予約|クーポン|割引|郵便番号|〒|金額|合計|価格|注文ID|品番|型番
订单|訂單|订单号|訂單編號|订单编号|发票|發票|收据|客户|客戶|快递|快遞|运单|運單|物流|追踪
包裹|预订|預訂|优惠码|優惠碼|优惠券|優惠券|折扣|邮编|郵編|邮政编码|金额|金額|合计|价格
الطلب|رقم الطلب|طلبك|فاتورة|الفاتورة|إيصال|العميل|الشحنة|شحنة|تتبع|التتبع|حجز|الحجز|قسيمة
خصم|كود الخصم|رمز الخصم|الرمز البريدي|المبلغ|الإجمالي|السعر|رقم التتبع|رقم الشحنة
"""

# Phone words reject a number only when no code label is near (a code "sent to your phone").
_WEAK_NEGATIVE = """
phone|telephone|tel|call|mobile|fax|ext|extension|whatsapp|hotline|helpline|sms to|text
teléfono|telefono|llama|llámanos|móvil|telefone|ligue|celular|téléphone|tél|appelez
telefon|rufen|mobil|chiama|telefoon|bel|zadzwoń|arayın|телефон|тел|звоните
"""

_WEAK_NEGATIVE_CJK = """
電話|电话|電話番号|电话号码|手机|手機|هاتف|الهاتف|اتصل|جوال
"""

# Units after a number: a duration, a quantity or money, not a code.
_UNITS = """
second|seconds|sec|secs|minute|minutes|min|mins|hour|hours|hr|hrs|day|days|week|weeks|month
months|year|years|am|pm|uhr|km|mi|kg|lb|lbs|mb|gb|kb|tb|px|pt|pts|points|miles|steps|users
people|members|customers|reviews|items|orders|products|stores|countries|words|times
segundo|segundos|minuto|minutos|hora|horas|día|días|dia|dias|semanas|meses|años|anos|puntos
pontos|seconde|secondes|heure|heures|jour|jours|mois|ans|sekunde|sekunden|minuten|stunde
stunden|tag|tage|tagen|wochen|monate|jahre|punkte|secondi|minuti|ore|giorni|mesi|anni|punti
seconden|uur|dagen|weken|maanden|jaar|punten|sekund|sekundy|minut|minuty|godzin|godziny|dni
dzień|tygodni|miesięcy|lat|punktów|saniye|dakika|saat|gün|hafta|ay|yıl|puan|секунд|секунды
минут|минуты|минуту|час|часа|часов|день|дня|дней|недель|месяцев|лет|года|баллов|бонусов
usd|eur|gbp|jpy|cny|rmb|rub|pln|brl|mxn|chf|cad|aud|inr|krw|sek|nok|dkk|czk|huf|aed|sar
dollars|dollar|euros|euro|pounds|yen|yuan|reais|real|pesos|zł|zl|złotych|zloty|tl|lira
руб|рублей|рубля|р|₽|франков|francs
"""

# Words that make a labelled code a discount code when they share its line.
_PROMO = """
off|% off|discount|checkout|at checkout|save|savings|coupon|promo|voucher|sale|offer|deal
descuento|desconto|réduction|remise|rabatt|sconto|korting|rabat|indirim|скидка|скидку|скидки
"""
_PROMO_CJK = """
割引|折扣|优惠|優惠|خصم
"""

_CURRENCY_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:usd|eur|gbp|jpy|cny|rmb|rub|pln|brl|mxn|chf|cad|aud|inr|krw|sek|nok|dkk|czk|huf"
    r"|aed|sar|us|rs|r|zł|tl|руб|€|\$|£|¥|₹|₩|₽|₺|₴|₦|₱|฿|₫|₪|¢)\.? ?$"
)
_CURRENCY_CHARS = "$€£¥₹₩₽₺₴₦₱฿₫₪¢"
_REJECT_BEFORE = "#№+_@/\\=&%^~|" + _CURRENCY_CHARS
_REJECT_AFTER = "%°_@^~|" + _CURRENCY_CHARS
_CJK_UNITS = "年月日時时分秒点點号號元円个個件人回次万萬億亿岁歳位名枚本台階层層週周"

_MONTHS = re.compile(
    r"(?<![^\W\d_])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february"
    r"|march|april|june|july|august|september|october|november|december|ene|abr|ago|dic|enero"
    r"|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre"
    r"|diciembre|fev|mai|out|dez|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro"
    r"|novembro|dezembro|janv|févr|fevr|avr|juil|août|aout|déc|janvier|février|mars|avril"
    r"|juin|juillet|septembre|octobre|novembre|décembre|mär|mrz|okt|januar|februar|märz"
    r"|juni|juli|oktober|dezember|gen|mag|giu|lug|set|ott|gennaio|febbraio|aprile|maggio"
    r"|giugno|luglio|settembre|ottobre|dicembre|mrt|mei|januari|februari|maart|augustus"
    r"|stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października"
    r"|listopada|grudnia|ocak|şubat|mart|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım"
    r"|aralık|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября"
    r"|декабря)\.?(?![^\W\d_])"
)
_STREET = re.compile(
    r"^ ?(?:[A-Z][\w'.-]{0,40} ){0,3}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive"
    r"|dr|way|plaza|square|sq|court|ct|place|pl|parkway|pkwy|highway|hwy|terrace|circle|row"
    r"|building|bldg|tower|floor|fl|park)\b\.?",
    re.IGNORECASE,
)


def _phrases(block: str) -> list[str]:
    return [p.strip() for line in block.strip().splitlines() for p in line.split("|") if p.strip()]


def _trie_pattern(words: dict[str, bool]) -> str:
    """A regex alternation of `words` factored by common prefixes: at each position the engine
    follows one branch per character instead of trying every word. A word mapped to True must
    end at a word boundary."""
    trie: dict = {}
    for word, bounded in words.items():
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = node.get("", True) and bounded

    def emit(node: dict) -> str:
        branches = []
        for ch in sorted(k for k in node if k):
            # Bounded, like every repetition in this module: each match attempt then reads
            # a bounded number of characters, so a scan costs at most that times the text.
            piece = r"[\s\-]{1,16}" if ch in " -" else re.escape(ch)
            branches.append(piece + emit(node[ch]))
        if "" in node:
            branches.append(r"(?![^\W\d_])" if node[""] else "")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(trie)


class _Vocab:
    """A list of phrases, matched whole-word in scripts that put spaces between words and as
    substrings in Chinese, Japanese and Arabic, which attach particles and articles to them.

    The word boundary before a phrase is checked on each match rather than by a lookbehind at
    the head of the pattern: that way the regex engine can skip every position whose first
    character begins no phrase, which makes scanning several times faster.
    """

    __slots__ = ("_pattern", "_unbounded")

    def __init__(self, bounded: list[str], unbounded: list[str] = ()) -> None:
        words = dict.fromkeys(unbounded, False)
        for word in bounded:
            words.setdefault(word, True)
        self._pattern = re.compile(_trie_pattern(words))
        self._unbounded = frozenset(unbounded)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        for m in self._pattern.finditer(text):
            start = m.start()
            if start == 0 or not text[start - 1].isalpha() or m.group() in self._unbounded:
                yield m

    def search(self, text: str) -> re.Match[str] | None:
        if self._pattern.search(text) is None:  # the common answer, without a generator
            return None
        for m in self.finditer(text):
            return m
        return None


def _key(phrase: str) -> str:
    return " ".join(phrase.replace("-", " ").split())


# Negative words that, right before "code", name another kind of code: a "promo code", a
# "postal code". Others ("payment", "account") do not: a "payment verification code" is one.
_QUALIFIERS = """
promo|promotional|coupon|voucher|discount|gift|gift card|referral|postal|post|zip|area|country
tracking|order|booking|product|style|color|colour|bar|qr|sort|door|gate|pickup|building|auth
authorization|authorisation|descuento|promocional|postal|rastreamento|rastreio|rabatt|gutschein
aktions|sconto|promozionale|korting|rabatowy|promocyjny|pocztowy|indirim|promosyon|kupon|posta
"""

# Label kinds: positive weight for code labels, or a negative marker.
_NEG, _WEAK_NEG, _QUALIFIER = -1.0, -0.5, -1.5
_LABEL_WEIGHT: dict[str, float] = {}
for _block, _weight in (
    (_CODE_VERBS + _CODE_VERBS_CJK, 0.6),
    (_WEAK_NEGATIVE + _WEAK_NEGATIVE_CJK, _WEAK_NEG),
    (_NEGATIVE + _NEGATIVE_CJK, _NEG),
    (_QUALIFIERS, _QUALIFIER),
    (_CODE_MEDIUM + _CODE_MEDIUM_CJK, 0.85),
    (_CODE_STRONG + _CODE_STRONG_CJK, 1.0),
):
    for _p in _phrases(_block):
        _LABEL_WEIGHT[_key(_p.lower())] = _weight
_VERB_WEIGHT = 0.6

_LABELS = _Vocab(
    _phrases(_CODE_STRONG + _CODE_MEDIUM + _CODE_VERBS + _NEGATIVE + _WEAK_NEGATIVE + _QUALIFIERS),
    _phrases(_CODE_STRONG_CJK + _CODE_MEDIUM_CJK + _CODE_VERBS_CJK + _NEGATIVE_CJK)
    + _phrases(_WEAK_NEGATIVE_CJK),
)
_V_PROMO = _Vocab(_phrases(_PROMO), _phrases(_PROMO_CJK))
_PROMO_SHAPE = re.compile(r"[A-Z]{4,12}[0-9]{1,3}")  # codes have at most 12 characters
_UNIT_AFTER = re.compile(r"^[ \t]?" + _trie_pattern(dict.fromkeys(_phrases(_UNITS), True)))

# Words allowed between a label and its code while still reading as "label: code".
_FILLER = frozenset(
    """is are was es son est sont ist lautet sind è é e o a er to jest wynosi dir dein
    deine ihr ihre your votre ton ta tu su sua seu o tuo tua il la le de del di van je jouw uw
    twój twoj twoja senin sizin ваш ваша твой this below here aquí aqui ci-dessous unten
    qui hieronder poniżej aşağıda ниже following next new nuevo novo nouveau neuer nuovo
    nieuwe nowy yeni новый single-use one-time temporary verification security login هو هي
    الخاص بك لك""".split()
)
_FILLER_CJK = "はがを是为為：:、。,，'\"「」『』【】()（）[]"
_WORD = re.compile(r"[^\W\d_]{1,40}|\d{1,40}", re.UNICODE)  # read in gaps of <= 40 chars
# A sentence ends between a label and a number: the label is about something else, unless the
# number stands on its own line or the sentence introduces it with a colon or "is".
# Both are searched in the <= 160 characters between a label and its code.
_SENTENCE_BREAK = re.compile(r"[.!?。！？](?:\s|$)|\n[ \t]{0,160}\n")
_INTRODUCED = re.compile(
    r"(?:[:：=—–-]|\b(?:is|es|est|ist|lautet|è|é|jest|wynosi|to|są))[ \t]{0,160}\n?[ \t]{0,160}$"
)

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def _build_fold() -> dict[int, str]:
    import unicodedata

    table: dict[int, str] = {}
    digit_blocks = (
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
        0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810,
        0x1946, 0x19D0, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xAA50, 0xABF0, 0xFF10,
    )  # fmt: skip
    for start in digit_blocks:
        for cp in range(start, start + 10):
            try:
                table[cp] = str(unicodedata.digit(chr(cp)))
            except ValueError:
                pass
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII
        table.setdefault(cp, chr(cp - 0xFEE0))
    # The full-width comma and full stop end CJK clauses ("验证码123456，5分钟内有效"); as ASCII
    # they would read as a thousands or decimal separator.
    del table[0xFF0C], table[0xFF0E]
    for cp in (0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B)):
        table[cp] = " "
    for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE58, 0xFE63, 0x30FC):
        table[cp] = "-"
    del table[0x30FC]  # the katakana prolonged sound mark is part of words like コード
    for cp in (0x2018, 0x2019, 0x02BC, 0x00B4):
        table[cp] = "'"
    table[0x066B] = "."  # Arabic decimal separator
    table[0x066C] = ","  # Arabic thousands separator
    return table


_FOLD = _build_fold()
_NEEDS_FOLD = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]{1,4096}")


def _fold(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD)


def _normalise(text: str) -> str:
    """Invisible characters out; digits, spaces, dashes and full-width forms to ASCII."""
    if text.isascii():
        return text
    text = strip_invisible(text)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return _NEEDS_FOLD.sub(_fold, text)
    return text.replace("\xa0", " ").replace("\xb4", "'")


# One character more than a URL may have, so that an over-long URL is seen to be one.
_URL = re.compile(
    rf"[Hh][Tt][Tt][Pp][Ss]?://[^\s<>\"]{{0,{MAX_URL_CHARS + 1}}}"
    rf"|[Ww][Ww][Ww]\.[^\s<>\"]{{1,{MAX_URL_CHARS + 1}}}"
)
_LOCAL_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


def _mask(text: str) -> str:
    """Blank out URLs and e-mail addresses, keeping every other character in place."""
    spans: list[tuple[int, int]] = []
    if "ttp" in text or "TTP" in text or "ww." in text or "WW." in text:
        for m in _URL.finditer(text):
            spans.append(m.span())
            if len(spans) > 5000:
                break
    at = text.find("@")
    seen = 0
    while at != -1 and seen < 2000:
        seen += 1
        lo = at
        while lo > 0 and at - lo < 64 and text[lo - 1] in _LOCAL_PART:
            lo -= 1
        hi = at + 1
        while hi < len(text) and hi - at < 255 and text[hi] in _DOMAIN_PART:
            hi += 1
        if lo < at and hi > at + 1:
            spans.append((lo, hi))
        at = text.find("@", hi if hi > at else at + 1)
    if not spans:
        return text
    spans.sort()
    pieces = []
    pos = 0
    for s, e in spans:
        if e <= pos:
            continue
        s = max(s, pos)
        pieces.append(text[pos:s])
        pieces.append(" " * (e - s))
        pos = e
    pieces.append(text[pos:])
    return "".join(pieces)


# --------------------------------------------------------------------------------------------
# Code candidates
# --------------------------------------------------------------------------------------------

# Digit groups joined by up to three spaces or tabs, or a hyphen. Each repetition must start
# with a separator and end with a digit, so matching never backtracks. A cluster longer than
# CLUSTER_CHARS is no code; the bounds are such that a match cut short by them is longer than
# that, and what follows it is skipped as the rest of the same run (see `_candidate_spans`).
CLUSTER_CHARS = 200
_JOIN = r"(?:[ \t]{1,3}|[ \t]?-[ \t]?)"
_CLUSTER = re.compile(
    rf"[0-9]{{1,{CLUSTER_CHARS + 1}}}(?:{_JOIN}[0-9]{{1,{CLUSTER_CHARS + 1}}}){{0,{CLUSTER_CHARS // 2}}}"
)
_CLUSTER_JOIN = re.compile(_JOIN + "?")
_GROUP = re.compile(rf"[0-9]{{1,{CLUSTER_CHARS}}}")
_DIGIT = re.compile(r"[0-9]")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LETTER_CODE = re.compile(r"[A-Z]{3,4}-[A-Z]{3,4}")
_TOKEN_CHARS = _ALNUM | {"-", "_"}
# Tried only on tokens of at most four groups of one to eight characters.
_UPPER_TOKEN = re.compile(r"[A-Z0-9]{1,8}(?:-[A-Z0-9]{1,8}){0,3}")
_LOWER_TOKEN = re.compile(r"[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,3}")


@dataclass(slots=True)
class _Candidate:
    value: str
    score: float
    snippet: str
    order: int


def _is_ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _digit_spans(raw: str, start: int) -> list[tuple[int, int, str, bool]]:
    """Split a digit cluster into code-shaped spans: (start, end, value, grouped)."""
    groups = [(m.start() + start, m.end() + start, m.group()) for m in _GROUP.finditer(raw)]
    if len(groups) == 1:
        value = groups[0][2]
        return [(groups[0][0], groups[0][1], value, False)] if 4 <= len(value) <= 8 else []
    lengths = [len(g[2]) for g in groups]
    total = sum(lengths)
    seps = [raw[groups[i][1] - start : groups[i + 1][0] - start] for i in range(len(groups) - 1)]
    hyphen = any("-" in s for s in seps)
    if all(n == 1 for n in lengths):
        if 4 <= len(groups) <= 8 and not hyphen:
            return [(groups[0][0], groups[-1][1], "".join(g[2] for g in groups), True)]
        return []
    if len(set(lengths)) == 1 and lengths[0] in (2, 3, 4) and 4 <= total <= 8:
        if len(set(seps)) == 1:
            return [(groups[0][0], groups[-1][1], "".join(g[2] for g in groups), True)]
    if hyphen or total >= 9 or (groups[0][2][0] == "0" and total >= 7):
        return []  # one long number: a phone, account, card or date
    if all("\t" in s for s in seps):
        # Separate table cells: each may be a code of its own.
        return [(s, e, v, False) for s, e, v in groups if 4 <= len(v) <= 8]
    return []


def _alnum_span(text: str, s: int, e: int) -> tuple[int, int] | None:
    """Expand a digit run glued to letters to the whole token (letters, digits, inner hyphens)."""
    lo = s
    while lo > 0 and s - lo < 24:
        ch = text[lo - 1]
        if ch in _ALNUM:
            lo -= 1
        elif ch == "-" and lo > 1 and text[lo - 2] in _ALNUM:
            lo -= 1
        else:
            break
    hi = e
    n = len(text)
    while hi < n and hi - e < 24:
        ch = text[hi]
        if ch in _ALNUM:
            hi += 1
        elif ch == "-" and hi + 1 < n and text[hi + 1] in _ALNUM:
            hi += 1
        else:
            break
    if s - lo >= 24 or hi - e >= 24:
        return None
    return lo, hi


def _hard_reject(text: str, s: int, e: int) -> bool:
    """Characters around the span that make it part of something other than a code."""
    n = len(text)
    p1 = text[s - 1] if s > 0 else " "
    p2 = text[s - 2] if s > 1 else " "
    n1 = text[e] if e < n else " "
    n2 = text[e + 1] if e + 1 < n else " "
    if p1 in _REJECT_BEFORE or n1 in _REJECT_AFTER:
        return True
    if p1 in ".,:'" and p2.isdigit():
        return True
    if n1 in ".,:/'" and n2.isdigit():
        return True
    if n1 in _CJK_UNITS or p1 in "第¥￥":
        return True
    if p1 in "( " and p2 in ")+©" + _CURRENCY_CHARS:
        return True
    if p1 == "(" and n1 == ")" and e - s == 4:  # "(2024)", "(0800)"
        return True
    if p1 == "-" and p2.isdigit() or n1 == "-" and n2.isdigit():
        return True
    before = text[max(0, s - 8) : s].lower()
    if _CURRENCY_BEFORE.search(before):
        return True
    return _UNIT_AFTER.match(text[e : e + 16].lower()) is not None


def _labels(window: str) -> list[tuple[int, int, float]]:
    hits = []
    for m in _LABELS.finditer(window):
        weight = _LABEL_WEIGHT.get(_key(m.group()))
        if weight is not None:
            hits.append((m.start(), m.end(), weight))
    return hits


def _gap_is_direct(gap: str, allow_unknown: int = 0) -> bool:
    """True when only punctuation and filler words separate a label from its code.

    `allow_unknown` admits that many other words, such as a brand name in "is your Acme code".
    """
    if len(gap) > 40:
        return False
    words = _WORD.findall(gap)
    if len(words) > 3 + allow_unknown:
        return False
    unknown = 0
    for w in words:
        if w not in _FILLER and not all(ch in _FILLER_CJK for ch in w):
            unknown += 1
            if unknown > allow_unknown or w.isdigit():
                return False
    return True


_LOOK = 400  # characters looked at around a candidate for its line
# What may surround a code on its own line: "**482913**", "[ 482913 ]", "→ 482913".
_DECOR = " \t*_`'\"“”‘’«»()[]{}<>:：.,;|•·→-–—"


def _line_bounds(text: str, s: int, e: int) -> tuple[int, int]:
    """Start and end of the line around text[s:e], looking at most `_LOOK` characters away
    (so that a text without line breaks costs the same per candidate as any other)."""
    lo = max(0, s - _LOOK)
    start = text.rfind("\n", lo, s) + 1 or lo
    hi = min(len(text), e + _LOOK)
    end = text.find("\n", e, hi)
    return start, hi if end == -1 else end


def _score(
    text: str, s: int, e: int, value: str, grouped: bool, lowercase: bool, titled: bool = False
) -> float:
    """How much the surroundings of text[s:e] say it is a one-time code (0 = not at all).

    `titled` says the subject names a code ("Your Acme verification code"), which lends a
    number standing alone on its line a little of the label it lacks.
    """
    line_start, line_end = _line_bounds(text, s, e)
    standalone = not text[line_start:s].strip(_DECOR) and not text[e:line_end].strip(_DECOR)
    digits = value.replace("-", "")
    numeric = digits.isdigit()

    # Shapes that are something else whatever the words around them say.
    if numeric and not standalone:
        if _STREET.match(text[e:line_end]):
            return 0.0  # "1234 Market Street"
        if len(digits) in (4, 5) and s >= 3 and text[s - 4 : s - 3] in (" ", ",", "", "\t"):
            state = text[s - 3 : s - 1]
            if state.isupper() and state.isalpha() and text[s - 1] == " ":
                return 0.0  # "CA 94103": a state and a ZIP code
    if numeric and len(digits) == 4 and value[:2] in ("19", "20"):
        if _MONTHS.search(text[max(0, s - 14) : e + 14].lower()):
            return 0.0  # "May 12, 2024"

    # Before: at most 160 characters and three lines; after: the rest of the line and the next.
    lo = max(0, s - 160)
    k = s
    for _ in range(4):
        k = text.rfind("\n", lo, k)
        if k == -1:
            break
    if k != -1:
        lo = k + 1
    before = text[lo:s].lower()
    after_end = text.find("\n", line_end + 1, e + 80)
    after = text[e : after_end if after_end != -1 else e + 80].lower()

    best = 0.0
    negative = False
    weak_negative = False
    negative_end = -1
    for hs, he, weight in _labels(before) if before.strip() else ():
        gap = before[he:]
        direct = _gap_is_direct(gap)
        if weight <= _NEG:
            negative = negative or direct
            if weight == _QUALIFIER:
                negative_end = he
            continue
        if weight == _WEAK_NEG:
            weak_negative = weak_negative or direct
            continue
        if negative_end >= 0 and hs - negative_end <= 2:
            continue  # a negative word qualifies this label: "promo code", "order code"
        if weight == _VERB_WEIGHT and not direct:
            continue
        introduced = _INTRODUCED.search(gap) is not None
        if _SENTENCE_BREAK.search(gap) and not (standalone or introduced):
            continue  # a label in an earlier sentence names some other number
        decay = max(0.0, 1.0 - len(gap.strip()) / 150.0)
        if introduced:
            decay = max(decay, 0.75)  # "Ihre TAN für ... lautet: 172838"
        elif _DIGIT.search(gap):
            decay *= 0.6
        strength = weight * decay
        if direct:
            strength += 0.25
            negative = weak_negative = False  # the label is closer than any negative word
        best = max(best, strength)
        negative_end = -1
    if after.strip():
        for hs, _he, weight in _labels(after[:60]):
            if weight <= 0 or weight == _VERB_WEIGHT:
                continue
            if hs <= 36 and _gap_is_direct(after[:hs], allow_unknown=2):
                best = max(best, weight + 0.1)  # "482913 is your Acme code"
            break

    if best <= 0.0 and titled and standalone and not negative and not weak_negative:
        if not (numeric and len(digits) == 4 and value[:2] in ("19", "20")):
            best = 0.45
    if best <= 0.0 or negative or (weak_negative and best < 1.0):
        return 0.0
    if lowercase and best < 1.0 and not (standalone and best >= THRESHOLD):
        return 0.0  # lower-case and letter codes only right after a label, or set apart
    if _V_PROMO.search(text[max(line_start, s - 80) : min(line_end, e + 80)].lower()):
        return 0.0  # "use code SPRING25 at checkout"
    score = best
    if _PROMO_SHAPE.fullmatch(value):
        score -= 0.3  # a word and a number read like a discount code
    if standalone:
        score += 0.3
    if grouped:
        score += 0.05
    if numeric:
        if len(digits) == 6:
            score += 0.1
        elif len(digits) == 4 and value[:2] in ("19", "20"):
            score -= 0.35  # a year, unless its label sits right before it
        elif len(digits) == 8 and digits[:2] in ("19", "20") and digits[4:6] <= "12":
            score -= 0.3  # a compact date
    return score


def _snippet(text: str, s: int, e: int) -> str:
    """The line a code was found on, with the line before when the code stands alone."""
    line_start, line_end = _line_bounds(text, s, e)
    line = text[line_start:line_end]
    if line_start > 0 and not text[line_start:s].strip():
        prev_end = line_start - 1
        floor = max(0, prev_end - _LOOK)
        while prev_end > floor and text[prev_end - 1] in "\n \t":
            prev_end -= 1
        prev_start = text.rfind("\n", floor, prev_end) + 1 or floor
        prev = text[prev_start:prev_end].strip()
        if prev:
            line = prev + " " + line.strip()
    line = " ".join(line.split())
    if len(line) <= 160:
        return line
    at = line.find(" ".join(text[s:e].split()))
    lo = max(0, at - 80)
    return line[lo : lo + 160].strip()


def _scan_codes(raw_text: str, order_base: int, titled: bool = False) -> list[_Candidate]:
    """The code candidates of one text (subject or body) that clear the threshold."""
    text = _normalise(raw_text[:SCAN_CHARS])
    masked = _mask(text)
    found: list[_Candidate] = []
    for count, (s, e, value, grouped, lowercase) in enumerate(_candidate_spans(masked)):
        if count >= MAX_SCORED:
            break
        score = _score(masked, s, e, value, grouped, lowercase, titled)
        if score >= THRESHOLD:
            found.append(_Candidate(value, score, _snippet(text, s, e), order_base + s))
    return found


def _candidate_spans(text: str) -> Iterator[tuple[int, int, str, bool, bool]]:
    """Code-shaped spans not ruled out by the characters around them:
    (start, end, value as typed, printed in groups, lower-case)."""
    done_until = -1
    long_until = -1
    n = len(text)
    for count, m in enumerate(_CLUSTER.finditer(text)):
        if count >= MAX_CLUSTERS:
            break
        s, e = m.span()
        if long_until >= 0 and s - long_until <= 3 and _CLUSTER_JOIN.fullmatch(text, long_until, s):
            long_until = e  # the rest of a run too long to be a code, cut by _CLUSTER's bounds
            continue
        long_until = e if e - s > CLUSTER_CHARS else -1
        if s < done_until:
            continue
        p1 = text[s - 1] if s else " "
        n1 = text[e] if e < n else " "
        glued = (
            _is_ascii_letter(p1)
            or _is_ascii_letter(n1)
            or (p1 == "-" and s > 1 and _is_ascii_letter(text[s - 2]))
            or (n1 == "-" and e + 1 < n and _is_ascii_letter(text[e + 1]))
        )
        if glued:
            span = _alnum_span(text, s, e)
            done_until = span[1] if span else e
            candidate = _alnum_candidate(text, *span) if span else None
            if candidate is not None and not _hard_reject(text, candidate[0], candidate[1]):
                yield (*candidate[:3], False, candidate[3])
        elif 4 <= e - s <= CLUSTER_CHARS:  # longer runs are tables of numbers or noise
            for cs, ce, value, grouped in _digit_spans(m.group(), s):
                if not _hard_reject(text, cs, ce):
                    yield cs, ce, value, grouped, False
    # Codes of letters only ("KXQ-ZTP") have no digit to find them by; like lower-case codes
    # they count only right after a strong label.
    for count, m in enumerate(_LETTER_CODE.finditer(text)):
        if count >= MAX_CLUSTERS:
            break
        s, e = m.span()
        if (s == 0 or text[s - 1] not in _TOKEN_CHARS) and (e == n or text[e] not in _TOKEN_CHARS):
            if not _hard_reject(text, s, e):
                yield s, e, m.group(), False, True


def _alnum_candidate(text: str, lo: int, hi: int) -> tuple[int, int, str, bool] | None:
    token = text[lo:hi]
    groups = token.split("-")
    if len(groups) > 4:
        return None
    # A letters prefix before a long digit group is a label, not part of the code ("G-482913").
    if len(groups) == 2 and groups[0].isalpha() and groups[1].isdigit() and len(groups[1]) >= 4:
        cs = lo + len(groups[0]) + 1
        value = groups[1]
        return (cs, hi, value, False) if len(value) <= 8 else None
    letters_digits = token.replace("-", "")
    if not 5 <= len(letters_digits) <= 12 or any(not 1 <= len(g) <= 8 for g in groups):
        return None
    if letters_digits.isdigit() or letters_digits.isalpha():
        return None
    if _UPPER_TOKEN.fullmatch(token):
        return lo, hi, token, False
    if _LOWER_TOKEN.fullmatch(token) and len(letters_digits) <= 10:
        return lo, hi, token, True
    return None


def _names_a_code(subject: str) -> bool:
    """Whether a subject line is about a code: it has a code label no other word qualifies."""
    negative_end = -1
    for start, end, weight in _labels(_normalise(subject).lower()):
        if weight == _QUALIFIER:
            negative_end = end
        elif weight >= 0.85 and not (negative_end >= 0 and start - negative_end <= 2):
            return True
    return False


def _collect_codes(sources: list[str]) -> list[Code]:
    """Scan the subject and the bodies; merge the candidates by value."""
    merged: dict[str, _Candidate] = {}
    in_subject: set[str] = set()
    in_body: set[str] = set()
    titled = _names_a_code(sources[0])
    for index, source in enumerate(sources):
        if not source:
            continue
        for cand in _scan_codes(source, index * 10_000_000, titled and index > 0):
            (in_body if index else in_subject).add(cand.value)
            seen = merged.get(cand.value)
            if seen is None or cand.score > seen.score:
                if seen is not None:
                    cand.order = min(cand.order, seen.order)
                merged[cand.value] = cand
    for value in in_subject & in_body:
        merged[value].score += 0.1  # stated in the subject and again in the body
    ranked = sorted(merged.values(), key=lambda c: (-c.score, c.order))
    return [
        Code(c.value, round(min(0.99, 0.35 + c.score * 0.45), 3), c.snippet)
        for c in ranked[:MAX_CODES]
    ]


# --------------------------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------------------------

_VERIFY_WORDS = """
verify|verification|confirm|confirmation|confirm email|activate|activation|validate|validation
complete registration|complete your registration|finish signing up|finish setting up|get started
verificar|verificación|confirmar|confirmación|activar|validar|ativar|verificação|confirmação
vérifier|vérification|confirmer|activer|valider|bestätigen|bestätigung|verifizieren|aktivieren
verifica|verificare|conferma|confermare|attiva|attivare|convalida|bevestig|bevestigen
verifieer|verifiëren|activeer|activeren|potwierdź|potwierdz|potwierdzenie|zweryfikuj|aktywuj
doğrula|doğrulama|onayla|etkinleştir|aktifleştir|подтвердить|подтвердите|подтверждение
активировать|активируйте|верифицировать
"""
_VERIFY_CJK = """
認証する|確認する|メールアドレスを確認|登録を完了|有効化|本登録|验证|驗證|确认|確認|激活|啟用
تأكيد|تحقق|التحقق|تفعيل
"""
_LOGIN_WORDS = """
sign in|sign-in|signin|log in|log-in|login|magic link|sign me in|log me in|continue to
access your account|open the app|iniciar sesión|iniciar sesion|acceder|entrar|fazer login
acessar|se connecter|connexion|me connecter|anmelden|einloggen|login-link|accedi|accedere
inloggen|log in|aanmelden|zaloguj|zaloguj się|logowanie|giriş yap|oturum aç|войти|вход
"""
_LOGIN_CJK = """
ログイン|サインイン|登录|登入|登錄|تسجيل الدخول|الدخول
"""
_RESET_WORDS = """
reset|reset password|reset your password|change password|set new password|new password
choose a new password|create a new password|set a new password|recover|password recovery
restablecer|cambiar contraseña|nueva contraseña|redefinir|redefinir senha|nova senha
réinitialiser|reinitialiser|nouveau mot de passe|zurücksetzen|passwort zurücksetzen
neues passwort|reimposta|reimpostare|nuova password|opnieuw instellen|wachtwoord herstellen
nieuw wachtwoord|zresetuj|resetuj|nowe hasło|ustaw nowe hasło|sıfırla|şifreyi sıfırla
yeni şifre|сбросить|сброс пароля|новый пароль|восстановить пароль|восстановление
"""
_RESET_CJK = """
パスワードを再設定|パスワード再設定|再設定|パスワードをリセット|重置|重設|重新设置|找回密码
إعادة تعيين|إعادة ضبط|كلمة مرور جديدة
"""
_UNSUBSCRIBE_WORDS = """
unsubscribe|opt out|opt-out|manage preferences|email preferences|manage subscription
manage subscriptions|update preferences|subscription preferences|notification settings
stop receiving|darse de baja|darte de baja|cancelar suscripción|cancelar subscrição
descadastrar|descadastre|cancelar inscrição|se désabonner|désabonner|désinscrire|désinscription
abmelden|abbestellen|newsletter abbestellen|annulla iscrizione|annulla l'iscrizione|disiscriviti
cancella iscrizione|cancellati
afmelden|uitschrijven|wypisz|wypisz się|zrezygnuj|abonelikten çık|abonelikten çıkın
aboneliği iptal|отписаться|отписка|отказаться от рассылки
"""
_UNSUBSCRIBE_CJK = """
配信停止|購読解除|メール配信の停止|退订|退訂|取消订阅|取消訂閱|إلغاء الاشتراك|الغاء الاشتراك
"""
_AUX_WORDS = """
privacy|privacy policy|privacy notice|terms|terms of service|terms of use|legal|cookie|cookies
help|help center|help centre|support|contact|contact us|faq|faqs|customer service|about
view in browser|view online|view this email|web version|open in browser|download the app
app store|google play|get it on|facebook|twitter|instagram|linkedin|youtube|tiktok|pinterest
threads|mastodon|github|discord|x|blog|careers|press|status|security|report|accessibility
privacidad|términos|condiciones|ayuda|soporte|contacto|ver en el navegador|aviso legal
privacidade|termos|ajuda|suporte|contato|contacte|confidentialité|conditions|aide|assistance
mentions légales|version en ligne|datenschutz|impressum|agb|hilfe|kontakt|im browser ansehen
informativa|termini|aiuto|assistenza|contatti|privacybeleid|voorwaarden|klantenservice
prywatność|regulamin|pomoc|kontakt|gizlilik|koşullar|yardım|destek|iletişim|конфиденциальность
условия|помощь|поддержка|контакты
"""
_AUX_CJK = """
プライバシー|利用規約|ヘルプ|サポート|お問い合わせ|隐私|隱私|条款|條款|帮助|幫助|客服|联系我们
الخصوصية|الشروط|المساعدة|الدعم|اتصل بنا
"""
# Sentences offering a way out of the flow ("if this wasn't you, reset your password").
_NOT_ME = """
didn't request|did not request|didn't ask|did not ask|wasn't you|was not you|not you
didn't sign up|did not sign up|didn't make|did not make|don't recognize|do not recognize
didn't try|did not try|secure your account|report this|report it|not me
no solicitaste|no has solicitado|no fuiste tú|não solicitou|não foi você|pas à l'origine
n'êtes pas à l'origine|pas vous|nicht angefordert|nicht sie|waren sie das nicht
non hai richiesto|non sei stato tu|niet aangevraagd|niet door jou|nie prosiłeś
nie prosiłaś|to nie ty|talep etmediyseniz|siz değilseniz|не запрашивали|не вы
"""
_NOT_ME_CJK = """
心当たりがない|お心当たりのない|身に覚えのない|不是您本人|非本人|如果这不是您|لم تطلب|لست أنت
"""
_AUTH_INTENT = """
verify your email|verify your email address|verify your account|verify your identity
verify your address|confirm your email|confirm your email address|confirm your account
confirm your address|confirm your subscription|confirm your registration|confirm your sign up
confirm your signup|activate your account|reset your password|password reset|reset password
forgot your password|forgotten your password|sign in link|sign-in link|login link|magic link
log in link|one-time link|complete your registration|finish signing up|request to sign in
requested to sign in|sign in to your account|sign in request|login request|new sign-in
click to verify|tap to verify|click to confirm|click to sign in|click to log in|click to reset
verification|email verification|account verification|confirm it's you|confirm that it's you
is this you|verificar tu correo|confirma tu correo|confirmar tu cuenta|verifica tu cuenta
restablecer tu contraseña|restablecer contraseña|activa tu cuenta|confirme seu e-mail
confirme seu email|confirmar seu e-mail|verifique seu e-mail|redefinir sua senha
redefinição de senha|ative sua conta|confirmez votre adresse|confirmez votre e-mail
vérifiez votre adresse|réinitialiser votre mot de passe|activez votre compte
bestätigen sie ihre e-mail|bestätige deine e-mail|e-mail-adresse bestätigen|passwort zurücksetzen
konto aktivieren|anmeldelink|conferma il tuo indirizzo|verifica il tuo indirizzo
reimposta la password|attiva il tuo account|bevestig je e-mailadres|bevestig uw e-mailadres
wachtwoord opnieuw instellen|activeer je account|potwierdź swój adres|potwierdź adres e-mail
zresetuj hasło|aktywuj konto|e-posta adresinizi doğrulayın|hesabınızı doğrulayın
şifrenizi sıfırlayın|hesabınızı etkinleştirin|подтвердите адрес|подтвердите email
подтвердите электронную почту|сбросить пароль|активируйте аккаунт|ссылка для входа
"""
_AUTH_INTENT_CJK = """
メールアドレスの確認|メールアドレスを確認|本人確認|パスワードの再設定|パスワード再設定|ログインリンク
会員登録|仮登録|验证您的邮箱|验证邮箱|确认您的邮箱|验证电子邮件|重置密码|重設密碼|登录链接
驗證您的電子郵件|確認您的電子郵件|تأكيد بريدك الإلكتروني|تأكيد البريد الإلكتروني
إعادة تعيين كلمة المرور|تفعيل حسابك|التحقق من بريدك
"""

_V_VERIFY = _Vocab(_phrases(_VERIFY_WORDS), _phrases(_VERIFY_CJK))
_V_LOGIN = _Vocab(_phrases(_LOGIN_WORDS), _phrases(_LOGIN_CJK))
_V_RESET = _Vocab(_phrases(_RESET_WORDS), _phrases(_RESET_CJK))
_V_UNSUB = _Vocab(_phrases(_UNSUBSCRIBE_WORDS), _phrases(_UNSUBSCRIBE_CJK))
_V_AUX = _Vocab(_phrases(_AUX_WORDS), _phrases(_AUX_CJK))
_V_NOT_ME = _Vocab(_phrases(_NOT_ME), _phrases(_NOT_ME_CJK))
_V_INTENT = _Vocab(_phrases(_AUTH_INTENT), _phrases(_AUTH_INTENT_CJK))
_V_SUBJECT = _Vocab(
    _phrases(
        _AUTH_INTENT
        + """verify|verification|confirm your|confirm email|please confirm|activate|activation
        sign in|sign-in|log in|login|magic link|password|passcode|otp|2fa|one-time
        security code|verification code|your code|login code|access code|pin
        verifica|verificar|verifique|confirma|confirme|confirmar|código|codigo|contraseña
        restablece|restablecer|inicia sesión|iniciar sesión|senha|redefina|redefinir|entrar
        confirmez|vérifiez|vérification|mot de passe|connexion|réinitialisez|code
        bestätigen|bestätigungscode|passwort|anmelden|zurücksetzen|tan|conferma|codice
        reimposta|accedi|bevestig|wachtwoord|inloggen|inlogcode|verificatiecode|potwierdź
        kod|hasło|zaloguj|zresetuj|doğrulayın|doğrulama|kodunuz|şifre|şifrenizi|giriş
        подтвердите|код|пароль|вход|сброс"""
        + _CODE_STRONG
    ),
    _phrases(
        _AUTH_INTENT_CJK
        + _CODE_STRONG_CJK
        + """認証|確認|パスワード|ログイン|验证|密码|登录|登入|تأكيد|رمز|كلمة المرور|تسجيل الدخول
        ワンタイムパスワード|验证码"""
    ),
)
_SUBJECT_NOT_AUTH = _Vocab(
    _phrases(
        """order|receipt|invoice|shipped|shipping|delivery|delivered|booking|reservation
        purchase|subscription renewed|newsletter|webinar|sale|offer|deal|digest
        pedido|factura|fatura|commande|facture|bestellung|rechnung|ordine|fattura|bestelling
        factuur|zamówienie|faktura|sipariş|заказ|счёт"""
    ),
    ["注文", "订单", "訂單", "طلبك", "发货", "發貨"],
)

_URL_PATH_KIND = (
    ("unsubscribe", re.compile(r"unsub|opt-?out|/preferences|email-?prefs", re.I)),
    ("reset", re.compile(r"reset|forgot|recover|/password", re.I)),
    ("login", re.compile(r"magic|/login|/log-in|/signin|/sign-in|/sso|/session", re.I)),
    ("verify", re.compile(r"verif|confirm|activat|validat|/auth/", re.I)),
)
_SOCIAL_HOSTS = re.compile(
    r"^https?://(?:[\w-]{1,63}\.){0,16}(?:facebook\.com|fb\.com|twitter\.com|x\.com|instagram\.com"
    r"|linkedin\.com|youtube\.com|youtu\.be|tiktok\.com|pinterest\.com|threads\.net"
    r"|apps\.apple\.com|itunes\.apple\.com|play\.google\.com|t\.me|discord\.gg|github\.com"
    r"|wa\.me)(?:[/:?#]|$)",
    re.I,
)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{16}")  # searched: 16 in a row say as much as more
_GENERIC_TEXT = re.compile(
    r"^(?:click here|here|click|this link|link|tap here|press here|this|follow this link"
    r"|the link below|haz clic aquí|aquí|aqui|clique aqui|cliquez ici|ici|hier klicken|hier"
    r"|clicca qui|qui|klik hier|kliknij tutaj|tutaj|tıklayın|buraya tıklayın|здесь|по ссылке"
    r"|нажмите здесь|こちら|ここ|点击这里|点击此处|這裡|هنا|اضغط هنا)[.!:]?$"
)


@dataclass(slots=True)
class _Link:
    url: str
    text: str
    context: str
    image_only: bool
    position: int
    from_anchor: bool
    alone: bool = False
    kind: str = "other"
    tier: int = 3
    quality: int = 0


def _clean_url(href: str) -> str | None:
    url = "".join(href.split())
    if url[:1] in "<\"'":
        url = url.strip("<>\"'")
    if len(url) > MAX_URL_CHARS or not url[:8].lower().startswith(("http://", "https://")):
        return None
    if len(url) <= len("https://"):
        return None
    return url


_TRAILING = ".,;:!?*'\"»”’>"


_TRIMMED = frozenset(_TRAILING + ")]}")


def _trim_url(url: str) -> str:
    """Drop the punctuation that ends the sentence around a URL, in one pass from the end.

    A closing bracket stays when it closes one opened in the URL ("/wiki/Foo_(bar)").
    """
    opened = {")": url.count("("), "]": url.count("[")}
    closed = {")": url.count(")"), "]": url.count("]")}
    end = len(url)
    while end and url[end - 1] in _TRIMMED:
        last = url[end - 1]
        if last in closed:
            if opened[last] >= closed[last]:
                break
            closed[last] -= 1
        end -= 1
    return url[:end]


_CLAUSE_END = re.compile(rf"[.!?。！？]\s{{1,{_LOOK}}}")  # split within one line (<= _LOOK)
_URL_CHARS = re.compile(rf"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{{1,{MAX_URL_CHARS}}}")
_URL_PUNCT = frozenset("=&?/%._~-#+")


def _text_links(text: str, base: int) -> list[_Link]:
    """Links in plain text, rejoining URLs that a mailer wrapped over several lines."""
    links: list[_Link] = []
    if "ttp" not in text and "TTP" not in text:
        return links
    n = len(text)
    for m in _URL.finditer(text):
        if len(links) >= MAX_LINKS:
            break
        s, e = m.span()
        if not text[s:e].lower().startswith("http"):
            continue
        url = text[s:e]
        if s > 0 and text[s - 1] == "<":
            close = text.find(">", e, e + 4000)
            if close != -1 and _URL_CHARS.fullmatch("".join(text[s:close].split()) or "x"):
                url = "".join(text[s:close].split())
                e = close
        else:
            url, e = _unwrap(text, url, s, e, n)
        if len(url) > MAX_URL_CHARS:
            continue  # never a link (see _clean_url); trimming it would only cost time
        url = _trim_url(url)
        cleaned = _clean_url(url)
        if cleaned is None:
            continue
        line_start, line_end = _line_bounds(text, s, e)
        # The words just before a URL name it: "Verify your email: https://...".
        label = _CLAUSE_END.split(text[line_start:s])[-1].strip().rstrip(":：-—<>([").strip()
        context_start = line_start
        if not label and line_start > 0:
            context_start = _line_bounds(text, line_start - 1, line_start - 1)[0]
        context = text[context_start:line_end].replace(url, " ")
        links.append(
            _Link(cleaned, label if len(label) <= 120 else "", context[-400:], False, base + s,
                  False)
        )  # fmt: skip
    return links


def _unwrap(text: str, url: str, s: int, e: int, n: int) -> tuple[str, int]:
    """Rejoin a URL that a mailer hard-wrapped onto the next line(s).

    The next line continues the URL when its first token could only be URL text (it has digits
    or URL punctuation), when the URL stopped in the middle of a query ("?t=", "&"), or when the
    URL's line was full (wrapped at 70+ columns) and the token is not an ordinary word.
    """
    if url[-1] in ".,;:!?)]'\"":
        return url, e  # the URL's sentence ended on this line
    for _ in range(6):
        if e >= n or text[e] not in "\r\n":
            break
        nxt = e + 1
        if text[e] == "\r" and nxt < n and text[nxt] == "\n":
            nxt += 1
        # Only as much of the next line as a URL can take is read.
        window = min(n, nxt + MAX_URL_CHARS)
        line_end = text.find("\n", nxt, window)
        if line_end == -1:
            line_end = window
        line = text[nxt:line_end].rstrip("\r")
        if not line or line[0].isspace():
            break
        token = line.split(None, 1)[0]
        if not _URL_CHARS.fullmatch(token) or token.lower().startswith(("http://", "https://")):
            break
        inner = token.rstrip(".,;:!?)")
        if not inner:
            break
        word = inner.isalpha() and (inner.islower() or inner.istitle() or inner.isupper())
        urlish = any(ch.isdigit() or ch in "=&/%_~-+#" for ch in inner)
        mid_query = url[-1] in "=&?-_%"
        full_line = s - _line_bounds(text, s, s)[0] + len(url) >= 70
        if not (urlish or (mid_query and not inner.istitle()) or (full_line and not word)):
            break
        whole_line = len(token) == len(line)
        if not whole_line and not urlish:
            break
        url += token
        e = nxt + len(token)
        if not whole_line or url[-1] in ".,;:!?)]'\"" or len(url) > MAX_URL_CHARS:
            break
    return url, e


_KIND_VOCAB = {"reset": _V_RESET, "login": _V_LOGIN, "verify": _V_VERIFY}


def _kind_of(text: str, primary: str | None) -> str | None:
    """The auth kind the words of `text` name; the message's own kind wins a tie."""
    order = ("reset", "verify", "login")
    if primary:
        order = (primary, *(k for k in order if k != primary))
    for name in order:
        if _KIND_VOCAB[name].search(text):
            return name
    return None


def _classify(link: _Link, intent: bool, primary: str | None) -> None:
    text = link.text.lower()
    url = link.url
    path = url.split("://", 1)[-1].partition("/")[2]
    context = link.context.lower()
    generic = not text or bool(_GENERIC_TEXT.match(text)) or text.startswith("http")

    if _V_UNSUB.search(text) or _URL_PATH_KIND[0][1].search(path):
        link.kind, link.tier = "unsubscribe", 0
        return
    line_before = context.rsplit(text, 1)[0][-160:] if text else context[-160:]
    if text and _V_NOT_ME.search(text + " " + line_before.rsplit("\n", 1)[-1]):
        link.kind, link.tier = "other", 2
        return
    kind = None
    if text and not generic:
        kind = _kind_of(text, primary)
        link.quality = 3
    if kind is None:
        for name, pattern in _URL_PATH_KIND[1:]:
            if pattern.search(path):
                kind = name
                link.quality = 2
                break
    aux = bool(_V_AUX.search(text)) or bool(_SOCIAL_HOSTS.match(url))
    if kind is None and context and (generic or (link.alone and not aux and not link.image_only)):
        # "Click here", or a button whose own words ("Yes, subscribe me") say less than the
        # sentence above it.
        kind = _kind_of(context, primary)
        link.quality = 1
    # A verify, login or reset link counts as one when the message is about that, or when its
    # own words say so and it stands out as a button or a labelled URL in plain text; a "Log in"
    # among a newsletter's header links does not.
    named = link.quality == 3 and (link.alone or not link.from_anchor)
    if kind and (intent or named) and not (aux and link.quality < 3):
        link.kind, link.tier = kind, 4
        if primary == kind:
            link.quality += 3
        if link.from_anchor and text and len(text.split()) >= 2:
            link.quality += 1
        if _TOKENISH.search(url.split("?", 1)[-1] if "?" in url else path):
            link.quality += 1
        return
    link.kind = "other"
    if link.image_only:
        link.tier = 1
    elif aux:
        link.tier = 2
    else:
        link.tier = 3


def _intent(subject: str, texts: list[str], has_codes: bool) -> tuple[bool, str | None]:
    """Whether the message is about verifying, signing in or resetting, and which of them."""
    subject_l = subject.lower()
    subject_auth = bool(_V_SUBJECT.search(subject_l)) and not _SUBJECT_NOT_AUTH.search(subject_l)
    primary = _kind_of(subject_l, None) if subject_auth else None
    if primary and (has_codes or subject_auth):
        return True, primary
    body = _normalise("\n".join(t[:6000] for t in texts if t).lower())
    primary = primary or _kind_of(body, None)
    if has_codes or subject_auth:
        return True, primary
    return _V_INTENT.search(body) is not None, primary


def _collect_links(
    rendered: Rendered | None, texts: list[str], subject: str, has_codes: bool
) -> list[Link]:
    links: list[_Link] = []
    if rendered is not None:
        for i, anchor in enumerate(rendered.anchors[:MAX_LINKS]):
            url = _clean_url(anchor.href)
            if url is None:
                continue
            links.append(
                _Link(url, " ".join(anchor.text.split())[:200], anchor.context, anchor.image_only,
                      i, True, anchor.alone)
            )  # fmt: skip
    shown = {link.text for link in links if link.text.startswith(("http", "HTTP"))}
    for index, text in enumerate(texts):
        if text and len(links) < MAX_LINKS:
            for link in _text_links(text[:SCAN_CHARS], (index + 1) * 1_000_000):
                # A URL shown as the text of an anchor is that anchor, whose href (often a
                # click-tracking redirect) is what must be clicked.
                if index == 0 and link.url in shown:
                    continue
                links.append(link)
    if not links:
        return []
    intent, primary = _intent(subject, texts, has_codes)
    for link in links:
        _classify(link, intent, primary)
    links.sort(key=lambda x: (-x.tier, -x.quality, x.position))
    seen: set[str] = set()
    out: list[Link] = []
    for link in links:
        if link.url in seen:
            continue
        seen.add(link.url)
        out.append(Link(link.url, link.kind, link.text))
    return out


def _extract(subject: str, text: str, html: str) -> Extraction:
    subject = " ".join(subject[:1000].split())
    rendered = render_html(html[:HTML_CHARS]) if html else None
    html_text = rendered.text[:SCAN_CHARS] if rendered else ""
    plain = text[:SCAN_CHARS]
    codes = _collect_codes([subject, html_text, plain])
    links = _collect_links(rendered, [html_text, plain], subject, bool(codes))
    return Extraction(codes, links)
