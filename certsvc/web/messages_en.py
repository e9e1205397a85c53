"""The pages' words in English (the keys are those of ``messages_ja``)."""

MESSAGES = {
    "site.name": "Client certificate service",
    "site.footer": "Questions? Ask your company's administrator.",
    "nav.skip": "Skip to the content",
    "nav.language": "Language",
    "lang.ja": "日本語",
    "lang.en": "English",
    "pickup.title.collect": "Collect your client certificate",
    "pickup.title.issue": "Collect your client certificate",
    "pickup.title.renew": "Renew your client certificate",
    "pickup.title.reissue": "Collect your new client certificate",
    "pickup.company": "Company",
    "pickup.user_id": "User ID",
    "pickup.link_expires": "This link is valid until",
    "pickup.submit": "Collect the certificate",
    "pickup.after_download": "After the download:",
    "pickup.help": "Forgot the password or the registration number?",
    "reset.link": "Reset your credentials",
    "login.user_id": "Certificate user ID",
    "login.password": "Password",
    "login.challenge_label": "Registration number: 4 digits",
    "login.challenge_hint": (
        "From the 8-digit registration number on your registration letter, enter 4 digits "
        "starting at the position below (after the 8th digit, continue with the 1st)."
    ),
    "login.challenge_before": "Start at position ",
    "login.challenge_after": " of the registration number.",
    "login.failed": (
        "The user ID, the password or the registration-number digits are wrong, or the "
        "account is locked. After 3 wrong attempts the account is locked until the next day."
    ),
    "login.locked": (
        "This account is locked after 3 wrong attempts. It opens again on {until}, or "
        "earlier if you reset your credentials."
    ),
    "password.change": "Choose a new password",
    "password.must_change": (
        "Your password is temporary or has expired: choose a new one to continue."
    ),
    "password.new": "New password",
    "password.confirm": "New password (again)",
    "password.rules": (
        "8 to 32 half-width characters with at least two of: digits, letters, symbols. "
        "Not one of your last 2 passwords."
    ),
    "password.mismatch": "The two new passwords differ.",
    "delivery.legend": "How do you want the certificate?",
    "delivery.pkcs12": "Download a certificate file (.p12) protected by your password",
    "delivery.pkcs12_hint": "Recommended for Windows 10/11 with Edge or Chrome.",
    "delivery.csr": "I have a certificate request (CSR)",
    "delivery.csr_hint": "Only if your administrator gave you a CSR file.",
    "delivery.csr_file": "CSR file (PEM)",
    "delivery.choose": "Choose how you want the certificate.",
    "delivery.csr_missing": "Choose the CSR file.",
    "error.required": "Enter this field.",
    "error.challenge": "Enter exactly 4 digits.",
    "error.unavailable": "The certificate could not be issued just now. Try again later.",
    "error.csr": "This CSR cannot be used (a PEM certificate request with a strong key).",
    "rule.length": "The password must be 8 to 32 characters long.",
    "rule.printable": "The password must not contain control characters.",
    "rule.classes": "The password needs at least two of: digits, letters, symbols.",
    "rule.history": "This password was used recently: your last 2 passwords cannot be reused.",
    "install.title": "Install the certificate on Windows",
    "install.issued": "Your certificate (serial {serial}) is ready.",
    "install.download_cer": "Download the certificate ({name})",
    "install.download_chain": "Download the CA chain ({name})",
    "install.windows": "Windows 10/11",
    "install.cer.1": 'Double-click the downloaded .cer file and click "Install Certificate...".',
    "install.cer.2": 'Choose "Current User", then "Place all certificates in the following store".',
    "install.cer.3": 'Click "Browse...", choose "Personal" and finish the wizard.',
    "install.cer.4": "Do the same for the CA chain (.p7b) if your administrator asks you to.",
    "install.downloaded": "The certificate file (.p12) was downloaded to your Downloads folder.",
    "install.p12.1": "Open the Downloads folder and double-click the .p12 file.",
    "install.p12.2": 'The Certificate Import Wizard opens: choose "Current User" and click "Next".',
    "install.p12.3": 'Click "Next" on the file name page.',
    "install.p12.4": 'Enter your password (the one you just used) and click "Next".',
    "install.p12.5": (
        'Choose "Place all certificates in the following store", click "Browse...", '
        'choose "Personal" and click "Next".'
    ),
    "install.p12.6": 'Click "Finish". Windows says "The import was successful".',
    "install.check": "Check it in the browser",
    "install.check.1": (
        'Edge or Chrome: Settings, "Privacy", "Security", "Manage certificates": the '
        'certificate with your user ID is under "Personal".'
    ),
    "install.check.2": (
        "Close every browser window and open the service again: the browser asks which "
        "certificate to use; choose the new one."
    ),
    "install.delete_old": "Delete the old certificate",
    "install.delete.1": 'Open "Manage certificates" as above, tab "Personal".',
    "install.delete.2": (
        "Select the old certificate with your user ID (the one with the earlier expiry date)."
    ),
    "install.delete.3": (
        'Click "Remove". Your old certificate stays valid until its own expiry date, but you '
        "no longer need it."
    ),
    "install.file_delete": "Once imported, delete the .p12 file from the Downloads folder.",
    "gone.title": "This link cannot be used any more",
    "gone.why": (
        "The link was used already or has expired. Each link works once and for a limited time."
    ),
    "gone.new_link": "How to get a new link",
    "gone.newest_mail": "If you received a newer mail, use the link in that mail.",
    "gone.ask_admin": (
        "Otherwise ask your company's administrator to request a new pickup from the helpdesk."
    ),
    "gone.renewal": "For a renewal, the next reminder mail also carries a new link.",
    "maintenance.title": "Maintenance",
    "maintenance.until": "The service is under maintenance until {until} (Japan time).",
    "maintenance.again": "Please come back after that time. Nothing you sent was changed.",
    "refused.title": "The form has expired",
    "refused.csrf": "For your security this form was not accepted. Nothing was changed.",
    "refused.again": "Open the form again",
    "reset.title": "Reset your password or registration number",
    "reset.intro": (
        "Enter your company number, your certificate user ID and the e-mail "
        "address registered for it. The temporary values are sent to that "
        "address by mail. This works also while the account is locked."
    ),
    "reset.company_number": "Company number",
    "reset.company_number_hint": "As on your registration letter.",
    "reset.email": "Registered e-mail address",
    "reset.email_hint": "The address your certificate mails go to.",
    "reset.what": "What do you want to reset?",
    "reset.target.password": "The password",
    "reset.target.registration_number": "The registration number",
    "reset.target.both": "Both",
    "reset.submit": "Send the temporary values by mail",
    "reset.bad_company_number": "Enter the company number (letters, digits and -).",
    "reset.bad_user_id": "Enter the user ID in half-width characters, without spaces.",
    "reset.bad_email": "Enter an e-mail address such as taro@example.co.jp.",
    "reset.choose": "Choose what to reset.",
    "reset.unavailable": (
        "The reset could not be done just now. Nothing was changed. Try again later."
    ),
    "reset.sent_title": "Check your mail",
    "reset.sent": (
        "If the details you entered match a registered certificate user, a "
        "mail with the temporary values is on its way to the registered "
        "address. A temporary password is valid for {minutes} minutes."
    ),
    "reset.sent_next": (
        "Open the pickup or renewal link you received and sign in with the "
        "temporary values: you then choose a new password."
    ),
    "reset.sent_none": (
        "No mail within a few minutes? Check the details and try again, or ask "
        "your company's administrator."
    ),
    "login.reset_now": "Reset now",
    "renew.title": "Renew your client certificate",
    "renew.intro": (
        "You arrived with your current certificate: enter your password to get "
        "its successor. The current certificate stays valid until its own "
        "expiry date."
    ),
    "renew.serial": "Current certificate (serial)",
    "renew.expiry": "Valid through",
    "renew.submit": "Renew the certificate",
    "renew.refused_title": "Renewal is not possible here",
    "renew.why.not_gateway": (
        "This page works only through the company gateway, with your current "
        "certificate. Open it through the gateway."
    ),
    "renew.why.no_certificate": "Your browser sent no certificate that could be read.",
    "renew.why.not_ours": "The certificate your browser sent was not issued by this service.",
    "renew.why.not_renewable": (
        "This certificate cannot be renewed: it was revoked, has expired, or a "
        "renewed certificate is already on its way."
    ),
    "login.failed_password": (
        "The password is wrong, or the account is locked. After 3 wrong "
        "attempts the account is locked until the next day."
    ),
}
