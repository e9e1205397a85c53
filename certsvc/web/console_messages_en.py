"""The console's words in English (the keys are those of ``console_messages_ja``)."""

MESSAGES = {
    "console.nav": "Console",
    "console.footer": "certsvc helpdesk console. Every change is recorded with your name.",
    "console.dashboard": "Dashboard",
    "console.search": "Search",
    "console.sign_in": "Sign in to the helpdesk console",
    "console.sign_out": "Sign out",
    "console.username": "Operator name",
    "console.totp": "Authenticator code",
    "console.totp_hint": "The 6 digits your authenticator app shows for certsvc now.",
    "console.totp_digits": "Enter the 6 digits of the authenticator app.",
    "console.sign_in_failed": (
        "Sign-in failed: the name, the password or the code is wrong, or the account is "
        "locked. After 3 failures in a row the account is locked until midnight (Japan "
        "time); an administrator can unlock it earlier (certsvc operator reset)."
    ),
    "console.lock_rule": (
        "3 failed sign-ins in a row lock the account until midnight (Japan time)."
    ),
    "console.session_ended": (
        "Your session has ended (signed out, unused for too long, or at its time limit). "
        "Sign in again."
    ),
    "console.must_change": "Your password is temporary or has expired: choose a new one.",
    "console.current_password": "Current password",
    "console.current_wrong": "The current password is wrong.",
    "console.save": "Save the new password",
    "console.search_label": "Search for",
    "console.search_hint": (
        "Company number or name, user ID, e-mail address, serial (with or without colons) "
        "or ticket."
    ),
    "console.search_do": "Search",
    "console.search_bad": "Type 1 to 254 characters to search for.",
    "console.results": "{total} results (page {page} of {pages})",
    "console.pages": "Result pages",
    "console.prev": "Previous page",
    "console.next": "Next page",
    "console.col.company_number": "Company number",
    "console.col.company_name": "Company",
    "console.col.user_id": "User ID",
    "console.col.email": "E-mail",
    "console.col.serial": "Serial",
    "console.col.state": "State",
    "console.col.expiry_date": "Expiry date",
    "state.pending": "being issued",
    "state.issued": "valid",
    "state.revoked": "revoked",
    "state.expired": "expired",
    "console.certificate": "Certificate",
    "console.state": "State",
    "console.awaiting_pickup": "waiting for pickup",
    "console.email": "E-mail",
    "console.not_before": "Valid from",
    "console.not_after": "Valid until",
    "console.expiry_date": "Expiry date",
    "console.revoked_at": "Revoked at",
    "console.revoke_due": "Revoked on pickup of the successor, at the latest",
    "console.zone_note": "Times are Japan time (the business zone).",
    "console.chain": "Predecessors and successors",
    "console.actions": "Actions",
    "console.reissue": "Reissue (PC change or user change)",
    "console.reissue_reason": "Reason",
    "console.reissue.pc-change": "PC change",
    "console.reissue.user-change": "User change",
    "console.revoke_old": "Revoke this certificate",
    "console.revoke_old.now": "now",
    "console.revoke_old.on-pickup": "when the new one is collected",
    "console.new_email": "New user's e-mail address",
    "console.new_email_hint": "Only for a user change.",
    "console.new_email_required": "A user change needs the new user's e-mail address.",
    "console.reissue_do": "Reissue",
    "console.reissue.what.now": (
        "Certificate {serial} of {user} is revoked now; a pickup link for the new "
        "certificate is mailed to {email}."
    ),
    "console.reissue.what.on-pickup": (
        "A pickup link for a new certificate is mailed to {email}; certificate {serial} of "
        "{user} is revoked when the new one is collected."
    ),
    "console.revoke": "Revoke",
    "console.revoke_reason": "Reason",
    "console.revoke_do": "Revoke",
    "console.revoke.what": (
        "Certificate {serial} is revoked for good (reason {reason}): the gateway refuses it "
        "from the next feed on. This cannot be undone."
    ),
    "console.pickup": "New pickup link",
    "console.pickup_hint": (
        "Mails the subscriber a new pickup link for this certificate (an earlier link stops "
        "working)."
    ),
    "console.pickup_do": "Mail a new pickup link",
    "console.audit": "Audit trail",
    "console.at": "When",
    "console.actor": "Who",
    "console.action": "What",
    "console.ticket": "Ticket",
    "console.ticket_hint": "The helpdesk ticket this change answers (required).",
    "console.ticket_required": "Enter the ticket of the request.",
    "console.ticket_bad": "A ticket is at most {max} printable characters.",
    "console.choose": "Choose one of the options.",
    "console.confirm": "Please confirm",
    "console.confirm_do": "Yes, do it",
    "console.cancel": "Cancel",
    "console.done.reissue": (
        "Done: the subscriber was mailed a pickup link for the new certificate."
    ),
    "console.done.revoke": "Done: the certificate is revoked.",
    "console.done.pickup": "Done: a new pickup link was mailed.",
    "console.done.reset": "Done: temporary credentials were mailed to the subscriber.",
    "console.done.no_certificate": "Done: the subscriber needs no certificate.",
    "console.done.administrator": "Done: the administrator was changed; both addresses are told.",
    "console.not_found": "Not found",
    "console.not_found_hint": "There is no such object, or it is not in your tenant.",
    "console.subscriber": "Subscriber",
    "console.display_name": "Name",
    "console.needs_certificate": "Needs a certificate",
    "console.credentials": "Credentials registered",
    "console.lock": "Lock",
    "console.locked_until": "locked until {until}",
    "console.not_locked": "not locked",
    "console.yes": "yes",
    "console.no": "no",
    "console.none": "None.",
    "console.certificates": "Certificates",
    "console.reset": "Reset credentials",
    "console.reset_hint": (
        "Temporary credentials valid 24 hours go to the subscriber's registered address "
        "(never shown here); a lock is lifted. The helpdesk resets on its working days."
    ),
    "console.reset_what": "What to reset",
    "console.reset.both": "Password and registration number",
    "console.reset.password": "Password",
    "console.reset.registration_number": "Registration number",
    "console.reset_do": "Reset and mail",
    "console.reset.what": (
        "The credentials of {user} are replaced by temporary ones, mailed to the registered "
        "address; the old ones stop working now."
    ),
    "console.no_certificate": 'Mark "no certificate"',
    "console.no_certificate_hint": "For a user who does not need a certificate.",
    "console.no_certificate_do": 'Mark "no certificate"',
    "console.no_certificate.what": "{user} is marked as needing no certificate.",
    "console.tenant": "Tenant",
    "console.subscribers": "Subscribers",
    "console.admin_name": "Administrator",
    "console.admin_email": "Administrator's e-mail",
    "console.admin_change": "Change the representative administrator",
    "console.admin_change_hint": "The old and the new address are both told by mail.",
    "console.admin_change_do": "Change the administrator",
    "console.admin_only": "Only an admin may change a tenant's administrator.",
    "console.admin.what": "The administrator becomes {name} <{email}>; both addresses are told.",
    "console.as_of": "As of {today} (Japan time).",
    "console.expiring": "Certificates expiring",
    "console.within": "within {days} days",
    "console.pickups_waiting": "Pickups waiting",
    "console.failed_mails": "Failed mails",
    "console.locked_subscribers": "Locked subscribers",
    "console.total": "Total",
}
