"""The console's words in Japanese, the first language (every key must exist in English)."""

MESSAGES = {
    "console.nav": "コンソール",
    "console.footer": "certsvc ヘルプデスクコンソール。すべての変更はあなたの名前で記録されます。",
    "console.dashboard": "ダッシュボード",
    "console.search": "検索",
    "console.sign_in": "ヘルプデスクコンソールへのサインイン",
    "console.sign_out": "サインアウト",
    "console.username": "オペレーター名",
    "console.totp": "認証コード",
    "console.totp_hint": "認証アプリに表示されている certsvc の6桁のコード。",
    "console.totp_digits": "認証アプリの6桁の数字を入力してください。",
    "console.sign_in_failed": (
        "サインインできませんでした。名前・パスワード・コードのいずれかが正しくないか、"
        "アカウントがロックされています。3回続けて失敗すると、アカウントは午前0時(日本時間)"
        "までロックされます(管理者は certsvc operator reset で解除できます)。"
    ),
    "console.lock_rule": "3回続けてサインインに失敗すると、午前0時(日本時間)までロックされます。",
    "console.session_ended": (
        "セッションが終了しました(サインアウト、一定時間の未操作、または有効時間の経過)。"
        "もう一度サインインしてください。"
    ),
    "console.must_change": (
        "パスワードが仮パスワードか有効期限切れです。新しいパスワードを設定してください。"
    ),
    "console.current_password": "現在のパスワード",
    "console.current_wrong": "現在のパスワードが正しくありません。",
    "console.save": "新しいパスワードを保存",
    "console.search_label": "検索語",
    "console.search_hint": (
        "企業番号・企業名・ユーザーID・メールアドレス・シリアル番号(コロンの有無は問いません)"
        "・チケット番号。"
    ),
    "console.search_do": "検索",
    "console.search_bad": "1〜254文字で入力してください。",
    "console.results": "{total}件({page}/{pages}ページ)",
    "console.pages": "結果のページ",
    "console.prev": "前のページ",
    "console.next": "次のページ",
    "console.col.company_number": "企業番号",
    "console.col.company_name": "企業名",
    "console.col.user_id": "ユーザーID",
    "console.col.email": "メールアドレス",
    "console.col.serial": "シリアル番号",
    "console.col.state": "状態",
    "console.col.expiry_date": "有効期限",
    "state.pending": "発行中",
    "state.issued": "有効",
    "state.revoked": "失効",
    "state.expired": "期限切れ",
    "console.certificate": "証明書",
    "console.state": "状態",
    "console.awaiting_pickup": "受け取り待ち",
    "console.email": "メールアドレス",
    "console.not_before": "有効期間の開始",
    "console.not_after": "有効期間の終了",
    "console.expiry_date": "有効期限",
    "console.revoked_at": "失効日時",
    "console.revoke_due": "後継の受け取り時(遅くとも)に失効",
    "console.zone_note": "日時は日本時間です。",
    "console.chain": "前後の証明書",
    "console.actions": "操作",
    "console.reissue": "再発行(PC変更・利用者変更)",
    "console.reissue_reason": "理由",
    "console.reissue.pc-change": "PC変更",
    "console.reissue.user-change": "利用者変更",
    "console.revoke_old": "この証明書の失効",
    "console.revoke_old.now": "今すぐ",
    "console.revoke_old.on-pickup": "新しい証明書の受け取り時",
    "console.new_email": "新しい利用者のメールアドレス",
    "console.new_email_hint": "利用者変更の場合のみ。",
    "console.new_email_required": "利用者変更には新しい利用者のメールアドレスが必要です。",
    "console.reissue_do": "再発行",
    "console.reissue.what.now": (
        "{user} の証明書 {serial} を今すぐ失効させ、新しい証明書の受け取りリンクを "
        "{email} に送ります。"
    ),
    "console.reissue.what.on-pickup": (
        "新しい証明書の受け取りリンクを {email} に送ります。{user} の証明書 {serial} は"
        "新しい証明書の受け取り時に失効します。"
    ),
    "console.revoke": "失効",
    "console.revoke_reason": "理由",
    "console.revoke_do": "失効させる",
    "console.revoke.what": (
        "証明書 {serial} を失効させます(理由 {reason})。次の配信からゲートウェイで拒否されます。"
        "元に戻せません。"
    ),
    "console.pickup": "新しい受け取りリンク",
    "console.pickup_hint": (
        "この証明書の新しい受け取りリンクを利用者に送ります(以前のリンクは使えなくなります)。"
    ),
    "console.pickup_do": "受け取りリンクを送る",
    "console.audit": "監査記録",
    "console.at": "日時",
    "console.actor": "実行者",
    "console.action": "内容",
    "console.ticket": "チケット",
    "console.ticket_hint": "この変更の依頼チケット番号(必須)。",
    "console.ticket_required": "依頼のチケット番号を入力してください。",
    "console.ticket_bad": "チケットは{max}文字以内の印字可能な文字で入力してください。",
    "console.choose": "いずれかを選んでください。",
    "console.confirm": "確認",
    "console.confirm_do": "実行する",
    "console.cancel": "やめる",
    "console.done.reissue": "完了:新しい証明書の受け取りリンクを利用者に送りました。",
    "console.done.revoke": "完了:証明書を失効させました。",
    "console.done.pickup": "完了:新しい受け取りリンクを送りました。",
    "console.done.reset": "完了:仮の資格情報を利用者に送りました。",
    "console.done.no_certificate": "完了:証明書不要として登録しました。",
    "console.done.administrator": "完了:管理者を変更し、新旧両方のアドレスに通知しました。",
    "console.not_found": "見つかりません",
    "console.not_found_hint": "該当するものがないか、あなたのテナントのものではありません。",
    "console.subscriber": "利用者",
    "console.display_name": "氏名",
    "console.needs_certificate": "証明書の要否",
    "console.credentials": "資格情報の登録",
    "console.lock": "ロック",
    "console.locked_until": "{until}までロック中",
    "console.not_locked": "ロックなし",
    "console.yes": "あり",
    "console.no": "なし",
    "console.none": "ありません。",
    "console.certificates": "証明書",
    "console.reset": "資格情報の再設定",
    "console.reset_hint": (
        "24時間有効の仮の資格情報を登録アドレスに送ります(ここには表示されません)。"
        "ロックは解除されます。ヘルプデスクは営業日のみ再設定できます。"
    ),
    "console.reset_what": "再設定の対象",
    "console.reset.both": "パスワードと登録番号",
    "console.reset.password": "パスワード",
    "console.reset.registration_number": "登録番号",
    "console.reset_do": "再設定して送信",
    "console.reset.what": (
        "{user} の資格情報を仮のものに置き換え、登録アドレスに送ります。"
        "今の資格情報はすぐに使えなくなります。"
    ),
    "console.no_certificate": "「証明書不要」にする",
    "console.no_certificate_hint": "証明書が不要な利用者の場合。",
    "console.no_certificate_do": "「証明書不要」にする",
    "console.no_certificate.what": "{user} を証明書不要として登録します。",
    "console.tenant": "テナント",
    "console.subscribers": "利用者",
    "console.admin_name": "代表管理者",
    "console.admin_email": "代表管理者のメールアドレス",
    "console.admin_change": "代表管理者の変更",
    "console.admin_change_hint": "新旧両方のアドレスにメールで通知します。",
    "console.admin_change_do": "代表管理者を変更",
    "console.admin_only": "テナントの管理者を変更できるのは admin だけです。",
    "console.admin.what": "代表管理者を {name} <{email}> に変更し、新旧両方に通知します。",
    "console.as_of": "{today} 時点(日本時間)。",
    "console.expiring": "有効期限が近い証明書",
    "console.within": "{days}日以内",
    "console.pickups_waiting": "受け取り待ち",
    "console.failed_mails": "送信失敗メール",
    "console.locked_subscribers": "ロック中の利用者",
    "console.total": "合計",
}
