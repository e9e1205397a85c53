"""The pages' words in Japanese, the first language (every key must exist in English too)."""

MESSAGES = {
    "site.name": "クライアント証明書サービス",
    "site.footer": "ご不明な点は、貴社の代表管理者にお問い合わせください。",
    "nav.skip": "本文へ移動",
    "nav.language": "言語",
    "lang.ja": "日本語",
    "lang.en": "English",
    "pickup.title.collect": "クライアント証明書の受け取り",
    "pickup.title.issue": "クライアント証明書の受け取り",
    "pickup.title.renew": "クライアント証明書の更新",
    "pickup.title.reissue": "新しいクライアント証明書の受け取り",
    "pickup.company": "企業",
    "pickup.user_id": "ユーザーID",
    "pickup.link_expires": "このリンクの有効期限",
    "pickup.submit": "証明書を受け取る",
    "pickup.after_download": "ダウンロードの後は:",
    "pickup.help": "パスワードや登録番号をお忘れですか?",
    "reset.link": "パスワード・登録番号の再設定",
    "login.user_id": "証明書ユーザーID",
    "login.password": "パスワード",
    "login.challenge_label": "登録番号(4桁)",
    "login.challenge_hint": (
        "登録通知書に記載の8桁の登録番号のうち、下に示す桁から4桁を入力してください"
        "(8桁目の次は1桁目に戻ります)。"
    ),
    "login.challenge_before": "登録番号の ",
    "login.challenge_after": " 桁目から4桁",
    "login.failed": (
        "ユーザーID、パスワードまたは登録番号が正しくないか、アカウントがロックされています。"
        "3回続けて誤るとアカウントは翌日までロックされます。"
    ),
    "login.locked": (
        "3回続けて誤ったため、アカウントはロックされています。{until}に解除されます"
        "(パスワード・登録番号を再設定すると、その時点で解除されます)。"
    ),
    "password.change": "新しいパスワードの設定",
    "password.must_change": (
        "パスワードが仮パスワードか、有効期限切れです。新しいパスワードを設定してください。"
    ),
    "password.new": "新しいパスワード",
    "password.confirm": "新しいパスワード(確認)",
    "password.rules": (
        "半角8〜32文字。数字・英字・記号のうち2種類以上を含めてください。"
        "直近2回のパスワードは使えません。"
    ),
    "password.mismatch": "新しいパスワードが一致しません。",
    "delivery.legend": "証明書の受け取り方法",
    "delivery.pkcs12": "パスワードで保護された証明書ファイル(.p12)をダウンロードする",
    "delivery.pkcs12_hint": "Windows 10/11 の Edge・Chrome をお使いの方はこちら(推奨)。",
    "delivery.csr": "証明書署名要求(CSR)を提出する",
    "delivery.csr_hint": "管理者から CSR ファイルを渡された場合のみ。",
    "delivery.csr_file": "CSR ファイル(PEM)",
    "delivery.choose": "受け取り方法を選んでください。",
    "delivery.csr_missing": "CSR ファイルを選んでください。",
    "error.required": "入力してください。",
    "error.challenge": "半角数字4桁で入力してください。",
    "error.unavailable": "ただいま証明書を発行できません。しばらくしてからお試しください。",
    "error.csr": "この CSR は使えません(十分な強度の鍵を持つ PEM 形式の証明書署名要求が必要です)。",
    "rule.length": "パスワードは8〜32文字にしてください。",
    "rule.printable": "パスワードに制御文字は使えません。",
    "rule.classes": "パスワードには数字・英字・記号のうち2種類以上を含めてください。",
    "rule.history": "最近使ったパスワードです。直近2回のパスワードは使えません。",
    "install.title": "Windows への証明書のインストール",
    "install.issued": "証明書(シリアル番号 {serial})の準備ができました。",
    "install.download_cer": "証明書をダウンロード({name})",
    "install.download_chain": "CA 証明書チェーンをダウンロード({name})",
    "install.windows": "Windows 10/11 の場合",
    "install.cer.1": (
        "ダウンロードした .cer ファイルをダブルクリックし、"
        "「証明書のインストール」をクリックします。"
    ),
    "install.cer.2": "「現在のユーザー」を選び、「証明書をすべて次のストアに配置する」を選びます。",
    "install.cer.3": "「参照」で「個人」を選び、ウィザードを完了します。",
    "install.cer.4": (
        "管理者の指示がある場合は、CA 証明書チェーン(.p7b)も同じ手順でインストールします。"
    ),
    "install.downloaded": "証明書ファイル(.p12)を「ダウンロード」フォルダーに保存しました。",
    "install.p12.1": "「ダウンロード」フォルダーを開き、.p12 ファイルをダブルクリックします。",
    "install.p12.2": (
        "証明書のインポート ウィザードが開きます。"
        "「現在のユーザー」を選び「次へ」をクリックします。"
    ),
    "install.p12.3": "ファイル名の画面で「次へ」をクリックします。",
    "install.p12.4": "パスワード(今入力したもの)を入力し、「次へ」をクリックします。",
    "install.p12.5": (
        "「証明書をすべて次のストアに配置する」を選び、「参照」で「個人」を選んで"
        "「次へ」をクリックします。"
    ),
    "install.p12.6": "「完了」をクリックします。「正しくインポートされました」と表示されます。",
    "install.check": "ブラウザーでの確認",
    "install.check.1": (
        "Edge・Chrome の「設定」→「プライバシー」→「セキュリティ」→「証明書の管理」の"
        "「個人」に、ユーザーIDの証明書があることを確認します。"
    ),
    "install.check.2": (
        "ブラウザーをすべて閉じてからサービスを開き直し、証明書の選択画面で新しい証明書を選びます。"
    ),
    "install.delete_old": "古い証明書の削除",
    "install.delete.1": "上と同じく「証明書の管理」を開き、「個人」タブを選びます。",
    "install.delete.2": "ユーザーIDの古い証明書(有効期限が早いほう)を選びます。",
    "install.delete.3": (
        "「削除」をクリックします。古い証明書は有効期限まで使えますが、もう必要ありません。"
    ),
    "install.file_delete": (
        "インポートが済んだら、「ダウンロード」フォルダーの .p12 ファイルを削除してください。"
    ),
    "gone.title": "このリンクは使えません",
    "gone.why": (
        "このリンクは使用済みか、有効期限が過ぎています。リンクは1回限り、期限内のみ使えます。"
    ),
    "gone.new_link": "新しいリンクの受け取り方",
    "gone.newest_mail": "新しいメールが届いている場合は、そのメールのリンクを使ってください。",
    "gone.ask_admin": (
        "届いていない場合は、貴社の代表管理者からヘルプデスクに再発行を依頼してください。"
    ),
    "gone.renewal": "更新の場合は、次の更新案内メールにも新しいリンクが記載されます。",
    "maintenance.title": "メンテナンス中",
    "maintenance.until": (
        "ただいまメンテナンス中です。{until}(日本時間)まで、ご利用いただけません。"
    ),
    "maintenance.again": (
        "その時刻以降に、もう一度お試しください。送信された内容は変更されていません。"
    ),
    "refused.title": "フォームの有効期限が切れました",
    "refused.csrf": "安全のため、このフォームは受け付けられませんでした。何も変更されていません。",
    "refused.again": "フォームを開き直す",
    "reset.title": "パスワード・登録番号の再設定",
    "reset.intro": (
        "企業番号、証明書利用者ID、登録されているメールアドレスを入力してください。"
        "仮の値をそのアドレスへメールでお送りします。ロック中でも再設定できます。"
    ),
    "reset.company_number": "企業番号",
    "reset.company_number_hint": "登録通知書に記載の番号です。",
    "reset.email": "登録メールアドレス",
    "reset.email_hint": "証明書に関するメールが届くアドレスです。",
    "reset.what": "再設定するもの",
    "reset.target.password": "パスワード",
    "reset.target.registration_number": "登録番号",
    "reset.target.both": "両方",
    "reset.submit": "仮の値をメールで受け取る",
    "reset.bad_company_number": "企業番号を入力してください（英数字と - のみ）。",
    "reset.bad_user_id": "利用者IDを半角文字（空白なし）で入力してください。",
    "reset.bad_email": "taro@example.co.jp のようなメールアドレスを入力してください。",
    "reset.choose": "再設定するものを選んでください。",
    "reset.unavailable": "ただいま再設定できません。何も変更されていません。後ほどお試しください。",
    "reset.sent_title": "メールをご確認ください",
    "reset.sent": (
        "入力された内容が登録済みの利用者と一致する場合、仮の値を記載したメールを登録"
        "アドレスへお送りしました。仮パスワードの有効期間は{minutes}分です。"
    ),
    "reset.sent_next": (
        "受け取った受け取り用または更新用のリンクを開き、仮の値でログインしてください"
        "。その際に新しいパスワードを設定していただきます。"
    ),
    "reset.sent_none": (
        "数分待ってもメールが届かない場合は、入力内容を確認してもう一度お試しいただく"
        "か、貴社の代表管理者にご連絡ください。"
    ),
    "login.reset_now": "今すぐ再設定する",
    "renew.title": "クライアント証明書の更新",
    "renew.intro": (
        "現在の証明書でアクセスしています。パスワードを入力すると後継の証明書を受"
        "け取れます。現在の証明書は有効期限まで使えます。"
    ),
    "renew.serial": "現在の証明書(シリアル番号)",
    "renew.expiry": "有効期限",
    "renew.submit": "証明書を更新する",
    "renew.refused_title": "ここでは更新できません",
    "renew.why.not_gateway": (
        "このページは、現在の証明書で社内ゲートウェイを経由した場合にのみ使えます"
        "。ゲートウェイ経由で開いてください。"
    ),
    "renew.why.no_certificate": "ブラウザから読み取れる証明書が送られてきませんでした。",
    "renew.why.not_ours": "ブラウザが送った証明書は、このサービスが発行したものではありません。",
    "renew.why.not_renewable": (
        "この証明書は更新できません(失効済み、期限切れ、または更新後の証明書がすでに発行待ちです)。"
    ),
    "login.failed_password": (
        "パスワードが誤っているか、アカウントがロックされています。3回続けて誤る"
        "とアカウントは翌日までロックされます。"
    ),
}
