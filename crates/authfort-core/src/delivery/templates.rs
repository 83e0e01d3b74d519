//! Mail templates (magic link, email verification, sign-in code, password reset): built-in
//! defaults, each overridable by a file in `email.templates_dir`.

use std::path::Path;

use crate::config::{ConfigError, EmailConfig};

use super::config_error;

const KEY: &str = "email.templates_dir";

const MAGIC_LINK_SUBJECT: &str = "Your sign-in link";

const MAGIC_LINK_TEXT: &str = "\
Hi,

Here is your sign-in link for {{email}}:

{{link}}

It works once and expires in {{ttl_minutes}} minutes.

If you didn't ask for this, ignore this email: nothing happens without the link.
";

const MAGIC_LINK_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your sign-in link</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;">
<tr>
<td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:480px;background-color:#ffffff;border-radius:8px;">
<tr>
<td style="padding:32px;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#1f2933;">
<p style="margin:0 0 16px 0;">Hi,</p>
<p style="margin:0 0 24px 0;">Click the button below to sign in as <strong>{{email}}</strong>.</p>
<p style="margin:0 0 24px 0;text-align:center;">
<a href="{{link}}" style="display:inline-block;padding:12px 24px;background-color:#2563eb;color:#ffffff;text-decoration:none;font-weight:bold;border-radius:6px;">Sign in</a>
</p>
<p style="margin:0 0 16px 0;">The link works once and expires in {{ttl_minutes}} minutes.</p>
<p style="margin:0 0 24px 0;font-size:13px;line-height:20px;color:#52606d;">If the button doesn't work, copy this address into your browser:<br><a href="{{link}}" style="color:#2563eb;word-break:break-all;">{{link}}</a></p>
<p style="margin:0;font-size:13px;line-height:20px;color:#52606d;">If you didn't ask for this, ignore this email: nothing happens without the link.</p>
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
"#;

const VERIFY_SUBJECT: &str = "Confirm your email address";

const VERIFY_TEXT: &str = "\
Hi,

Please confirm that {{email}} is your address by opening this link:

{{link}}

It works once and expires in {{ttl_minutes}} minutes.

If you didn't create an account, ignore this email.
";

const OTP_SUBJECT: &str = "Your sign-in code";

const OTP_TEXT: &str = "\
Hi,

Your sign-in code for {{email}} is:

{{code}}

It works once and expires in {{ttl_minutes}} minutes. Never share it: we will never ask you for it.

If you didn't ask for this, ignore this email: nothing happens without the code.
";

const RESET_SUBJECT: &str = "Reset your password";

const RESET_TEXT: &str = "\
Hi,

Someone asked to reset the password of {{email}}. To choose a new password, open this link:

{{link}}

It works once and expires in {{ttl_minutes}} minutes. Resetting signs you out everywhere.

If you didn't ask for this, ignore this email: your password stays as it is.
";

/// A simple HTML mail: a greeting, one paragraph, a button or a code, and a footer.
fn html_mail(title: &str, intro: &str, action: &str, footer: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;">
<tr>
<td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:480px;background-color:#ffffff;border-radius:8px;">
<tr>
<td style="padding:32px;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#1f2933;">
<p style="margin:0 0 16px 0;">Hi,</p>
<p style="margin:0 0 24px 0;">{intro}</p>
{action}
<p style="margin:0;font-size:13px;line-height:20px;color:#52606d;">{footer}</p>
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
"#
    )
}

fn html_button(label: &str, note: &str) -> String {
    format!(
        r#"<p style="margin:0 0 24px 0;text-align:center;">
<a href="{{{{link}}}}" style="display:inline-block;padding:12px 24px;background-color:#2563eb;color:#ffffff;text-decoration:none;font-weight:bold;border-radius:6px;">{label}</a>
</p>
<p style="margin:0 0 16px 0;">{note}</p>
<p style="margin:0 0 24px 0;font-size:13px;line-height:20px;color:#52606d;">If the button doesn't work, copy this address into your browser:<br><a href="{{{{link}}}}" style="color:#2563eb;word-break:break-all;">{{{{link}}}}</a></p>"#
    )
}

