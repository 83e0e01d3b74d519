//! Mail templates: built-in defaults, each overridable by a file in `email.templates_dir`.

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
        // The bodies carry the link.
        f.debug_struct("RenderedMail")
            .field("subject", &self.subject)
            .field("text", &"***")
            .field("html", &"***")
            .finish()
    }
}

/// The mail templates: built-in defaults, each overridable by a file in `email.templates_dir`.
///
/// Placeholders are `{{link}}`, `{{email}}` and `{{ttl_minutes}}` (spaces inside the braces
/// are allowed); anything else in braces is left as it is.
///
/// ```
/// let templates = authfort_core::delivery::Templates::default();
/// let mail = templates.magic_link("https://auth.example.com/confirm#token=abc", "alice@example.com", 10);
/// assert_eq!(mail.subject, "Your sign-in link");
/// assert!(mail.text.contains("https://auth.example.com/confirm#token=abc"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    magic_link_subject: String,
    magic_link_text: String,
    magic_link_html: String,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            magic_link_subject: MAGIC_LINK_SUBJECT.to_owned(),
            magic_link_text: MAGIC_LINK_TEXT.to_owned(),
            magic_link_html: MAGIC_LINK_HTML.to_owned(),
        }
    }
}

impl Templates {
    /// Built-ins, each overridden by a file in `email.templates_dir` if present:
    /// `magic_link.subject`, `magic_link.txt`, `magic_link.html`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `email.templates_dir` when the directory or a present file
    /// cannot be read, the subject is empty or spans lines, or a body lacks `{{link}}`.
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
        if let Some(subject) = read_override(dir, "magic_link.subject")? {
            let subject = subject.trim();
            if subject.is_empty() || subject.contains(['\r', '\n']) {
                return Err(config_error(KEY, "magic_link.subject must be one non-empty line"));
            }
            templates.magic_link_subject = subject.to_owned();
        }
        for (name, slot) in [
            ("magic_link.txt", &mut templates.magic_link_text),
            ("magic_link.html", &mut templates.magic_link_html),
        ] {
            if let Some(body) = read_override(dir, name)? {
                if !placeholders(&body).any(|p| p == "link") {
                    return Err(config_error(KEY, format!("{name} must contain {{{{link}}}}")));
                }
                *slot = body;
            }
        }
        Ok(templates)
    }

    /// Renders the magic-link mail. Values are HTML-escaped in the HTML body; CR and LF are
    /// removed from the subject.
    pub fn magic_link(&self, link: &str, email: &str, ttl_minutes: u64) -> RenderedMail {
        let ttl = ttl_minutes.to_string();
        let values = |name: &str| match name {
            "link" => Some(link),
            "email" => Some(email),
            "ttl_minutes" => Some(ttl.as_str()),
            _ => None,
        };
        let subject = render(&self.magic_link_subject, &values, false)
            .replace(['\r', '\n'], " ")
            .trim()
            .to_owned();
        RenderedMail {
            subject,
            text: render(&self.magic_link_text, &values, false),
            html: render(&self.magic_link_html, &values, true),
        }
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
