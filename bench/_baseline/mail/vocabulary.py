"""The words the extractor reads: code labels, other kinds of number, link kinds, in many languages.

One phrase per line in the tables below; a `Vocab` matches them whole-word in scripts that
separate words, and as substrings in Chinese, Japanese and Arabic (which attach particles and
articles to them). The tables are data; `codes.py` and `links.py` hold the rules that weigh
what is found. Every pattern here is bounded: a match attempt reads a bounded number of
characters (tests/mail/test_bounded_work.py checks each one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

__all__ = [
    "Vocab",
    "code_labels",
    "NEG",
    "WEAK_NEG",
    "QUALIFIER",
    "VERB_WEIGHT",
    "PROMO",
    "UNIT_AFTER",
    "CURRENCY_BEFORE",
    "CURRENCY_SYMBOLS",
    "CJK_UNITS",
    "MONTHS",
    "STREET",
    "FILLER",
    "FILLER_CJK",
    "INTRODUCED",
    "VERIFY",
    "LOGIN",
    "RESET",
    "UNSUBSCRIBE",
    "AUX",
    "NOT_ME",
    "AUTH_INTENT",
    "SUBJECT_AUTH",
    "SUBJECT_NOT_AUTH",
    "GENERIC_TEXT",
]

# --------------------------------------------------------------------------------------------
# Code labels and the words that name other kinds of number
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

CURRENCY_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:usd|eur|gbp|jpy|cny|rmb|rub|pln|brl|mxn|chf|cad|aud|inr|krw|sek|nok|dkk|czk|huf"
    r"|aed|sar|us|rs|r|zł|tl|руб|€|\$|£|¥|₹|₩|₽|₺|₴|₦|₱|฿|₫|₪|¢)\.? ?$"
)
CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₴₦₱฿₫₪¢"
CJK_UNITS = "年月日時时分秒点點号號元円个個件人回次万萬億亿岁歳位名枚本台階层層週周"

MONTHS = re.compile(
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
STREET = re.compile(
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


class Vocab:
    """A list of phrases, matched whole-word in scripts that put spaces between words and as
    substrings in Chinese, Japanese and Arabic, which attach particles and articles to them.

    The word boundary before a phrase is checked on each match rather than by a lookbehind at
    the head of the pattern: that way the regex engine can skip every position whose first
    character begins no phrase, which makes scanning several times faster.
    """

    __slots__ = ("_pattern", "_unbounded")

    def __init__(self, bounded: Sequence[str], unbounded: Sequence[str] = ()) -> None:
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
NEG, WEAK_NEG, QUALIFIER = -1.0, -0.5, -1.5
VERB_WEIGHT = 0.6
_LABEL_WEIGHT: dict[str, float] = {}
for _block, _weight in (
    (_CODE_VERBS + _CODE_VERBS_CJK, VERB_WEIGHT),
    (_WEAK_NEGATIVE + _WEAK_NEGATIVE_CJK, WEAK_NEG),
    (_NEGATIVE + _NEGATIVE_CJK, NEG),
    (_QUALIFIERS, QUALIFIER),
    (_CODE_MEDIUM + _CODE_MEDIUM_CJK, 0.85),
    (_CODE_STRONG + _CODE_STRONG_CJK, 1.0),
):
    for _p in _phrases(_block):
        _LABEL_WEIGHT[_key(_p.lower())] = _weight

_LABELS = Vocab(
    _phrases(_CODE_STRONG + _CODE_MEDIUM + _CODE_VERBS + _NEGATIVE + _WEAK_NEGATIVE + _QUALIFIERS),
    _phrases(_CODE_STRONG_CJK + _CODE_MEDIUM_CJK + _CODE_VERBS_CJK + _NEGATIVE_CJK)
    + _phrases(_WEAK_NEGATIVE_CJK),
)


def code_labels(window: str) -> list[tuple[int, int, float]]:
    """The code labels and negative words in `window`: (start, end, weight)."""
    hits = []
    for m in _LABELS.finditer(window):
        weight = _LABEL_WEIGHT.get(_key(m.group()))
        if weight is not None:
            hits.append((m.start(), m.end(), weight))
    return hits


PROMO = Vocab(_phrases(_PROMO), _phrases(_PROMO_CJK))
UNIT_AFTER = re.compile(r"^[ \t]?" + _trie_pattern(dict.fromkeys(_phrases(_UNITS), True)))

# Words allowed between a label and its code while still reading as "label: code".
FILLER = frozenset(
    """is are was es son est sont ist lautet sind è é e o a er to jest wynosi dir dein
    deine ihr ihre your votre ton ta tu su sua seu o tuo tua il la le de del di van je jouw uw
    twój twoj twoja senin sizin ваш ваша твой this below here aquí aqui ci-dessous unten
    qui hieronder poniżej aşağıda ниже following next new nuevo novo nouveau neuer nuovo
    nieuwe nowy yeni новый single-use one-time temporary verification security login هو هي
    الخاص بك لك""".split()
)
FILLER_CJK = "はがを是为為：:、。,，'\"「」『』【】()（）[]"
# A label then a colon or "is" introduces the number after it, even across a line break.
INTRODUCED = re.compile(
    r"(?:[:：=—–-]|\b(?:is|es|est|ist|lautet|è|é|jest|wynosi|to|są))[ \t]{0,160}\n?[ \t]{0,160}$"
)

# --------------------------------------------------------------------------------------------
# Link kinds
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

VERIFY = Vocab(_phrases(_VERIFY_WORDS), _phrases(_VERIFY_CJK))
LOGIN = Vocab(_phrases(_LOGIN_WORDS), _phrases(_LOGIN_CJK))
RESET = Vocab(_phrases(_RESET_WORDS), _phrases(_RESET_CJK))
UNSUBSCRIBE = Vocab(_phrases(_UNSUBSCRIBE_WORDS), _phrases(_UNSUBSCRIBE_CJK))
AUX = Vocab(_phrases(_AUX_WORDS), _phrases(_AUX_CJK))
NOT_ME = Vocab(_phrases(_NOT_ME), _phrases(_NOT_ME_CJK))
AUTH_INTENT = Vocab(_phrases(_AUTH_INTENT), _phrases(_AUTH_INTENT_CJK))
SUBJECT_AUTH = Vocab(
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
SUBJECT_NOT_AUTH = Vocab(
    _phrases(
        """order|receipt|invoice|shipped|shipping|delivery|delivered|booking|reservation
        purchase|subscription renewed|newsletter|webinar|sale|offer|deal|digest
        pedido|factura|fatura|commande|facture|bestellung|rechnung|ordine|fattura|bestelling
        factuur|zamówienie|faktura|sipariş|заказ|счёт"""
    ),
    ["注文", "订单", "訂單", "طلبك", "发货", "發貨"],
)

# Anchor texts that say nothing about where the link goes ("click here"): the sentence around
# the link names its kind instead.
GENERIC_TEXT = re.compile(
    r"^(?:click here|here|click|this link|link|tap here|press here|this|follow this link"
    r"|the link below|haz clic aquí|aquí|aqui|clique aqui|cliquez ici|ici|hier klicken|hier"
    r"|clicca qui|qui|klik hier|kliknij tutaj|tutaj|tıklayın|buraya tıklayın|здесь|по ссылке"
    r"|нажмите здесь|こちら|ここ|点击这里|点击此处|這裡|هنا|اضغط هنا)[.!:]?$"
)