/// The kinds of mail AuthFort sends; each has a subject, a text and an HTML template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A sign-in link (`magic_link.*`, placeholder `{{link}}`).
    MagicLink,
    /// An address-confirmation link (`email_verification.*`, placeholder `{{link}}`).
    EmailVerification,
    /// A sign-in code (`email_otp.*`, placeholder `{{code}}`).
    EmailOtp,
    /// A password-reset link (`password_reset.*`, placeholder `{{link}}`).
    PasswordReset,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 4] = [
        MailKind::MagicLink,
        MailKind::EmailVerification,
        MailKind::EmailOtp,
        MailKind::PasswordReset,
    ];

    /// The file-name stem of its templates, also the outbox `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::MagicLink => "magic_link",
            MailKind::EmailVerification => "email_verification",
            MailKind::EmailOtp => "email_otp",
            MailKind::PasswordReset => "password_reset",
        }
    }

    /// The placeholder every body of this kind must contain.
    fn secret_placeholder(self) -> &'static str {
        match self {
            MailKind::EmailOtp => "code",
            _ => "link",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One kind's subject and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    subject: String,
    text: String,
    html: String,
}

fn built_in(kind: MailKind) -> Template {
    let (subject, text, html) = match kind {
        MailKind::MagicLink => (MAGIC_LINK_SUBJECT, MAGIC_LINK_TEXT, MAGIC_LINK_HTML.to_owned()),
        MailKind::EmailVerification => (
            VERIFY_SUBJECT,
            VERIFY_TEXT,
            html_mail(
                VERIFY_SUBJECT,
                "Please confirm that <strong>{{email}}</strong> is your address.",
                &html_button(
                    "Confirm my address",
                    "The link works once and expires in {{ttl_minutes}} minutes.",
                ),
                "If you didn't create an account, ignore this email.",
            ),
        ),
        MailKind::EmailOtp => (
            OTP_SUBJECT,
            OTP_TEXT,
            html_mail(
                OTP_SUBJECT,
                "Your sign-in code for <strong>{{email}}</strong> is:",
                "<p style=\"margin:0 0 24px 0;text-align:center;font-size:32px;line-height:40px;font-weight:bold;\
                 letter-spacing:6px;font-family:Menlo,Consolas,monospace;\">{{code}}</p>\n\
                 <p style=\"margin:0 0 16px 0;\">It works once and expires in {{ttl_minutes}} minutes. Never share it: \
                 we will never ask you for it.</p>",
                "If you didn't ask for this, ignore this email: nothing happens without the code.",
            ),
        ),
        MailKind::PasswordReset => (
            RESET_SUBJECT,
            RESET_TEXT,
            html_mail(
                RESET_SUBJECT,
                "Someone asked to reset the password of <strong>{{email}}</strong>.",
                &html_button(
                    "Choose a new password",
                    "The link works once and expires in {{ttl_minutes}} minutes. Resetting signs you out everywhere.",
                ),
                "If you didn't ask for this, ignore this email: your password stays as it is.",
            ),
        ),
    };
    Template {
        subject: subject.to_owned(),
        text: text.to_owned(),
        html,
    }
}

/// A rendered message, ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// Subject line (one line).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

impl std::fmt::Debug for RenderedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies carry the link or code.
        f.debug_struct("RenderedMail")
            .field("subject", &self.subject)
            .field("text", &"***")
            .field("html", &"***")
            .finish()
    }
}

/// The mail templates: built-in defaults, each overridable by a file in `email.templates_dir`.
///
/// For each [`MailKind`] the files are `<kind>.subject`, `<kind>.txt` and `<kind>.html`
/// (e.g. `magic_link.txt`, `email_otp.html`). Placeholders are `{{link}}` (or `{{code}}` for
/// `email_otp`), `{{email}}` and `{{ttl_minutes}}` (spaces inside the braces are allowed);
/// anything else in braces is left as it is.
///
/// ```
/// let templates = authfort_core::delivery::Templates::default();
/// let mail = templates.magic_link("https://auth.example.com/confirm#token=abc", "alice@example.com", 10);
/// assert_eq!(mail.subject, "Your sign-in link");
/// assert!(mail.text.contains("https://auth.example.com/confirm#token=abc"));
/// let code = templates.email_otp("042917", "alice@example.com", 5);
/// assert!(code.text.contains("042917"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    kinds: Vec<Template>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            kinds: MailKind::ALL.iter().map(|k| built_in(*k)).collect(),
        }
    }
}

