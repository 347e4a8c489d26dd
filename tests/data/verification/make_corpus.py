"""Write the verification-mail corpus: `*.eml` files and `labels.json`.

The committed files are the source of truth; this script is how they were made and how to
grow them. Every brand, address, phone number and link is fictional (example/test domains,
555 and other reserved numbers). Run from anywhere:

    python tests/data/verification/make_corpus.py

It writes deterministic output (fixed seed, fixed dates), so a re-run without changes to this
script reproduces the same files.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
rng = random.Random(20240512)


@dataclass(frozen=True)
class Brand:
    name: str
    domain: str
    color: str
    street: str
    city: str
    phone: str


BRANDS = [
    Brand("Northwind", "northwind.example", "#2563eb", "1234 Market Street, Suite 500",
          "San Francisco, CA 94103", "+1 (415) 555-0199"),
    Brand("Brightwave", "brightwave.example.com", "#7c3aed", "88 Harbor Road",
          "Portland, OR 97209", "1-800-555-0142"),
    Brand("Quillfeather", "quillfeather.example.net", "#0f766e", "2200 Elm Avenue, Floor 3",
          "Austin, TX 78701", "(512) 555-0117"),
    Brand("Tandem Bank", "tandembank.example", "#b91c1c", "400 Park Lane",
          "New York, NY 10022", "+1 212 555 0163"),
    Brand("Orbital Notes", "orbitalnotes.test", "#ea580c", "77 Foundry Way",
          "Boston, MA 02110", "617-555-0188"),
    Brand("Pixelforge", "pixelforge.example.org", "#db2777", "9 Canal Street",
          "London EC1A 1BB, United Kingdom", "+44 20 7946 0958"),
    Brand("Lumen Pay", "lumenpay.example", "#16a34a", "1600 Sunset Boulevard",
          "Los Angeles, CA 90028", "+1 (323) 555-0110"),
    Brand("Kestrel Air", "kestrelair.example.com", "#0369a1", "5 Aviation Drive",
          "Denver, CO 80249", "+1 303 555 0175"),
    Brand("Mosaic Learning", "mosaiclearning.example.net", "#9333ea", "310 College Street",
          "Toronto, ON M5T 1R5, Canada", "+1 416 555 0139"),
    Brand("Nimbus Drive", "nimbusdrive.test", "#0891b2", "45 Cloud Court",
          "Seattle, WA 98101", "(206) 555-0124"),
    Brand("Copperleaf", "copperleaf.example", "#a16207", "12 Orchard Place",
          "Chicago, IL 60607", "+1 312-555-0191"),
    Brand("Sprocket CI", "sprocketci.example.org", "#4f46e5", "3000 Pipeline Parkway",
          "Raleigh, NC 27601", "+1 919 555 0102"),
    Brand("Verdant Grocers", "verdantgrocers.example.com", "#15803d", "701 Greenway Road",
          "Minneapolis, MN 55401", "1-888-555-0156"),
    Brand("Bluefin Mobile", "bluefinmobile.example", "#1d4ed8", "18 Tidewater Plaza",
          "Miami, FL 33131", "+1 305 555 0133"),
    Brand("Fable Books", "fablebooks.example.net", "#92400e", "56 Library Row",
          "Providence, RI 02903", "(401) 555-0147"),
    Brand("Cinder Games", "cindergames.test", "#dc2626", "2077 Arcade Street",
          "Los Angeles, CA 90012", "+1 213 555 0128"),
    Brand("Harbor & Finch", "harborfinch.example.com", "#334155", "14 Quay Street",
          "Baltimore, MD 21202", "410-555-0173"),
    Brand("Driftwood Travel", "driftwoodtravel.example", "#0e7490", "900 Coastline Drive",
          "San Diego, CA 92101", "+1 619 555 0181"),
]  # fmt: skip

NAMES = ["Jamie", "Alex", "Priya", "Mateo", "Sofia", "Noah", "Amara", "Liam", "Yuki", "Omar",
         "Chloe", "Ethan", "Lena", "Ravi", "Zoe", "Marco"]  # fmt: skip


# ------------------------------------------------------------------------------------------
# Language packs
# ------------------------------------------------------------------------------------------

LANG = {
    "en": dict(
        otp_subject="Your {brand} verification code",
        subject_code="{code} is your {brand} verification code",
        greeting="Hi {name},",
        otp_intro="Use the code below to verify your email address.",
        code_label="Your verification code:",
        expiry="This code expires in 10 minutes.",
        ignore="If you didn't request this code, you can safely ignore this email.",
        verify_subject="Confirm your email address",
        verify_intro="Thanks for signing up for {brand}! Please confirm your email address by "
        "clicking the button below.",
        verify_button="Confirm email address",
        fallback="Or paste this link into your browser:",
        reset_subject="Reset your {brand} password",
        reset_intro="We received a request to reset the password for your account.",
        reset_button="Reset password",
        link_expiry="This link expires in 60 minutes.",
        login_subject="Sign in to {brand}",
        login_intro="Click the button below to sign in. This link can only be used once.",
        login_button="Sign in to {brand}",
        unsub="Unsubscribe",
        privacy="Privacy Policy",
        help="Help Center",
        rights="All rights reserved.",
        date="May 12, 2024",
        amount="$129.99",
    ),
    "es": dict(
        otp_subject="Tu código de verificación de {brand}",
        subject_code="{code} es tu código de {brand}",
        greeting="Hola {name}:",
        otp_intro="Usa el siguiente código para verificar tu dirección de correo electrónico.",
        code_label="Tu código de verificación es:",
        expiry="Este código caduca en 10 minutos.",
        ignore="Si no solicitaste este código, puedes ignorar este mensaje.",
        verify_subject="Confirma tu dirección de correo electrónico",
        verify_intro="¡Gracias por registrarte en {brand}! Confirma tu correo electrónico haciendo "
        "clic en el botón.",
        verify_button="Confirmar correo electrónico",
        fallback="O copia y pega este enlace en tu navegador:",
        reset_subject="Restablece tu contraseña de {brand}",
        reset_intro="Recibimos una solicitud para restablecer la contraseña de tu cuenta.",
        reset_button="Restablecer contraseña",
        link_expiry="Este enlace caduca en 60 minutos.",
        login_subject="Inicia sesión en {brand}",
        login_intro="Haz clic en el botón para iniciar sesión. El enlace solo puede usarse una vez.",
        login_button="Iniciar sesión",
        unsub="Darse de baja",
        privacy="Política de privacidad",
        help="Centro de ayuda",
        rights="Todos los derechos reservados.",
        address="Calle de Alcalá 123, 28009 Madrid, España",
        phone="+34 912 345 678",
        date="12 de mayo de 2024",
        amount="1.299,00 €",
    ),
    "pt": dict(
        otp_subject="Seu código de verificação {brand}",
        subject_code="{code} é o seu código {brand}",
        greeting="Olá, {name},",
        otp_intro="Use o código abaixo para confirmar seu endereço de e-mail.",
        code_label="Seu código de verificação:",
        expiry="Este código expira em 10 minutos.",
        ignore="Se você não solicitou este código, ignore este e-mail.",
        verify_subject="Confirme seu endereço de e-mail",
        verify_intro="Obrigado por se cadastrar no {brand}! Confirme seu e-mail clicando no botão "
        "abaixo.",
        verify_button="Confirmar e-mail",
        fallback="Ou copie e cole este link no seu navegador:",
        reset_subject="Redefina sua senha do {brand}",
        reset_intro="Recebemos uma solicitação para redefinir a senha da sua conta.",
        reset_button="Redefinir senha",
        link_expiry="Este link expira em 60 minutos.",
        login_subject="Entrar no {brand}",
        login_intro="Clique no botão abaixo para fazer login. O link só pode ser usado uma vez.",
        login_button="Fazer login",
        unsub="Cancelar inscrição",
        privacy="Política de Privacidade",
        help="Central de Ajuda",
        rights="Todos os direitos reservados.",
        address="Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200",
        phone="+55 11 3456-7890",
        date="12 de maio de 2024",
        amount="R$ 1.299,90",
    ),
    "fr": dict(
        otp_subject="Votre code de vérification {brand}",
        subject_code="{code} est votre code {brand}",
        greeting="Bonjour {name},",
        otp_intro="Utilisez le code ci-dessous pour vérifier votre adresse e-mail.",
        code_label="Votre code de vérification :",
        expiry="Ce code expire dans 10 minutes.",
        ignore="Si vous n'êtes pas à l'origine de cette demande, ignorez cet e-mail.",
        verify_subject="Confirmez votre adresse e-mail",
        verify_intro="Merci de vous être inscrit sur {brand} ! Confirmez votre adresse e-mail en "
        "cliquant sur le bouton ci-dessous.",
        verify_button="Confirmer mon adresse e-mail",
        fallback="Ou copiez ce lien dans votre navigateur :",
        reset_subject="Réinitialisez votre mot de passe {brand}",
        reset_intro="Nous avons reçu une demande de réinitialisation du mot de passe de votre "
        "compte.",
        reset_button="Réinitialiser le mot de passe",
        link_expiry="Ce lien expire dans 60 minutes.",
        login_subject="Connexion à {brand}",
        login_intro="Cliquez sur le bouton ci-dessous pour vous connecter. Ce lien ne peut être "
        "utilisé qu'une seule fois.",
        login_button="Se connecter",
        unsub="Se désabonner",
        privacy="Politique de confidentialité",
        help="Centre d'aide",
        rights="Tous droits réservés.",
        address="12 rue de la Paix, 75002 Paris, France",
        phone="+33 1 23 45 67 89",
        date="12 mai 2024",
        amount="1 299,00 €",
    ),
    "de": dict(
        otp_subject="Ihr {brand} Bestätigungscode",
        subject_code="{code} ist Ihr {brand}-Bestätigungscode",
        greeting="Hallo {name},",
        otp_intro="Verwenden Sie den folgenden Code, um Ihre E-Mail-Adresse zu bestätigen.",
        code_label="Ihr Bestätigungscode:",
        expiry="Dieser Code ist 10 Minuten lang gültig.",
        ignore="Wenn Sie diesen Code nicht angefordert haben, können Sie diese E-Mail ignorieren.",
        verify_subject="Bitte bestätigen Sie Ihre E-Mail-Adresse",
        verify_intro="Vielen Dank für Ihre Registrierung bei {brand}! Bitte bestätigen Sie Ihre "
        "E-Mail-Adresse über den folgenden Button.",
        verify_button="E-Mail-Adresse bestätigen",
        fallback="Oder kopieren Sie diesen Link in Ihren Browser:",
        reset_subject="Passwort für {brand} zurücksetzen",
        reset_intro="Wir haben eine Anfrage erhalten, das Passwort für Ihr Konto zurückzusetzen.",
        reset_button="Passwort zurücksetzen",
        link_expiry="Dieser Link ist 60 Minuten lang gültig.",
        login_subject="Bei {brand} anmelden",
        login_intro="Klicken Sie auf den Button, um sich anzumelden. Der Link kann nur einmal "
        "verwendet werden.",
        login_button="Jetzt anmelden",
        unsub="Newsletter abbestellen",
        privacy="Datenschutz",
        help="Hilfe",
        rights="Alle Rechte vorbehalten.",
        address="Friedrichstraße 123, 10117 Berlin, Deutschland · Amtsgericht Charlottenburg "
        "HRB 123456 B",
        phone="+49 30 12345678",
        date="12. Mai 2024",
        amount="1.299,00 €",
    ),
    "it": dict(
        otp_subject="Il tuo codice di verifica {brand}",
        subject_code="{code} è il tuo codice {brand}",
        greeting="Ciao {name},",
        otp_intro="Usa il codice qui sotto per verificare il tuo indirizzo email.",
        code_label="Il tuo codice di verifica:",
        expiry="Il codice scade tra 10 minuti.",
        ignore="Se non hai richiesto questo codice, ignora questa email.",
        verify_subject="Conferma il tuo indirizzo email",
        verify_intro="Grazie per esserti registrato su {brand}! Conferma il tuo indirizzo email "
        "facendo clic sul pulsante qui sotto.",
        verify_button="Conferma indirizzo email",
        fallback="Oppure copia questo link nel browser:",
        reset_subject="Reimposta la password di {brand}",
        reset_intro="Abbiamo ricevuto una richiesta di reimpostazione della password del tuo "
        "account.",
        reset_button="Reimposta password",
        link_expiry="Il link scade tra 60 minuti.",
        login_subject="Accedi a {brand}",
        login_intro="Fai clic sul pulsante qui sotto per accedere. Il link può essere usato una "
        "sola volta.",
        login_button="Accedi",
        unsub="Annulla l'iscrizione",
        privacy="Informativa sulla privacy",
        help="Centro assistenza",
        rights="Tutti i diritti riservati.",
        address="Via Roma 12, 20121 Milano (MI), Italia · P.IVA 01234567890",
        phone="+39 02 1234 5678",
        date="12 maggio 2024",
        amount="1.299,00 €",
    ),
    "nl": dict(
        otp_subject="Je {brand} verificatiecode",
        subject_code="{code} is je {brand}-verificatiecode",
        greeting="Hoi {name},",
        otp_intro="Gebruik de onderstaande code om je e-mailadres te verifiëren.",
        code_label="Je verificatiecode:",
        expiry="Deze code verloopt over 10 minuten.",
        ignore="Heb je deze code niet aangevraagd? Dan kun je deze e-mail negeren.",
        verify_subject="Bevestig je e-mailadres",
        verify_intro="Bedankt voor je aanmelding bij {brand}! Bevestig je e-mailadres door op de "
        "knop hieronder te klikken.",
        verify_button="E-mailadres bevestigen",
        fallback="Of kopieer deze link in je browser:",
        reset_subject="Stel je {brand}-wachtwoord opnieuw in",
        reset_intro="We hebben een verzoek ontvangen om het wachtwoord van je account opnieuw in "
        "te stellen.",
        reset_button="Wachtwoord opnieuw instellen",
        link_expiry="Deze link verloopt over 60 minuten.",
        login_subject="Inloggen bij {brand}",
        login_intro="Klik op de knop hieronder om in te loggen. De link kan maar één keer worden "
        "gebruikt.",
        login_button="Inloggen",
        unsub="Afmelden",
        privacy="Privacybeleid",
        help="Helpcentrum",
        rights="Alle rechten voorbehouden.",
        address="Keizersgracht 123, 1015 CJ Amsterdam · KvK 12345678",
        phone="+31 20 123 4567",
        date="12 mei 2024",
        amount="€ 1.299,00",
    ),
    "pl": dict(
        otp_subject="Twój kod weryfikacyjny {brand}",
        subject_code="{code} to Twój kod weryfikacyjny {brand}",
        greeting="Cześć {name},",
        otp_intro="Użyj poniższego kodu, aby potwierdzić swój adres e-mail.",
        code_label="Twój kod weryfikacyjny:",
        expiry="Kod wygaśnie za 10 minut.",
        ignore="Jeśli nie prosiłeś o ten kod, zignoruj tę wiadomość.",
        verify_subject="Potwierdź swój adres e-mail",
        verify_intro="Dziękujemy za rejestrację w {brand}! Potwierdź swój adres e-mail, klikając "
        "przycisk poniżej.",
        verify_button="Potwierdź adres e-mail",
        fallback="Lub skopiuj ten link do przeglądarki:",
        reset_subject="Zresetuj hasło do {brand}",
        reset_intro="Otrzymaliśmy prośbę o zresetowanie hasła do Twojego konta.",
        reset_button="Zresetuj hasło",
        link_expiry="Link wygaśnie za 60 minut.",
        login_subject="Zaloguj się do {brand}",
        login_intro="Kliknij przycisk poniżej, aby się zalogować. Link można użyć tylko raz.",
        login_button="Zaloguj się",
        unsub="Wypisz się",
        privacy="Polityka prywatności",
        help="Centrum pomocy",
        rights="Wszelkie prawa zastrzeżone.",
        address="ul. Marszałkowska 100, 00-026 Warszawa · NIP 123-456-78-90",
        phone="+48 22 123 45 67",
        date="12 maja 2024",
        amount="1 299,00 zł",
    ),
    "tr": dict(
        otp_subject="{brand} doğrulama kodunuz",
        subject_code="{brand} doğrulama kodunuz: {code}",
        greeting="Merhaba {name},",
        otp_intro="E-posta adresinizi doğrulamak için aşağıdaki kodu kullanın.",
        code_label="Doğrulama kodunuz:",
        expiry="Bu kod 10 dakika boyunca geçerlidir.",
        ignore="Bu kodu siz talep etmediyseniz bu e-postayı dikkate almayın.",
        verify_subject="E-posta adresinizi doğrulayın",
        verify_intro="{brand} hesabı oluşturduğunuz için teşekkürler! Aşağıdaki düğmeye "
        "tıklayarak e-posta adresinizi doğrulayın.",
        verify_button="E-posta adresimi doğrula",
        fallback="Veya bu bağlantıyı tarayıcınıza yapıştırın:",
        reset_subject="{brand} şifrenizi sıfırlayın",
        reset_intro="Hesabınızın şifresini sıfırlamak için bir talep aldık.",
        reset_button="Şifremi sıfırla",
        link_expiry="Bu bağlantı 60 dakika geçerlidir.",
        login_subject="{brand} hesabınıza giriş yapın",
        login_intro="Giriş yapmak için aşağıdaki düğmeye tıklayın. Bağlantı yalnızca bir kez "
        "kullanılabilir.",
        login_button="Giriş yap",
        unsub="Abonelikten çık",
        privacy="Gizlilik Politikası",
        help="Yardım Merkezi",
        rights="Tüm hakları saklıdır.",
        address="Büyükdere Cad. No: 123, 34394 Şişli/İstanbul · Mersis No: 0123456789012345",
        phone="+90 212 123 45 67",
        date="12 Mayıs 2024",
        amount="1.299,00 TL",
    ),
    "ru": dict(
        otp_subject="Код подтверждения {brand}",
        subject_code="{code} — ваш код подтверждения {brand}",
        greeting="Здравствуйте, {name}!",
        otp_intro="Используйте этот код, чтобы подтвердить адрес электронной почты.",
        code_label="Ваш код подтверждения:",
        expiry="Код действителен в течение 10 минут.",
        ignore="Если вы не запрашивали код, просто проигнорируйте это письмо.",
        verify_subject="Подтвердите адрес электронной почты",
        verify_intro="Спасибо за регистрацию в {brand}! Подтвердите адрес электронной почты, "
        "нажав на кнопку ниже.",
        verify_button="Подтвердить email",
        fallback="Или скопируйте ссылку в браузер:",
        reset_subject="Сброс пароля {brand}",
        reset_intro="Мы получили запрос на сброс пароля для вашей учётной записи.",
        reset_button="Сбросить пароль",
        link_expiry="Ссылка действительна 60 минут.",
        login_subject="Вход в {brand}",
        login_intro="Нажмите на кнопку ниже, чтобы войти. Ссылку можно использовать только "
        "один раз.",
        login_button="Войти",
        unsub="Отписаться",
        privacy="Политика конфиденциальности",
        help="Помощь",
        rights="Все права защищены.",
        address="ул. Тверская, д. 7, Москва, 125009 · ИНН 7701234567",
        phone="+7 (495) 123-45-67",
        date="12 мая 2024 г.",
        amount="12 990 ₽",
    ),
    "ja": dict(
        otp_subject="【{brand}】認証コードのお知らせ",
        subject_code="【{brand}】認証コード：{code}",
        greeting="{name} 様",
        otp_intro="以下の認証コードを入力して、メールアドレスの確認を完了してください。",
        code_label="認証コード：",
        expiry="このコードの有効期限は10分です。",
        ignore="このメールにお心当たりのない場合は、破棄してください。",
        verify_subject="【{brand}】メールアドレスの確認",
        verify_intro="{brand}にご登録いただきありがとうございます。以下のボタンをクリックして、"
        "メールアドレスの確認を完了してください。",
        verify_button="メールアドレスを確認する",
        fallback="ボタンが機能しない場合は、以下のURLをブラウザに貼り付けてください。",
        reset_subject="【{brand}】パスワード再設定のご案内",
        reset_intro="パスワード再設定のリクエストを受け付けました。",
        reset_button="パスワードを再設定する",
        link_expiry="このリンクの有効期限は60分です。",
        login_subject="【{brand}】ログインリンクのお知らせ",
        login_intro="以下のボタンからログインしてください。このリンクは一度だけ使用できます。",
        login_button="ログインする",
        unsub="配信停止",
        privacy="プライバシーポリシー",
        help="ヘルプセンター",
        rights="All rights reserved.",
        address="〒100-0005 東京都千代田区丸の内1-2-3",
        phone="03-1234-5678",
        date="2024年5月12日",
        amount="¥12,800",
    ),
    "zh": dict(
        otp_subject="{brand} 邮箱验证码",
        subject_code="【{brand}】您的验证码是{code}",
        greeting="{name}，您好：",
        otp_intro="请使用以下验证码完成邮箱验证。",
        code_label="您的验证码：",
        expiry="验证码10分钟内有效，请勿泄露给他人。",
        ignore="如果这不是您本人的操作，请忽略此邮件。",
        verify_subject="请验证您的邮箱地址",
        verify_intro="感谢您注册{brand}！请点击下方按钮验证您的邮箱地址。",
        verify_button="验证邮箱",
        fallback="如果按钮无法点击，请复制以下链接到浏览器打开：",
        reset_subject="重置您的{brand}密码",
        reset_intro="我们收到了重置您账户密码的请求。",
        reset_button="重置密码",
        link_expiry="该链接将在60分钟后失效。",
        login_subject="登录 {brand}",
        login_intro="请点击下方按钮登录。该链接只能使用一次。",
        login_button="立即登录",
        unsub="退订",
        privacy="隐私政策",
        help="帮助中心",
        rights="版权所有",
        address="上海市浦东新区世纪大道100号 邮编：200120",
        phone="400-123-4567",
        date="2024年5月12日",
        amount="¥1,299.00",
    ),
    "ar": dict(
        otp_subject="رمز التحقق الخاص بك من {brand}",
        subject_code="{code} هو رمز التحقق الخاص بك من {brand}",
        greeting="مرحبًا {name}،",
        otp_intro="استخدم الرمز التالي لتأكيد عنوان بريدك الإلكتروني.",
        code_label="رمز التحقق الخاص بك:",
        expiry="تنتهي صلاحية هذا الرمز خلال 10 دقائق.",
        ignore="إذا لم تطلب هذا الرمز، يمكنك تجاهل هذه الرسالة.",
        verify_subject="أكّد عنوان بريدك الإلكتروني",
        verify_intro="شكرًا لتسجيلك في {brand}! يرجى تأكيد بريدك الإلكتروني بالنقر على الزر أدناه.",
        verify_button="تأكيد البريد الإلكتروني",
        fallback="أو انسخ هذا الرابط والصقه في متصفحك:",
        reset_subject="إعادة تعيين كلمة المرور في {brand}",
        reset_intro="تلقينا طلبًا لإعادة تعيين كلمة المرور لحسابك.",
        reset_button="إعادة تعيين كلمة المرور",
        link_expiry="تنتهي صلاحية هذا الرابط خلال 60 دقيقة.",
        login_subject="تسجيل الدخول إلى {brand}",
        login_intro="انقر على الزر أدناه لتسجيل الدخول. يمكن استخدام هذا الرابط مرة واحدة فقط.",
        login_button="تسجيل الدخول",
        unsub="إلغاء الاشتراك",
        privacy="سياسة الخصوصية",
        help="مركز المساعدة",
        rights="جميع الحقوق محفوظة.",
        address="شارع الملك فهد، الرياض 12214، المملكة العربية السعودية",
        phone="+966 11 123 4567",
        date="12 مايو 2024",
        amount="1,299 ر.س",
    ),
}

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EASTERN_ARABIC_INDIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


# ------------------------------------------------------------------------------------------
# Mail model and writer
# ------------------------------------------------------------------------------------------


@dataclass
class Mail:
    name: str
    category: str
    brand: Brand
    subject: str
    text: str | None
    html: str | None
    code: str | None = None
    link: str | None = None
    link_kind: str | None = None
    lang: str = "en"
    charset: str = "utf-8"
    text_cte: str | None = None
    html_cte: str | None = None
    attach: str | None = None  # "pdf" or "inline-logo"
    crlf: bool = False
    headers: dict[str, str] = field(default_factory=dict)


BASE_DATE = datetime(2024, 5, 12, 9, 30, tzinfo=UTC)


def fit_charset(text: str, charset: str) -> str:
    """Swap typographic characters a legacy charset lacks for ASCII, as old mailers do."""
    try:
        text.encode(charset)
        return text
    except UnicodeEncodeError:
        pass
    for old, new in (("©", "(c)"), ("·", "-"), ("—", "-"), ("–", "-"), ("…", "..."), ("’", "'")):
        text = text.replace(old, new)
    text.encode(charset)
    return text


def write(mail: Mail, index: int) -> dict:
    msg = EmailMessage()
    brand = mail.brand
    local = rng.choice(["no-reply", "noreply", "security", "hello", "accounts", "team"])
    msg["From"] = f"{brand.name} <{local}@{brand.domain}>"
    msg["To"] = f"{rng.choice(NAMES).lower()}.{index}@inboxkit.localhost"
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(BASE_DATE + timedelta(minutes=37 * index))
    digest = hashlib.sha1(mail.name.encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<{digest}.{index}@mail.{brand.domain}>"
    if mail.category != "otp" or index % 3 == 0:
        msg["List-Unsubscribe"] = (
            f"<https://{brand.domain}/u/{digest}>, <mailto:unsub@{brand.domain}>"
        )
    msg["X-Mailer"] = rng.choice(["Mailgen 4.2", "PostalMTA", "EmailEngine/2.1", "Sendpipe"])
    for key, value in mail.headers.items():
        msg[key] = value
    if mail.text is not None:
        mail.text = fit_charset(mail.text, mail.charset)
    if mail.html is not None:
        mail.html = fit_charset(mail.html, mail.charset)
    if mail.text_cte == "7bit" and mail.text is not None and not mail.text.isascii():
        mail.text_cte = "8bit"
    if mail.text is not None:
        msg.set_content(mail.text, charset=mail.charset, cte=mail.text_cte)
        if mail.html is not None:
            msg.add_alternative(mail.html, subtype="html", charset=mail.charset, cte=mail.html_cte)
    else:
        msg.set_content(mail.html, subtype="html", charset=mail.charset, cte=mail.html_cte)
    if mail.attach == "pdf":
        msg.add_attachment(
            b"%PDF-1.4\n% fictional receipt\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
            maintype="application",
            subtype="pdf",
            filename="receipt-2024-05.pdf",
        )
    elif mail.attach == "inline-logo" and mail.html is not None:
        html_part = msg.get_body(("html",))
        html_part.add_related(
            bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"),
            maintype="image",
            subtype="png",
            cid=f"<logo.{digest}@{brand.domain}>",
        )
    for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_{digest}_{n}")  # the default boundaries are random
    pol = policy.SMTP if mail.crlf else policy.default
    (HERE / f"{mail.name}.eml").write_bytes(msg.as_bytes(policy=pol))
    return {
        "category": mail.category,
        "code": mail.code,
        "link": mail.link,
        "link_kind": mail.link_kind,
        "lang": mail.lang,
    }


# ------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------


def token(n: int = 32) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def numeric_code(digits: int = 6, leading_zero_ok: bool = True) -> str:
    while True:
        value = "".join(rng.choice("0123456789") for _ in range(digits))
        if not leading_zero_ok and value[0] == "0":
            continue
        if digits == 4 and value[:2] in ("19", "20"):
            continue
        if len(set(value)) < 3:
            continue
        return value


def alnum_code(n: int = 6) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    while True:
        value = "".join(rng.choice(letters + digits) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def tracking(brand: Brand, style: str | None = None) -> str:
    style = style or rng.choice(["ls", "mc", "mandrill", "qs", "ct"])
    if style == "ls":
        return f"https://u{rng.randint(1000000, 9999999)}.ct.sendmail.example.net/ls/click?upn={token(60)}-2B{token(24)}"
    if style == "mc":
        return f"https://{brand.domain.split('.')[0]}.us{rng.randint(1, 20)}.list-manage.example.com/track/click?u={token(24)}&id={token(10)}&e={token(10)}"
    if style == "mandrill":
        return f"https://mandrillapp.example.com/track/click/{rng.randint(10000000, 99999999)}/{brand.domain}?p={token(80)}"
    if style == "qs":
        return f"https://click.e.{brand.domain}/?qs={token(96)}"
    return f"https://links.{brand.domain}/ct/{token(12)}/{token(40)}"


def social_links(brand: Brand) -> list[tuple[str, str, str]]:
    slug = brand.name.lower().replace(" ", "").replace("&", "and")
    return [
        (
            "Facebook",
            f"https://www.facebook.com/{slug}",
            f"https://cdn.{brand.domain}/img/social/facebook.png",
        ),
        ("X", f"https://x.com/{slug}", f"https://cdn.{brand.domain}/img/social/x.png"),
        (
            "Instagram",
            f"https://www.instagram.com/{slug}",
            f"https://cdn.{brand.domain}/img/social/instagram.png",
        ),
        (
            "LinkedIn",
            f"https://www.linkedin.com/company/{slug}",
            f"https://cdn.{brand.domain}/img/social/linkedin.png",
        ),
    ]


def footer_links(brand: Brand, lang: str, tracked: bool = False) -> list[tuple[str, str]]:
    p = LANG[lang]
    return [
        (
            p["unsub"],
            tracking(brand)
            if tracked
            else f"https://{brand.domain}/email/unsubscribe?u={token(20)}",
        ),
        (p["privacy"], f"https://{brand.domain}/legal/privacy"),
        (p["help"], f"https://help.{brand.domain}/hc/{lang}"),
    ]


def address_block(brand: Brand, lang: str) -> list[str]:
    p = LANG[lang]
    if lang == "en":
        return [f"{brand.name}, Inc. · {brand.street} · {brand.city}", brand.phone]
    return [f"{brand.name} · {p['address']}", p["phone"]]


def copyright_line(brand: Brand, lang: str) -> str:
    return f"© {rng.choice([2023, 2024])} {brand.name}. {LANG[lang]['rights']}"


# ------------------------------------------------------------------------------------------
# HTML templates
# ------------------------------------------------------------------------------------------

STYLE_BLOCK = """<style type="text/css">
  body, table, td, a {{ -webkit-text-size-adjust: 100%; -ms-text-size-adjust: 100%; }}
  table, td {{ mso-table-lspace: 0pt; mso-table-rspace: 0pt; }}
  img {{ -ms-interpolation-mode: bicubic; border: 0; outline: none; text-decoration: none; }}
  a[x-apple-data-detectors] {{ color: inherit !important; text-decoration: none !important; }}
  .button-td:hover, .button-a:hover {{ background: {dark} !important; border-color: {dark} !important; }}
  .code {{ color: #111827; background-color: #f3f4f6; }}
  .footer a {{ color: #6b7280 !important; }}
  @media screen and (max-width: 600px) {{
    .container {{ width: 100% !important; }}
    .mobile-pad {{ padding-left: 16px !important; padding-right: 16px !important; }}
    .hide-mobile {{ display: none !important; }}
  }}
</style>"""


def preheader(text: str) -> str:
    pad = "&#847; &zwnj; &nbsp; " * 40
    return (
        '<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;'
        f'max-width:0px;opacity:0;overflow:hidden;mso-hide:all;">{text} {pad}</div>'
    )


def button(url: str, label: str, color: str) -> str:
    return f"""<table role="presentation" cellspacing="0" cellpadding="0" border="0" align="center" style="margin:24px auto;">
  <tr>
    <td class="button-td" style="border-radius:6px;background:{color};text-align:center;">
      <!--[if mso]>
      <v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="{url}" style="height:44px;v-text-anchor:middle;width:240px;" arcsize="14%" stroke="f" fillcolor="{color}">
        <w:anchorlock/><center style="color:#ffffff;font-family:sans-serif;font-size:15px;">{label}</center>
      </v:roundrect>
      <![endif]-->
      <a class="button-a" href="{url}" target="_blank" style="background:{color};border:1px solid {color};font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:15px;text-decoration:none;padding:14px 28px;color:#ffffff;display:inline-block;border-radius:6px;font-weight:bold;">{label}</a>
    </td>
  </tr>
</table>"""


def code_html(code: str, style: str) -> str:
    if style == "big":
        return (
            "<p style=\"font-family:'Courier New',Courier,monospace;font-size:32px;font-weight:700;"
            f'letter-spacing:6px;color:#111827;margin:16px 0;text-align:center;">{code}</p>'
        )
    if style == "cells":
        cells = '<td width="8" style="font-size:0;line-height:0;">&nbsp;</td>'.join(
            '<td align="center" valign="middle" width="44" height="52" style="border:1px solid #d1d5db;'
            "border-radius:6px;font-family:Menlo,Consolas,monospace;font-size:28px;font-weight:bold;"
            f'color:#111827;background-color:#f9fafb;">{d}</td>'
            for d in code
        )
        return (
            '<table role="presentation" cellspacing="0" cellpadding="0" border="0" align="center" '
            f'style="margin:20px auto;"><tr>\n{cells}\n</tr></table>'
        )
    if style == "spans":
        spans = "".join(
            f'<span style="display:inline-block;padding:8px 10px;margin:0 3px;background:#eef2ff;'
            f'border-radius:4px;font-size:26px;font-weight:700;">{d}</span>'
            for d in code
        )
        return f'<div style="text-align:center;margin:20px 0;">{spans}</div>'
    if style == "boxes":
        boxes = "\n".join(
            f'<div style="display: inline-block; width:40px; padding:10px 0; border:2px solid #c7d2fe; '
            f'font-size:24px; text-align:center;">{d}</div>'
            for d in code
        )
        return f'<div style="text-align:center;margin:20px 0;">\n{boxes}\n</div>'
    if style == "zw":
        joined = "&#8203;".join(code)
        return (
            f'<p style="font-size:30px;font-weight:700;letter-spacing:4px;text-align:center;">'
            f"{joined}</p>"
        )
    if style == "halves":
        half = len(code) // 2
        return (
            '<p style="font-size:30px;font-weight:700;text-align:center;">'
            f'<span style="color:#111827">{code[:half]}</span><span style="color:#111827">'
            f"{code[half:]}</span></p>"
        )
    if style == "inline":
        return f"<strong>{code}</strong>"
    raise ValueError(style)


def card_html(
    brand: Brand,
    lang: str,
    *,
    title: str,
    pre: str | None,
    blocks: list[str],
    tracked_footer: bool = False,
    social: bool = True,
    logo_link: str | None = None,
    nav: list[tuple[str, str]] | None = None,
    rtl: bool = False,
) -> str:
    dark = brand.color
    logo_href = logo_link or f"https://{brand.domain}/?utm_source=email&utm_medium=logo"
    nav_html = ""
    if nav:
        nav_html = "".join(
            f'<a href="{u}" style="color:#374151;text-decoration:none;font-size:13px;margin-left:14px;">{t}</a>'
            for t, u in nav
        )
        nav_html = f'<td align="right" class="hide-mobile" style="padding:24px 32px 8px 0;">{nav_html}</td>'
    social_html = ""
    if social:
        social_html = "&nbsp;".join(
            f'<a href="{u}" target="_blank"><img src="{img}" width="24" height="24" alt="{n}" style="display:inline-block;border:0;"></a>'
            for n, u, img in social_links(brand)
        )
        social_html = (
            f'<tr><td align="center" style="padding:8px 0 16px 0;">{social_html}</td></tr>'
        )
    links = " &middot; ".join(
        f'<a href="{u}" style="color:#6b7280;text-decoration:underline;">{t}</a>'
        for t, u in footer_links(brand, lang, tracked_footer)
    )
    addr = "<br>".join(address_block(brand, lang))
    body_rows = "\n".join(
        f'<tr><td class="mobile-pad" style="padding:0 40px 16px 40px;font-family:Helvetica,Arial,sans-serif;'
        f'font-size:15px;line-height:24px;color:#374151;" align="{"right" if rtl else "left"}">{b}</td></tr>'
        for b in blocks
    )
    direction = ' dir="rtl"' if rtl else ""
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="{lang}"{direction}>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="x-apple-disable-message-reformatting">
<title>{title}</title>
<!--[if mso]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
{STYLE_BLOCK.format(dark=dark)}
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;" bgcolor="#f3f4f6">
{preheader(pre) if pre else ""}
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" bgcolor="#f3f4f6">
<tr><td align="center" style="padding:32px 12px;">
<!--[if mso]><table role="presentation" width="600" align="center" cellspacing="0" cellpadding="0" border="0"><tr><td><![endif]-->
<table role="presentation" class="container" width="600" cellspacing="0" cellpadding="0" border="0" style="width:600px;max-width:600px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:24px 40px 8px 40px;" align="{"right" if rtl else "left"}">
<a href="{logo_href}" target="_blank"><img src="https://cdn.{brand.domain}/email/logo@2x.png" width="132" height="32" alt="{brand.name}" style="display:block;border:0;"></a>
</td>{nav_html}</tr>
<tr><td class="mobile-pad" style="padding:16px 40px 8px 40px;font-family:Helvetica,Arial,sans-serif;font-size:22px;line-height:30px;font-weight:700;color:#111827;">{title}</td></tr>
{body_rows}
</table>
<table role="presentation" class="container footer" width="600" cellspacing="0" cellpadding="0" border="0" style="width:600px;max-width:600px;">
{social_html}
<tr><td align="center" style="padding:0 40px 8px 40px;font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#6b7280;">
{addr}<br>{copyright_line(brand, lang)}
</td></tr>
<tr><td align="center" style="padding:0 40px 24px 40px;font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#6b7280;">{links}</td></tr>
</table>
<!--[if mso]></td></tr></table><![endif]-->
</td></tr></table>
<img src="https://open.{brand.domain}/o/{token(24)}.gif" width="1" height="1" alt="" style="display:block;height:1px;width:1px;border:0;">
</body>
</html>
"""


def simple_html(brand: Brand, lang: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    links = " | ".join(f'<a href="{u}">{t}</a>' for t, u in footer_links(brand, lang))
    return f"""<html><head><meta charset="utf-8"><style>p {{ font-family: sans-serif; color: #222; }} a {{ color: {brand.color}; }}</style></head>
<body>
{body}
<hr style="border:none;border-top:1px solid #e5e7eb">
<p style="font-size:12px;color:#888">{"<br>".join(address_block(brand, lang))}<br>{links}</p>
</body></html>
"""


def text_footer(brand: Brand, lang: str) -> str:
    lines = ["", "--", *address_block(brand, lang), copyright_line(brand, lang), ""]
    for label, url in footer_links(brand, lang):
        lines.append(f"{label}: {url}")
    return "\n".join(lines) + "\n"


def wrap(text: str, width: int = 72) -> str:
    out = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Flows
# ------------------------------------------------------------------------------------------

EN_OTP_VARIANTS = [
    dict(
        subject="Your {brand} verification code",
        intro="Use the code below to verify your email address.",
        label="Your verification code:",
        outro="This code expires in 10 minutes.",
    ),
    dict(
        subject="{brand} sign-in code",
        intro="We received a request to sign in to your {brand} account from Chrome 124.0 on macOS 14.4.",
        label="Enter this code to finish signing in:",
        outro="The code is valid for 15 minutes and can be used once.",
    ),
    dict(
        subject="Confirm it's you",
        intro="To keep your account safe, we need to confirm it's really you signing in.",
        label="Your one-time passcode is",
        outro="It will expire in 5 minutes. Never share this passcode with anyone.",
    ),
    dict(
        subject="Your {brand} security code",
        intro="Someone (hopefully you) is trying to sign in to {brand}.",
        label="Security code",
        outro="Requested on May 12, 2024 at 10:32 AM UTC from 203.0.113.42 (Denver, CO).",
    ),
    dict(
        subject="Verify your new {brand} account",
        intro="Welcome aboard! Enter the following code in the app to activate your account.",
        label="Activation code:",
        outro="Codes expire after 30 minutes. Need a new one? Request it from the sign-up screen.",
    ),
    dict(
        subject="{brand}: confirm your login",
        intro="A new device is trying to access your account.",
        label="Login code",
        outro="Device: iPhone 15 Pro · iOS 17.4.1 · Safari",
    ),
    dict(
        subject="Your {brand} one-time password",
        intro="You asked for a one-time password to complete your payment of $249.00.",
        label="One-time password (OTP):",
        outro="Do not share this OTP. {brand} staff will never ask for it.",
    ),
    dict(
        subject="Two-factor authentication code",
        intro="Here is the two-factor authentication code you requested.",
        label="2FA code:",
        outro="If you did not try to sign in, change your password immediately.",
    ),
]


def en_otp(brand: Brand, i: int, code: str, code_style: str, fmt: str) -> Mail:
    v = EN_OTP_VARIANTS[i % len(EN_OTP_VARIANTS)]
    name = rng.choice(NAMES)
    subject = v["subject"].format(brand=brand.name)
    intro = v["intro"].format(brand=brand.name)
    outro = v["outro"].format(brand=brand.name)
    ignore = LANG["en"]["ignore"]
    display = code
    html = card_html(
        brand,
        "en",
        title=subject,
        pre=f"{v['label'].rstrip(':')} {code}",
        blocks=[
            f"Hi {name},",
            intro,
            f'<p style="margin:0;">{v["label"]}</p>' + code_html(display, code_style),
            outro,
            ignore,
            f"Thanks,<br>The {brand.name} team",
        ],
    )
    text = wrap(
        f"Hi {name},\n\n{intro}\n\n{v['label']}\n\n    {code}\n\n{outro}\n\n{ignore}\n\nThanks,\nThe {brand.name} team\n"
    ) + text_footer(brand, "en")
    return Mail(
        "",
        "otp",
        brand,
        subject,
        text if fmt != "html" else None,
        html if fmt != "text" else None,
        code=code,
    )


def lang_otp(
    brand: Brand, lang: str, code: str, *, digits=None, code_style="cells", fmt="multi"
) -> Mail:
    p = LANG[lang]
    name = rng.choice(NAMES)
    shown = code.translate(digits) if digits else code
    subject = p["otp_subject"].format(brand=brand.name)
    rtl = lang == "ar"
    html = card_html(
        brand,
        lang,
        title=subject,
        pre=None,
        rtl=rtl,
        blocks=[
            p["greeting"].format(name=name),
            p["otp_intro"],
            f'<p style="margin:0;">{p["code_label"]}</p>' + code_html(shown, code_style),
            p["expiry"],
            p["ignore"],
            brand.name,
        ],
    )
    text = (
        f"{p['greeting'].format(name=name)}\n\n{p['otp_intro']}\n\n{p['code_label']} {shown}\n\n"
        f"{p['expiry']}\n{p['ignore']}\n\n{brand.name}\n" + text_footer(brand, lang)
    )
    return Mail(
        "",
        f"i18n_{lang}",
        brand,
        subject,
        text if fmt != "html" else None,
        html if fmt != "text" else None,
        code=code,
        lang=lang,
    )


def lang_link(brand: Brand, lang: str, kind: str, *, fmt="multi", tracked=False) -> Mail:
    p = LANG[lang]
    name = rng.choice(NAMES)
    key = {"verify": "verify", "reset": "reset", "login": "login"}[kind]
    path = {"verify": "account/verify-email", "reset": "password/reset", "login": "auth/magic"}[
        kind
    ]
    direct = f"https://{brand.domain}/{path}?token={token(40)}"
    url = tracking(brand) if tracked else direct
    subject = p[f"{key}_subject"].format(brand=brand.name)
    intro = p[f"{key}_intro"].format(brand=brand.name)
    btn = p[f"{key}_button"].format(brand=brand.name)
    expiry = p["link_expiry"]
    html = card_html(
        brand,
        lang,
        title=subject,
        pre=intro[:60],
        rtl=lang == "ar",
        blocks=[
            p["greeting"].format(name=name),
            intro,
            button(url, btn, brand.color),
            f'{p["fallback"]}<br><a href="{url}" style="color:{brand.color};word-break:break-all;">{direct}</a>',
            expiry,
            p["ignore"] if kind != "verify" else brand.name,
        ],
    )
    text = (
        f"{p['greeting'].format(name=name)}\n\n{intro}\n\n{btn}:\n{url}\n\n{expiry}\n\n"
        + text_footer(brand, lang)
    )
    return Mail(
        "",
        f"i18n_{lang}",
        brand,
        subject,
        text if fmt != "html" else None,
        html if fmt != "text" else None,
        link=url,
        link_kind=kind,
        lang=lang,
    )


def en_link(
    brand: Brand,
    kind: str,
    i: int,
    *,
    fmt="multi",
    tracked=False,
    with_nav=False,
    with_code: str | None = None,
) -> Mail:
    name = rng.choice(NAMES)
    variants = {
        "verify": [
            (
                "Confirm your email address",
                "Thanks for signing up for {brand}! Please confirm your email address to activate your account.",
                "Confirm email address",
            ),
            (
                "Verify your email for {brand}",
                "You're almost there. Verify your email address so we know it's really you.",
                "Verify my email",
            ),
            (
                "Please activate your {brand} account",
                "Your account has been created. Activate it by clicking the button below within 48 hours.",
                "Activate account",
            ),
            (
                "Confirm your subscription",
                "You asked to receive the {brand} weekly digest. Please confirm your subscription.",
                "Yes, subscribe me",
            ),
            (
                "Action required: verify your email",
                "Before you can start using {brand}, we need to verify your email address.",
                "Verify email",
            ),
        ],
        "reset": [
            (
                "Reset your {brand} password",
                "We received a request to reset the password for your {brand} account.",
                "Reset password",
            ),
            (
                "Password reset request",
                "Someone asked to reset the password for this account. If it was you, choose a new password below.",
                "Choose a new password",
            ),
            (
                "Your {brand} password reset link",
                "Forgot your password? No problem. Use the button below to set a new one.",
                "Set new password",
            ),
        ],
        "login": [
            (
                "Your {brand} sign-in link",
                "Click the button below to sign in to {brand}. This magic link expires in 15 minutes.",
                "Sign in to {brand}",
            ),
            (
                "Log in to {brand}",
                "Here's the login link you requested. It can be used once.",
                "Log in now",
            ),
            (
                "Magic link for {brand}",
                "Use this magic link to sign in without a password.",
                "Sign in",
            ),
        ],
    }[kind]
    subject, intro, btn = variants[i % len(variants)]
    subject, intro, btn = (s.format(brand=brand.name) for s in (subject, intro, btn))
    path = {"verify": "account/verify-email", "reset": "password/reset", "login": "auth/magic"}[
        kind
    ]
    direct = f"https://app.{brand.domain}/{path}?token={token(40)}&uid={rng.randint(10000, 99999)}"
    url = tracking(brand) if tracked else direct
    nav = None
    if with_nav:
        nav = [
            ("Log in", f"https://app.{brand.domain}/login"),
            ("Help", f"https://help.{brand.domain}/"),
        ]
    blocks = [f"Hi {name},", intro]
    if with_code:
        blocks.append(f"Your sign-in code is {code_html(with_code, 'inline')}, or use the button:")
    blocks += [
        button(url, btn, brand.color),
        f'Button not working? Paste this link into your browser:<br><a href="{url}" style="color:{brand.color};word-break:break-all;">{direct}</a>',
        "If you didn't request this, you can ignore this email."
        if kind != "verify"
        else f"Welcome to {brand.name}!",
    ]
    html = card_html(
        brand, "en", title=subject, pre=intro, blocks=blocks, nav=nav, tracked_footer=tracked
    )
    code_line = f"Your sign-in code is {with_code}.\n\n" if with_code else ""
    text = (
        f"Hi {name},\n\n{wrap(intro)}\n\n{code_line}{btn}:\n{url}\n\n"
        "If you didn't request this, you can ignore this email.\n" + text_footer(brand, "en")
    )
    category = {"verify": "verify_link", "reset": "reset_link", "login": "magic_link"}[kind]
    if with_code:
        category = "code_and_link"
    if tracked:
        category = "tracking"
    return Mail(
        "",
        category,
        brand,
        subject,
        text if fmt != "html" else None,
        html if fmt != "text" else None,
        code=with_code,
        link=url,
        link_kind=kind,
    )


# ------------------------------------------------------------------------------------------
# The corpus
# ------------------------------------------------------------------------------------------


def build() -> list[Mail]:
    mails: list[Mail] = []

    def add(mail: Mail, name: str) -> None:
        mail.name = name
        mails.append(mail)

    brands = BRANDS

    # English OTP mails in several layouts and MIME shapes.
    styles = ["big", "cells", "spans", "boxes", "halves", "big", "cells", "big"]
    fmts = ["multi", "html", "multi", "html", "multi", "text", "multi", "html"]
    ctes = [None, "quoted-printable", "base64", None, "quoted-printable", "base64", None, "8bit"]
    for i in range(16):
        code = numeric_code(6) if i % 5 else numeric_code(rng.choice([4, 8]))
        m = en_otp(brands[i % len(brands)], i, code, styles[i % 8], fmts[i % 8])
        m.html_cte = ctes[i % 8]
        m.text_cte = ctes[(i + 3) % 8]
        if i % 4 == 1:
            m.attach = "inline-logo"
        m.crlf = i % 5 == 2
        add(m, f"otp_en_{i:02d}")

    # Grouped and spread codes.
    grouped = [
        ("123 456 style", lambda c: f"{c[:3]} {c[3:]}", "big"),
        ("123-456 style", lambda c: f"{c[:3]}-{c[3:]}", "big"),
        ("spaced digits", lambda c: " ".join(c), "big"),
        ("four-four", lambda c: f"{c[:4]} {c[4:]}", "big"),
        ("two-two-two", lambda c: f"{c[:2]} {c[2:4]} {c[4:]}", "big"),
        ("nbsp", lambda c: f"{c[:3]}&nbsp;{c[3:]}", "big"),
        ("en dash", lambda c: f"{c[:3]}&ndash;{c[3:]}", "big"),
    ]
    for i, (_, shape, style) in enumerate(grouped):
        brand = brands[(i + 3) % len(brands)]
        code = numeric_code(8 if "four" in _ else 6)
        shown = shape(code)
        name = rng.choice(NAMES)
        subject = f"Your {brand.name} code"
        html = card_html(
            brand,
            "en",
            title="Verify it's you",
            pre="Your code is inside",
            blocks=[
                f"Hi {name},",
                "Enter this verification code to continue:",
                code_html(shown, style),
                "It expires in 10 minutes. Order #A-20931 is unaffected.",
                LANG["en"]["ignore"],
            ],
        )
        text_shown = shown.replace("&nbsp;", " ").replace("&ndash;", "–")
        text = (
            f"Hi {name},\n\nEnter this verification code to continue:\n\n{text_shown}\n\nIt expires in 10 minutes.\n"
            + text_footer(brand, "en")
        )
        add(
            Mail(
                "",
                "otp_grouped",
                brand,
                subject,
                text if i % 2 else None,
                html,
                code=code,
                html_cte="quoted-printable",
            ),
            f"grouped_{i:02d}",
        )
    for i, style in enumerate(["cells", "spans", "boxes", "cells", "spans"]):
        brand = brands[(i + 7) % len(brands)]
        code = numeric_code(6 if i != 3 else 4)
        html = card_html(
            brand,
            "en",
            title="Your login code",
            pre=None,
            blocks=[
                "Use this code to log in:",
                code_html(code, style),
                "Valid for 10 minutes · Request ID 88217",
            ],
        )
        add(
            Mail(
                "",
                "otp_grouped",
                brand,
                f"{brand.name} login code",
                None,
                html,
                code=code,
                html_cte=["base64", "quoted-printable"][i % 2],
            ),
            f"grouped_cells_{i:02d}",
        )

    # Alphanumeric codes.
    alnum_shapes = [
        lambda: alnum_code(6),
        lambda: f"{alnum_code(3)}-{alnum_code(3)}",
        lambda: alnum_code(8),
        lambda: f"{alnum_code(4)}-{alnum_code(4)}",
        lambda: alnum_code(5),
        lambda: f"{alnum_code(3)}-{numeric_code(3)}",
    ]
    for i, make in enumerate(alnum_shapes * 2):
        brand = brands[(i + 2) % len(brands)]
        code = make()
        subject = rng.choice(
            [
                f"Your {brand.name} verification code",
                f"{brand.name} security code",
                "Confirm your sign-in",
            ]
        )
        html = card_html(
            brand,
            "en",
            title="Here's your code",
            pre=None,
            blocks=[
                "Copy and paste this code into the sign-in window:",
                code_html(code, "big"),
                "Codes are case-sensitive and expire in 20 minutes.",
                "Reference: support ticket TK-44810 is still open.",
            ],
        )
        text = (
            f"Copy and paste this code into the sign-in window:\n\n{code}\n\nCodes are case-sensitive and expire in 20 minutes.\n"
            + text_footer(brand, "en")
        )
        fmt = i % 3
        add(
            Mail(
                "",
                "otp_alnum",
                brand,
                subject,
                text if fmt != 1 else None,
                html if fmt != 2 else None,
                code=code,
                text_cte="quoted-printable" if fmt == 2 else None,
            ),
            f"alnum_{i:02d}",
        )

    # Code in the subject.
    subject_shapes = [
        "{code} is your {brand} verification code",
        "Your {brand} code: {code}",
        "[{brand}] {code} — your sign-in code",
        "{code} is your login code",
        "G-{code} is your {brand} verification code",
        "{brand}: use {code} to confirm your email",
    ]
    for i, shape in enumerate(subject_shapes * 2):
        brand = brands[(i + 5) % len(brands)]
        code = numeric_code(6)
        subject = shape.format(code=code, brand=brand.name)
        if i < 6:
            body = (
                f"Hi,\n\nYour verification code is {code}. It expires in 10 minutes.\n\nCall {brand.phone} if you need help.\n"
                + text_footer(brand, "en")
            )
        else:
            body = (
                f"Hi,\n\nUse the code in the subject line to continue.\n\nNeed help? Call {brand.phone}.\n"
                + text_footer(brand, "en")
            )
        add(
            Mail(
                "",
                "otp_subject",
                brand,
                subject,
                body,
                None,
                code=code,
                text_cte=["7bit", "quoted-printable", "base64"][i % 3],
            ),
            f"subject_{i:02d}",
        )

    # Links: verify, reset, magic login; tracking redirects; code and link together.
    for i in range(10):
        m = en_link(
            brands[i % len(brands)],
            "verify",
            i,
            fmt=["multi", "html", "text"][i % 3],
            with_nav=i % 4 == 3,
        )
        m.html_cte = ["quoted-printable", "base64", None][i % 3]
        add(m, f"verify_{i:02d}")
    for i in range(8):
        m = en_link(
            brands[(i + 4) % len(brands)],
            "reset",
            i,
            fmt=["multi", "html", "text"][i % 3],
            with_nav=i % 3 == 1,
        )
        m.html_cte = ["base64", "quoted-printable", None][i % 3]
        add(m, f"reset_{i:02d}")
    for i in range(8):
        m = en_link(
            brands[(i + 9) % len(brands)],
            "login",
            i,
            fmt=["multi", "html", "text"][i % 3],
            with_nav=i % 3 == 2,
        )
        add(m, f"magic_{i:02d}")
    for i in range(8):
        kind = ["verify", "login", "reset"][i % 3]
        m = en_link(
            brands[(i + 2) % len(brands)], kind, i, fmt=["multi", "html"][i % 2], tracked=True
        )
        m.html_cte = "quoted-printable"
        add(m, f"tracking_{i:02d}")
    for i in range(6):
        code = numeric_code(6)
        m = en_link(
            brands[(i + 11) % len(brands)], "login", i, fmt=["multi", "html"][i % 2], with_code=code
        )
        add(m, f"code_link_{i:02d}")

    mails.extend(hard_cases())
    mails.extend(wrapped_cases())
    mails.extend(i18n_cases())
    mails.extend(non_verification())
    mails.extend(real_world())  # last, so that the files above never change with it
    return mails


def real_world() -> list[Mail]:
    """The hard classes of `real_world.py`, written with their own random generator."""
    from real_world import cases  # beside this script, which is run as a program

    return [
        Mail(c.name, c.category, Brand(c.brand, c.domain, "#111827", "", "", ""), c.subject,
             c.text, c.html, c.code, c.link, c.link_kind, lang=c.lang)
        for c in cases()
    ]  # fmt: skip


def hard_cases() -> list[Mail]:
    out: list[Mail] = []
    b = BRANDS

    def mk(name: str, **kw) -> None:
        m = Mail(name=name, **kw)
        out.append(m)

    # Distractor-heavy OTP mails.
    code = numeric_code(6)
    mk(
        "distract_receipt_otp",
        category="distractors",
        brand=b[6],
        subject="Confirm your payment of $1,249.00",
        text=wrap(
            f"Hi Jamie,\n\nYou are paying $1,249.00 to Ridgeline Outdoor (order #40417782) on May 12, 2024 at 10:45.\n\nTo approve this payment, enter the security code {code} in the Lumen Pay app.\n\nThe code expires in 5 minutes. Card ending in 4821. Questions? Call 1-800-555-0142 (Mon–Fri 9:00–17:00).\n"
        )
        + text_footer(b[6], "en"),
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_address_otp",
        category="distractors",
        brand=b[0],
        subject="Northwind verification",
        text=None,
        html=card_html(
            b[0],
            "en",
            title="Verify your identity",
            pre=None,
            blocks=[
                "Ship-to address on file: 2750 Mission Street, San Francisco, CA 94110.",
                "Customer ID: 5582013",
                f"Your verification code: <b>{code}</b>",
                "Valid until 2024-05-12 18:30 UTC.",
            ],
        ),
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_phone_otp",
        category="distractors",
        brand=b[3],
        subject="Tandem Bank: your code",
        text=f"Tandem Bank\n\nYour one-time code is {code}.\n\nWe will never call you to ask for this code. If someone does, hang up and call us on +1 212 555 0163 or 0800 555 0110.\n\nTandem Bank N.A., Member FDIC. Routing 021000089.\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_year_otp",
        category="distractors",
        brand=b[5],
        subject="Pixelforge account security",
        text=None,
        html=simple_html(
            b[5],
            "en",
            [
                "Since 2015, Pixelforge has protected creators like you.",
                f'Enter <span style="font-family:monospace;font-size:20px">{code}</span> to finish signing in.',
                "© 2024 Pixelforge Ltd. Registered in England and Wales, No. 09876543.",
            ],
        ),
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_css_otp",
        category="distractors",
        brand=b[4],
        subject="Your Orbital Notes code",
        text=f"Orbital Notes\n\nBrand colours: #ff5733 and #1a2b3c (ignore).\nTheme: A1B2C3\n\nYour verification code is {code}.\n",
        html=f"""<html><head><style>.x{{color:#FF5733;background:#1A2B3C}} .c123456{{font-size:12px}}</style></head>
<body bgcolor="#ABCDEF"><table><tr><td style="color:#123456;border:1px solid #654321" class="c654321">Your verification code is</td></tr>
<tr><td style="font-size:28px;color:#0F0F0F">{code}</td></tr><tr><td>
<a href="https://orbitalnotes.test/app?ref=email&amp;build=20240512&amp;v=889911"><img src="https://cdn.orbitalnotes.test/banner-1200x628.png" alt="Open Orbital Notes"></a></td></tr></table></body></html>""",
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_url_numbers",
        category="distractors",
        brand=b[9],
        subject="Nimbus Drive: confirm sign-in",
        text=f"Hi,\n\nSee activity: https://nimbusdrive.test/activity/4829135?session=772233\n\nYour sign-in code: {code}\n\nManage devices at https://nimbusdrive.test/settings/devices/99887766\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_expiry_first",
        category="distractors",
        brand=b[2],
        subject="Quillfeather login",
        text=f"This code will expire in 1440 minutes (24 hours).\n\nCode: {code}\n\nRequested from 198.51.100.23 at 10:32 UTC.\n",
        html=None,
        code=code,
    )
    code = numeric_code(4)
    mk(
        "distract_four_digit",
        category="distractors",
        brand=b[13],
        subject="Bluefin Mobile PIN",
        text=f"Your Bluefin Mobile PIN is {code}.\n\nYour plan renews on 12/05/2024 for £25.00. Account 7788 1234 5678.\nStore: 18 Tidewater Plaza, Miami, FL 33131.\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_security_alert",
        category="distractors",
        brand=b[10],
        subject="Copperleaf sign-in attempt",
        text=None,
        html=card_html(
            b[10],
            "en",
            title="New sign-in attempt",
            pre=None,
            blocks=[
                "We noticed a sign-in attempt from Firefox 125 on Windows 11 near Chicago, IL 60607.",
                f'If this was you, enter this code: <strong style="font-size:22px">{code}</strong>',
                f'If this wasn\'t you, <a href="https://copperleaf.example/account/password/reset?token={token(30)}">reset your password</a> right away.',
            ],
        ),
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_promo_and_code",
        category="distractors",
        brand=b[12],
        subject="Verify your Verdant Grocers account",
        text=f"Welcome to Verdant Grocers!\n\nYour verification code: {code}\n\nAs a thank you, use code FRESH25 for 25% off your first order over $50.\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_ticket_otp",
        category="distractors",
        brand=b[11],
        subject="Sprocket CI: confirm your email",
        text=f"Ticket #88213: Email change requested.\n\nConfirmation code:\n{code}\n\nBuild 4471 passed on main (commit 9f3e2a1).\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "distract_table_receipt_otp",
        category="distractors",
        brand=b[16],
        subject="Approve your Harbor & Finch transfer",
        text=None,
        html=f"""<html><body><table border="1" cellpadding="4">
<tr><th>Amount</th><td>$2,500.00</td></tr><tr><th>To account</th><td>**** 4410</td></tr>
<tr><th>Reference</th><td>558821</td></tr><tr><th>Date</th><td>05/12/2024</td></tr>
<tr><th>Verification code</th><td><b>{code}</b></td></tr></table>
<p>Harbor &amp; Finch, 14 Quay Street, Baltimore, MD 21202 · 410-555-0173</p></body></html>""",
        code=code,
    )

    # Invisible characters and preheaders.
    code = numeric_code(6)
    zw = "\u200b".join(code)
    mk(
        "invisible_zwsp_text",
        category="invisible",
        brand=b[1],
        subject="Brightwave code",
        text=f"Your Brightwave verification code is {zw}.\n",
        html=None,
        code=code,
    )
    code = numeric_code(6)
    mk(
        "invisible_soft_hyphen",
        category="invisible",
        brand=b[7],
        subject="Kestrel Air login code",
        text=None,
        html=f"<p>Your log&shy;in code is <b>{code[:3]}&shy;{code[3:]}</b>.</p><p>Flight KA 2291 departs 14:35.</p>",
        code=code,
    )
    code = numeric_code(6)
    mk(
        "invisible_zwj_html",
        category="invisible",
        brand=b[14],
        subject="Fable Books: confirm your email",
        text=None,
        html=f"<div>Confirmation code: <span>{'&zwj;'.join(code)}</span></div><div>Thanks for joining Fable Books!</div>",
        code=code,
    )
    code = numeric_code(6)
    mk(
        "invisible_preheader_dup",
        category="invisible",
        brand=b[15],
        subject="Cinder Games security code",
        text=None,
        html=card_html(
            b[15],
            "en",
            title="Security code",
            pre=f"Your security code is {code}",
            blocks=[
                "Use the security code below to link your console:",
                code_html(code, "big"),
                "Expires in 10 minutes.",
            ],
        ),
        code=code,
    )
    code = numeric_code(6)
    other = numeric_code(6)
    mk(
        "invisible_hidden_decoy",
        category="invisible",
        brand=b[8],
        subject="Mosaic Learning verification",
        text=None,
        html=f"""<html><body><span class="preheader" style="display:none !important;">Old code {other}</span>
<div style="max-height:0;overflow:hidden;mso-hide:all">code {other}</div>
<p>Your verification code is <strong>{code}</strong></p></body></html>""",
        code=code,
    )
    code = numeric_code(6)
    mk(
        "invisible_bidi_marks",
        category="invisible",
        brand=b[17],
        subject="Driftwood Travel code",
        text=f"Your Driftwood Travel code: \u200e{code[:3]}\u2060{code[3:]}\u200f\n\n\ufeffBooking reference: DWX7Q2\n",
        html=None,
        code=code,
    )

    # Security notice: code with a "not you" reset link that must not be chosen first.
    code = numeric_code(6)
    mk(
        "notme_reset_link",
        category="distractors",
        brand=b[3],
        subject="Your Tandem Bank sign-in code",
        text=f"Your sign-in code is {code}.\n\nDidn't request this? Reset your password: https://tandembank.example/security/reset?t={token(24)}\n",
        html=None,
        code=code,
    )
    return out


def wrapped_cases() -> list[Mail]:
    out: list[Mail] = []
    b = BRANDS
    t = token(48)
    url = f"https://app.quillfeather.example.net/account/confirm?token={t}&source=signup"
    mk_text = (
        f"Hi Priya,\n\nPlease confirm your email address by visiting the link below:\n\n"
        f"{url[:58]}\n{url[58:]}\n\nThanks,\nQuillfeather\n"
    )
    out.append(
        Mail(
            "wrapped_split_token",
            "wrapped",
            b[2],
            "Confirm your email address",
            mk_text,
            None,
            link=url,
            link_kind="verify",
        )
    )
    url = f"https://nimbusdrive.test/auth/magic?t={token(30)}{rng.randint(100, 999)}"
    out.append(
        Mail(
            "wrapped_angle_brackets",
            "wrapped",
            b[9],
            "Sign in to Nimbus Drive",
            f"Sign in with this link:\n<{url[:40]}\n{url[40:]}>\n\nThe link expires in 15 minutes.\n",
            None,
            link=url,
            link_kind="login",
        )
    )
    url = f"https://lumenpay.example/password/reset?token={token(60)}"
    line = f"To reset your password, open: {url}"
    out.append(
        Mail(
            "wrapped_long_line",
            "wrapped",
            b[6],
            "Reset your Lumen Pay password",
            f"Hi,\n\n{line[:76]}\n{line[76:]}\n\nIf you didn't ask for this, ignore this email.\n",
            None,
            link=url,
            link_kind="reset",
        )
    )
    url = f"https://app.sprocketci.example.org/verify?t=abc{rng.randint(1000, 9999)}"
    out.append(
        Mail(
            "wrapped_short_digits",
            "wrapped",
            b[11],
            "Verify your Sprocket CI email",
            f"Click to verify your email: {url[:-4]}\n{url[-4:]}\n\nThanks,\nSprocket CI\n",
            None,
            link=url,
            link_kind="verify",
        )
    )
    url = f"https://fablebooks.example.net/signin/magic?code={token(20)}&redirect=%2Flibrary"
    out.append(
        Mail(
            "wrapped_qp_text",
            "wrapped",
            b[14],
            "Your Fable Books sign-in link",
            f"Here is your sign-in link (valid for 20 minutes):\n\n{url}\n\nHappy reading!\n"
            + text_footer(b[14], "en"),
            None,
            link=url,
            link_kind="login",
            text_cte="quoted-printable",
        )
    )
    url = f"https://mosaiclearning.example.net/account/verify-email/{token(40)}"
    out.append(
        Mail(
            "wrapped_paren",
            "wrapped",
            b[8],
            "Verify your Mosaic Learning account",
            f"Welcome! Verify your email address (link: {url}).\nQuestions? Write to help@mosaiclearning.example.net.\n",
            None,
            link=url,
            link_kind="verify",
        )
    )
    url = f"https://copperleaf.example/reset-password?token={token(30)}&amp_ref=email"
    out.append(
        Mail(
            "wrapped_crlf",
            "wrapped",
            b[10],
            "Reset your Copperleaf password",
            f"Reset your password using the link below:\r\n{url[:50]}\r\n{url[50:]}\r\n\r\nCopperleaf Support\r\n",
            None,
            link=url,
            link_kind="reset",
            crlf=True,
        )
    )
    url = f"https://cindergames.test/login/email-link?token={token(36)}"
    out.append(
        Mail(
            "wrapped_markdown",
            "wrapped",
            b[15],
            "Log in to Cinder Games",
            f"**Log in to Cinder Games**\n\n[Log in]({url})\n\nThis link expires in 10 minutes.\n",
            None,
            link=url,
            link_kind="login",
        )
    )
    return out


def i18n_cases() -> list[Mail]:
    out: list[Mail] = []
    langs = ["es", "pt", "fr", "de", "it", "nl", "pl", "tr", "ru", "ja", "zh", "ar"]
    charsets = {
        "es": "iso-8859-1",
        "pt": "iso-8859-1",
        "fr": "iso-8859-15",
        "de": "iso-8859-15",
        "it": "iso-8859-1",
        "nl": "iso-8859-1",
        "pl": "iso-8859-2",
        "tr": "iso-8859-9",
        "ru": "koi8-r",
        "ja": "iso-2022-jp",
        "zh": "gb2312",
        "ar": "windows-1256",
    }
    for li, lang in enumerate(langs):
        brand = BRANDS[li % len(BRANDS)]
        p = LANG[lang]
        # 1. OTP in a table layout, multipart, UTF-8 quoted-printable.
        code = numeric_code(6)
        m = lang_otp(brand, lang, code, code_style="cells", fmt="multi")
        m.html_cte = "quoted-printable"
        m.name = f"i18n_{lang}_otp_cells"
        out.append(m)
        # 2. OTP text-only in a legacy charset.
        code = numeric_code(6)
        m = lang_otp(BRANDS[(li + 3) % len(BRANDS)], lang, code, fmt="text")
        m.charset = charsets[lang]
        if lang == "pl":
            m.text = m.text.replace("·", "-")
        m.text_cte = "base64" if lang in ("ru", "zh", "ar") else None
        m.name = f"i18n_{lang}_otp_text"
        out.append(m)
        # 3. Code in the subject.
        code = numeric_code(6)
        brand3 = BRANDS[(li + 6) % len(BRANDS)]
        subject = p["subject_code"].format(code=code, brand=brand3.name)
        body = (
            f"{p['greeting'].format(name='Alex')}\n\n{p['code_label']} {code}\n\n{p['expiry']}\n"
            + text_footer(brand3, lang)
        )
        out.append(
            Mail(
                f"i18n_{lang}_subject",
                f"i18n_{lang}",
                brand3,
                subject,
                body,
                None,
                code=code,
                lang=lang,
                text_cte="quoted-printable",
            )
        )
        # 4-6. Verify, reset and login links.
        for kind, fmt in (("verify", "multi"), ("reset", "html"), ("login", "multi")):
            m = lang_link(
                BRANDS[(li + 9) % len(BRANDS)],
                lang,
                kind,
                fmt=fmt,
                tracked=kind == "login" and li % 2 == 0,
            )
            m.html_cte = "base64" if kind == "reset" else "quoted-printable"
            m.name = f"i18n_{lang}_{kind}"
            out.append(m)
    # Script-specific digits and spacing.
    extra = [
        ("ar", ARABIC_INDIC, "big", "i18n_ar_otp_arabic_indic"),
        ("ar", EASTERN_ARABIC_INDIC, "big", "i18n_ar_otp_eastern_digits"),
        ("ar", ARABIC_INDIC, "cells", "i18n_ar_otp_cells_indic"),
        ("ja", FULLWIDTH, "big", "i18n_ja_otp_fullwidth"),
        ("zh", FULLWIDTH, "big", "i18n_zh_otp_fullwidth"),
        ("ru", None, "halves", "i18n_ru_otp_halves"),
        ("de", None, "spans", "i18n_de_otp_spans"),
        ("fr", None, "boxes", "i18n_fr_otp_boxes"),
        ("es", None, "big", "i18n_es_otp_big"),
        ("tr", None, "big", "i18n_tr_otp_big"),
    ]
    for i, (lang, digits, style, name) in enumerate(extra):
        code = numeric_code(6)
        m = lang_otp(
            BRANDS[(i + 2) % len(BRANDS)],
            lang,
            code,
            digits=digits,
            code_style=style,
            fmt="multi" if i % 2 else "html",
        )
        m.html_cte = "base64"
        m.name = name
        out.append(m)
    # Grouped codes with local formatting.
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_fr_grouped_spaces",
            "i18n_fr",
            BRANDS[4],
            "Votre code de connexion",
            f"Bonjour,\n\nVotre code de connexion : {code[:3]} {code[3:]}\n\nIl expire dans 10 minutes.\n12 rue de la Paix, 75002 Paris · +33 1 23 45 67 89\n",
            None,
            code=code,
            lang="fr",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_de_tan",
            "i18n_de",
            BRANDS[3],
            "Ihre TAN für die Überweisung",
            f"Guten Tag,\n\nIhre TAN für die Überweisung über 1.250,00 € an DE89 3704 0044 0532 0130 00 lautet: {code}\n\nDie TAN ist 5 Minuten gültig.\n",
            None,
            code=code,
            lang="de",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_ru_after_label",
            "i18n_ru",
            BRANDS[6],
            "Вход в Lumen Pay",
            f"{code} — код для входа в Lumen Pay. Никому его не сообщайте.\n\nЗаказ № 558812 от 12.05.2024 на сумму 12 990 ₽.\n",
            None,
            code=code,
            lang="ru",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_zh_sms_style",
            "i18n_zh",
            BRANDS[7],
            "Kestrel Air 安全验证",
            f"【Kestrel Air】验证码{code}，用于登录验证，5分钟内有效。订单号：20240512889 客服电话：400-123-4567\n",
            None,
            code=code,
            lang="zh",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_ja_inline",
            "i18n_ja",
            BRANDS[8],
            "【Mosaic Learning】ワンタイムパスワード",
            f"Mosaic Learningをご利用いただきありがとうございます。\nワンタイムパスワードは{code}です。\n有効期限：2024年5月12日 10:45まで\nお問い合わせ番号：A-558812\n",
            None,
            code=code,
            lang="ja",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_pt_whatsapp_style",
            "i18n_pt",
            BRANDS[9],
            "Código Nimbus Drive",
            f"Seu código Nimbus Drive é {code[:3]}-{code[3:]}. Não compartilhe com ninguém.\n\nAtendimento: (11) 3456-7890 · CEP 01310-200\n",
            None,
            code=code,
            lang="pt",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_it_codice",
            "i18n_it",
            BRANDS[10],
            "Accesso a Copperleaf",
            f"Ciao,\n\ninserisci il codice {code} per completare l'accesso.\nOrdine n. 77812 del 12/05/2024.\n",
            None,
            code=code,
            lang="it",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_nl_inlogcode",
            "i18n_nl",
            BRANDS[11],
            "Je inlogcode",
            f"Hoi,\n\nJe inlogcode is {code}.\n\nBestelnummer 1029384 wordt morgen bezorgd.\n",
            None,
            code=code,
            lang="nl",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_pl_sms",
            "i18n_pl",
            BRANDS[12],
            "Kod logowania",
            f"Kod SMS do logowania: {code}. Nie podawaj go nikomu.\nZamówienie nr 4471822, kwota 1 299,00 zł.\n",
            None,
            code=code,
            lang="pl",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_tr_sms",
            "i18n_tr",
            BRANDS[13],
            "Giriş kodu",
            f"Giriş kodunuz: {code}. Bu kodu kimseyle paylaşmayın.\nSipariş No: 8812204 - Tutar: 1.299,00 TL\n",
            None,
            code=code,
            lang="tr",
        )
    )
    code = numeric_code(6)
    out.append(
        Mail(
            "i18n_ar_sms_style",
            "i18n_ar",
            BRANDS[14],
            "رمز الدخول",
            f"رمز الدخول الخاص بك هو {code.translate(ARABIC_INDIC)}. لا تشاركه مع أي شخص.\nرقم الطلب: ٥٥٨٨١٢\n",
            None,
            code=code,
            lang="ar",
        )
    )
    return out


def non_verification() -> list[Mail]:
    out: list[Mail] = []
    b = BRANDS

    def add(
        name: str, brand: Brand, subject: str, text: str | None, html: str | None, **kw
    ) -> None:
        out.append(Mail(name, "non_verification", brand, subject, text, html, **kw))

    # Newsletters.
    for i, (brand, subject) in enumerate(
        [
            (b[14], "This week at Fable Books: 12 new releases"),
            (b[12], "Spring harvest: 25% off produce this weekend"),
            (b[15], "Cinder Games Digest — May 2024"),
            (b[17], "48 hours left: summer fares from $129"),
            (b[8], "Your weekly learning recap"),
        ]
    ):
        items = [
            f'<h2 style="color:{brand.color}">Top pick #{i + 1}</h2><p>Read the story behind our 2024 award winners — 1,024 readers voted.</p>',
            f'<p><a href="{tracking(brand)}" style="background:{brand.color};color:#fff;padding:10px 18px;text-decoration:none;">Shop now</a></p>',
            f"<p>Use code SPRING{20 + i} at checkout for {20 + i}% off orders over $50. Offer ends 05/31/2024.</p>",
            f'<p><a href="https://{brand.domain}/events/2024/summer-festival">See all 36 events</a> · Doors open 18:30.</p>',
        ]
        html = card_html(
            brand,
            "en",
            title=subject,
            pre="Don't miss this week's picks",
            blocks=items,
            nav=[
                ("Log in", f"https://{brand.domain}/login"),
                ("My account", f"https://{brand.domain}/account"),
            ]
            if i % 2 == 0
            else None,
            tracked_footer=True,
        )
        text = (
            f"{subject}\n\nTop pick #{i + 1}\nUse code SPRING{20 + i} at checkout for {20 + i}% off.\n"
            + text_footer(brand, "en")
        )
        add(
            f"newsletter_{i:02d}",
            brand,
            subject,
            text if i % 2 else None,
            html,
            html_cte="quoted-printable",
        )

    # Receipts and invoices.
    for i, brand in enumerate([b[12], b[6], b[10], b[4], b[16]]):
        order = rng.randint(10000000, 99999999)
        rows = "".join(
            f'<tr><td style="padding:6px 0">{item}</td><td align="right">{qty}</td><td align="right">${price}</td></tr>'
            for item, qty, price in [
                ("Organic apples 2 lb", 2, "7.98"),
                ("Sourdough loaf", 1, "5.49"),
                ("Item #4471 Cold brew 1L", 3, "14.97"),
            ]
        )
        html = card_html(
            brand,
            "en",
            title=f"Receipt for order #{order}",
            pre=f"Order {order} confirmed",
            blocks=[
                f"Thanks for your order! Order number: {order} placed May 12, 2024 at 10:32 AM.",
                f'<table width="100%" cellpadding="0" cellspacing="0">{rows}<tr><td><b>Total</b></td><td></td><td align="right"><b>$28.44</b></td></tr></table>',
                f"Paid with Visa ending in 4242. Auth code 0{rng.randint(10000, 99999)}.",
                f'<a href="https://{brand.domain}/orders/{order}">View your order</a>',
            ],
        )
        text = (
            f"Order #{order} confirmed\nTotal: $28.44\nVisa ending in 4242\nView your order: https://{brand.domain}/orders/{order}\n"
            + text_footer(brand, "en")
        )
        add(
            f"receipt_{i:02d}",
            brand,
            [
                f"Your receipt from {brand.name}",
                f"Order #{order} confirmed",
                f"Thanks for your purchase (order {order})",
                "Your order confirmation",
                "Payment received — thank you",
            ][i],
            text,
            html,
            attach="pdf" if i % 2 else None,
        )

    for i, brand in enumerate([b[11], b[9], b[3], b[2]]):
        inv = f"INV-{rng.randint(2024000, 2024999)}"
        html = simple_html(
            brand,
            "en",
            [
                f"Invoice {inv} for April 2024 is now available.",
                "Amount due: $1,480.00 · Due date: June 1, 2024 · Customer number: 44871203",
                f'<a href="https://billing.{brand.domain}/invoices/{inv}.pdf">Download invoice (PDF)</a>',
                "Bank transfer: IBAN GB33 BUKB 2020 1555 5555 55, reference 558213.",
            ],
        )
        add(
            f"invoice_{i:02d}",
            brand,
            f"Invoice {inv} from {brand.name}",
            None,
            html,
            html_cte="base64" if i % 2 else None,
        )

    # Shipping notices with tracking numbers.
    carriers = [
        ("UPS", "1Z999AA10123456784"),
        ("USPS", "9400 1000 0000 0000 0000 00"),
        ("DHL", "JD014600006281234567"),
        ("FedEx", "7712 3456 7890"),
        ("PostNL", "3SABCD1234567"),
    ]
    for i, (carrier, number) in enumerate(carriers):
        brand = b[(i + 1) % len(b)]
        html = card_html(
            brand,
            "en",
            title="Your package is on its way",
            pre=f"Tracking {number}",
            blocks=[
                f"Good news! Order #{rng.randint(100000, 999999)} shipped with {carrier} on May 12, 2024.",
                f"Tracking number: <b>{number}</b>",
                "Estimated delivery: Thursday, May 16 between 10:00 and 14:00.",
                f'<a href="https://track.{brand.domain}/t/{number.replace(" ", "")}" style="background:{brand.color};color:#fff;padding:10px 16px;text-decoration:none">Track your package</a>',
                "Delivery address: 742 Evergreen Terrace, Springfield, OR 97477",
            ],
        )
        text = (
            f"Your package is on its way!\nTracking number: {number}\nTrack: https://track.{brand.domain}/t/{number.replace(' ', '')}\n"
            + text_footer(brand, "en")
        )
        add(
            f"shipping_{i:02d}",
            brand,
            [
                "Your order has shipped",
                "Out for delivery today",
                f"Shipped: your {brand.name} order",
                "Delivery update",
                "Your parcel is on the way",
            ][i],
            text if i % 2 == 0 else None,
            html,
        )

    # Other everyday mail.
    add(
        "booking_confirmation",
        b[17],
        "Booking confirmed: San Diego, Jun 14–18",
        "Your booking is confirmed.\n\nBooking reference: DW7K9P\nConfirmation number: 4471 2291\nCheck-in: June 14, 2024 from 15:00\nTotal: $1,126.40\n\nManage booking: https://driftwoodtravel.example/trips/DW7K9P\n",
        None,
    )
    add(
        "flight_checkin",
        b[7],
        "Check-in is open for flight KA 2291",
        None,
        simple_html(
            b[7],
            "en",
            [
                "Flight KA 2291 Denver → Boston departs June 14, 2024 at 07:45.",
                "Seat 14C · Gate B32 · Booking code K7P2QX",
                '<a href="https://kestrelair.example.com/checkin?pnr=K7P2QX&amp;ln=Doe">Check in now</a>',
            ],
        ),
    )
    add(
        "event_reminder",
        b[8],
        "Reminder: Webinar starts in 1 hour",
        'Hi,\n\nYour webinar "Data Literacy 101" starts at 17:00 CEST (May 14, 2024).\nJoin: https://mosaiclearning.example.net/webinars/88213/join\nMeeting room 4410, 2nd floor.\n',
        None,
    )
    add(
        "account_statement",
        b[3],
        "Your May 2024 statement is ready",
        None,
        card_html(
            b[3],
            "en",
            title="Your statement is ready",
            pre=None,
            blocks=[
                "Statement period: April 1 – April 30, 2024. Account number ending 7781.",
                "Closing balance: $12,480.55. Minimum payment $35.00 due 05/25/2024.",
                '<a href="https://tandembank.example/statements/2024-04">View statement</a>',
            ],
        ),
    )
    add(
        "password_changed_notice",
        b[9],
        "Your Nimbus Drive password was changed",
        None,
        card_html(
            b[9],
            "en",
            title="Password changed",
            pre=None,
            blocks=[
                "The password for your Nimbus Drive account was changed on May 12, 2024 at 10:32 UTC.",
                f'If you didn\'t make this change, <a href="https://nimbusdrive.test/account/recover?t={token(20)}">secure your account</a> immediately.',
                "No further action is needed if this was you.",
            ],
        ),
    )
    add(
        "social_notification",
        b[15],
        "Alex mentioned you in a comment",
        None,
        simple_html(
            b[15],
            "en",
            [
                'Alex mentioned you: "GG! Final score 2024 to 1998 🎮"',
                '<a href="https://cindergames.test/posts/558812#comment-99213">View comment</a>',
            ],
        ),
    )
    add(
        "price_drop",
        b[13],
        "Price drop on an item you're watching",
        "Good news! The Bluefin X5 (model BX5-128) dropped from $899 to $749.\nOffer valid until 05/20/2024.\nSee deal: https://bluefinmobile.example/deals/bx5-128\n",
        None,
    )
    add(
        "survey_request",
        b[10],
        "How did we do? 2-minute survey",
        None,
        simple_html(
            b[10],
            "en",
            [
                "Your case #558213 was resolved on May 12, 2024.",
                "Please rate your experience from 1 to 10.",
                f'<a href="{tracking(b[10])}">Take the survey</a>',
            ],
        ),
    )
    add(
        "receipt_es",
        b[12],
        "Tu pedido n.º 4471822 está confirmado",
        "Hola Lucía:\n\nGracias por tu pedido n.º 4471822 del 12/05/2024.\nTotal: 1.299,00 €\nNúmero de seguimiento: 1Z999AA10123456784\nCalle de Alcalá 123, 28009 Madrid\n",
        None,
        lang="es",
    )
    add(
        "shipping_de",
        b[5],
        "Ihre Bestellung wurde versandt",
        "Hallo,\n\nIhre Bestellung 30448812 wurde am 12.05.2024 versandt.\nSendungsnummer: 00340434161234567890\nRechnungsbetrag: 1.299,00 €\nKundennummer 4471029\n",
        None,
        lang="de",
    )
    add(
        "newsletter_fr",
        b[4],
        "Les nouveautés de mai 2024",
        None,
        simple_html(
            b[4],
            "fr",
            [
                "Découvrez nos 12 nouveautés de mai 2024.",
                "Code promo MAI20 : 20 % de réduction jusqu'au 31/05.",
                '<a href="https://orbitalnotes.test/fr/blog/mai-2024">Lire la suite</a>',
            ],
        ),
        lang="fr",
    )
    add(
        "receipt_ja",
        b[8],
        "【Mosaic Learning】ご注文ありがとうございます",
        "ご注文番号：558812334\nご注文日：2024年5月12日\n合計金額：¥12,800（税込）\nお問い合わせ：03-1234-5678\n〒100-0005 東京都千代田区丸の内1-2-3\n",
        None,
        lang="ja",
    )
    add(
        "shipping_zh",
        b[7],
        "您的订单已发货",
        "您好，您的订单 20240512889 已发货。\n快递单号：SF1234567890123\n客服电话：400-123-4567\n上海市浦东新区世纪大道100号 邮编：200120\n",
        None,
        lang="zh",
    )
    add(
        "receipt_ru",
        b[6],
        "Ваш заказ № 558812 оплачен",
        "Здравствуйте!\n\nЗаказ № 558812 от 12.05.2024 оплачен.\nСумма: 12 990 ₽\nТрек-номер: RA123456789RU\nТелефон поддержки: 8 800 555-35-35\n",
        None,
        lang="ru",
    )
    add(
        "invoice_pl",
        b[11],
        "Faktura VAT nr FV/2024/05/1182",
        "Dzień dobry,\n\nw załączniku przesyłamy fakturę nr FV/2024/05/1182 na kwotę 1 299,00 zł.\nTermin płatności: 26.05.2024\nNIP 123-456-78-90\n",
        None,
        lang="pl",
        attach="pdf",
    )
    add(
        "receipt_ar",
        b[16],
        "تأكيد طلبك رقم 558812",
        "شكرًا لطلبك.\n\nرقم الطلب: ٥٥٨٨١٢\nالمبلغ: 1,299 ر.س\nرقم التتبع: 4471822913\nالرمز البريدي: 12214\n",
        None,
        lang="ar",
    )
    return out


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    labels = {}
    for index, mail in enumerate(build()):
        assert mail.name and f"{mail.name}.eml" not in labels, mail.name
        labels[f"{mail.name}.eml"] = write(mail, index)
    (HERE / "labels.json").write_text(
        json.dumps(labels, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    )
    print(f"wrote {len(labels)} messages to {HERE}")


if __name__ == "__main__":
    main()