impl Templates {
    /// Built-ins, each overridden by a file in `email.templates_dir` if present.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `email.templates_dir` when the directory or a present file
    /// cannot be read, a subject is empty or spans lines, or a body lacks its `{{link}}`
    /// (`{{code}}` for `email_otp`).
    pub fn load(config: &EmailConfig) -> Result<Templates, ConfigError> {
        let mut templates = Templates::default();
        let Some(dir) = config.templates_dir.as_deref() else {
            return Ok(templates);
        };
        let dir = Path::new(dir);
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(config_error(KEY, format!("{} is not a directory", dir.display()))),
            Err(e) => return Err(config_error(KEY, format!("cannot read {}: {e}", dir.display()))),
        }
        for kind in MailKind::ALL {
            let stem = kind.as_str();
            let template = &mut templates.kinds[kind.index()];
            if let Some(subject) = read_override(dir, &format!("{stem}.subject"))? {
                let subject = subject.trim();
                if subject.is_empty() || subject.contains(['\r', '\n']) {
                    return Err(config_error(KEY, format!("{stem}.subject must be one non-empty line")));
                }
                template.subject = subject.to_owned();
            }
            let needed = kind.secret_placeholder();
            for (name, slot) in [
                (format!("{stem}.txt"), &mut template.text),
                (format!("{stem}.html"), &mut template.html),
            ] {
                if let Some(body) = read_override(dir, &name)? {
                    if !placeholders(&body).any(|p| p == needed) {
                        return Err(config_error(KEY, format!("{name} must contain {{{{{needed}}}}}")));
                    }
                    *slot = body;
                }
            }
        }
        Ok(templates)
    }

    /// Renders a mail of `kind`: `secret` fills `{{link}}` (or `{{code}}`). Values are
    /// HTML-escaped in the HTML body; CR and LF are removed from the subject.
    pub fn render(&self, kind: MailKind, secret: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        let template = &self.kinds[kind.index()];
        let ttl = ttl_minutes.to_string();
        let placeholder = kind.secret_placeholder();
        let values = |name: &str| match name {
            n if n == placeholder => Some(secret),
            "email" => Some(email),
            "ttl_minutes" => Some(ttl.as_str()),
            _ => None,
        };
        let subject = render(&template.subject, &values, false)
            .replace(['\r', '\n'], " ")
            .trim()
            .to_owned();
        RenderedMail {
            subject,
            text: render(&template.text, &values, false),
            html: render(&template.html, &values, true),
        }
    }

    /// Renders the magic-link mail.
    pub fn magic_link(&self, link: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        self.render(MailKind::MagicLink, link, email, ttl_minutes)
    }

    /// Renders the email-verification mail.
    pub fn email_verification(&self, link: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        self.render(MailKind::EmailVerification, link, email, ttl_minutes)
    }

    /// Renders the sign-in code mail.
    pub fn email_otp(&self, code: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        self.render(MailKind::EmailOtp, code, email, ttl_minutes)
    }

    /// Renders the password-reset mail.
    pub fn password_reset(&self, link: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        self.render(MailKind::PasswordReset, link, email, ttl_minutes)
    }
}

/// The file's contents, `None` when it does not exist.
fn read_override(dir: &Path, name: &str) -> Result<Option<String>, ConfigError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(config_error(KEY, format!("cannot read {}: {e}", path.display()))),
    }
}

/// The names of the `{{…}}` placeholders in `template`.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    let mut rest = template;
    std::iter::from_fn(move || {
        let start = rest.find("{{")?;
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        rest = &after[end + 2..];
        Some(after[..end].trim())
    })
}

/// One pass over `template`: substituted values are never scanned for placeholders again.
fn render<'a>(template: &str, values: &impl Fn(&str) -> Option<&'a str>, html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match values(after[..end].trim()) {
            Some(v) if html => escape_html(v, &mut out),
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn escape_html(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
