//! Validation and sanitisation of user-supplied profile fields.
//!
//! These functions mirror the validators of the Python AuthFort v0.0.31 reference
//! (`authfort/core/validation.py`): `validate_user_email`, `sanitize_name`, `sanitize_phone`,
//! `validate_avatar_url` and `validate_password`. They return the same AuthFort error codes
//! and fixed messages, and the same normalised values, so a user row written by either
//! implementation looks the same.
//!
//! * [`normalize_email`] — `invalid_email`. The reference delegates to python
//!   `email-validator` 2.x (`check_deliverability=False`, default options: no quoted local
//!   parts, no IP-literal domains, no display names, special-use domains refused) and then
//!   lower-cases the result. That grammar is re-implemented here: a single dot-atom local part
//!   (ASCII `atext` or safe non-ASCII characters), a domain put through UTS-46 with the `idna`
//!   crate, returned in its Unicode form (`xn--bcher-kva.example` → `bücher.example`).
//! * [`sanitize_name`] / [`sanitize_phone`] — `invalid_name` / `invalid_phone`. The reference
//!   cleans with `nh3.clean(value, tags=set())`; `nh3` is a binding of the `ammonia` crate, so
//!   the same `ammonia` configuration (no tags allowed, `<script>`/`<style>` contents dropped,
//!   text HTML-escaped) is used here and the output is byte-for-byte the same.
//! * [`validate_avatar_url`] — `invalid_avatar_url`, following `urllib.parse.urlparse`.
//! * [`check_password`] — `password_too_short` / `password_too_long`, counted in characters.
//!
//! # Deliberate differences from the reference
//!
//! These only ever refuse more than the reference, except for the approximations noted in
//! the last two email items.
//!
//! * **Email: NFKC before validation.** The reference validates the raw string and only
//!   NFC-normalises the local part, so `a＠b@c.com` (FULLWIDTH COMMERCIAL AT in the local
//!   part) is *accepted* as the distinct address `a＠b@c.com`, and `ｊｏｈｎ@example.com` is
//!   stored apart from `john@example.com`. Here the trimmed input is NFKC-normalised first
//!   (UTS #39 recommends NFKC for identifiers): a fullwidth `＠` becomes a second `@` and the
//!   address is refused, and compatibility forms fold to one canonical address
//!   (`ｊｏｈｎ` → `john`, `Ⅻ` → `xii`). A lone fullwidth or small commercial at
//!   (`a＠b.com`) is refused, as the reference does, and so are domain characters that NFKC
//!   would expand into a full stop (`a@⒈com`).
//! * **Email: CR, LF or NUL anywhere** in the raw input is refused, even as trailing
//!   whitespace that the reference would strip (`"a@b.com\n"` is accepted by the reference).
//! * **Email: local part at most 64 octets** (RFC 5321 §4.5.3.1.1); the reference only checks
//!   that in `email-validator`'s non-default strict mode.
//! * **Email: domain characters.** The reference checks domains against IDNA 2008 with the
//!   python `idna` package; the Rust `idna` crate implements UTS-46, which also admits
//!   symbols such as emoji. Without a General_Category table in the dependencies, IDNA 2008
//!   is approximated: outside ASCII, a domain may hold letters, decimal digits and
//!   non-enclosing combining marks, less the RFC 5892 exceptions and a few listed marks.
//!   This refuses a few code points the reference accepts in context (the middle dot of
//!   Catalan `l·l`, the katakana middle dot `・`), and may admit the odd letter that IDNA 2008
//!   disallows.
//! * **Email: Unicode versions.** Character properties come from the Unicode tables of the
//!   Rust crates (Unicode 16+, newer than Python 3.11's Unicode 14 `unicodedata`), so a
//!   character assigned since Unicode 14 may be accepted where the reference sees an
//!   unassigned code point and refuses it. The reference itself varies with its Python.
//! * **Avatar URL:** ASCII control characters (including tab, CR and LF, which `urlparse`
//!   silently deletes before parsing) are refused, and the authority must name a host
//!   (`http://:80/` and `http://user@/` are refused; the reference only needs a non-empty
//!   netloc).
//! * **Password:** the reference has no upper bound; `max_chars` adds `password_too_long`.

use std::borrow::Cow;
use std::net::Ipv6Addr;
use std::sync::LazyLock;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use unicode_normalization::char::{is_combining_mark, is_public_assigned};
use unicode_normalization::UnicodeNormalization;

/// A refused field: the AuthFort error code and its fixed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The AuthFort error code, e.g. `invalid_email`.
    pub code: &'static str,
    /// The human-readable message, fixed per code (passwords embed the configured limit).
    pub message: String,
}

impl FieldError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

const INVALID_EMAIL: &str = "invalid_email";
const INVALID_NAME: &str = "invalid_name";
const INVALID_PHONE: &str = "invalid_phone";
const INVALID_AVATAR_URL: &str = "invalid_avatar_url";
const PASSWORD_TOO_SHORT: &str = "password_too_short";
const PASSWORD_TOO_LONG: &str = "password_too_long";

const MAX_EMAIL_CHARS: usize = 255;
const MAX_NAME_CHARS: usize = 255;
const MAX_PHONE_CHARS: usize = 50;
const MAX_AVATAR_URL_CHARS: usize = 2048;

/// RFC 5321 §4.5.3.1.3 (with errata): a whole address, in UTF-8 octets.
const EMAIL_MAX_OCTETS: usize = 254;
/// RFC 5321 §4.5.3.1.1: the local part, in UTF-8 octets.
const LOCAL_PART_MAX_OCTETS: usize = 64;
/// RFC 1035 §2.3.4, less the root dot: a domain name, in characters and in ASCII octets.
const DOMAIN_MAX_LENGTH: usize = 253;
/// RFC 1035 §2.3.1: one DNS label, in ASCII octets.
const DNS_LABEL_MAX_LENGTH: usize = 63;

/// IANA special-use / reserved names refused by `email-validator` by default (it allows
/// `example`, `example.com` and friends, so they are not listed).
const SPECIAL_USE_DOMAINS: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];

/// Printable ASCII allowed unquoted in a local part (RFC 5322 §3.2.3 `atext`), besides
/// letters and digits.
const ATEXT_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

fn invalid_email() -> FieldError {
    FieldError::new(INVALID_EMAIL, "Invalid email address")
}

fn invalid_avatar_url() -> FieldError {
    FieldError::new(INVALID_AVATAR_URL, "Avatar URL must be a valid http or https URL")
}

/// Validate and normalise an email address (`invalid_email`).
///
/// Returns the canonical, lower-cased address with the domain in its Unicode form. Refuses
/// anything that is not a single plain `local@domain.tld` address; see the module docs.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    // Header-injection guard: no CR, LF or NUL anywhere, even as surrounding whitespace.
    if raw.contains(['\r', '\n', '\0']) {
        return Err(invalid_email());
    }
    let email = py_strip(raw);
    if email.is_empty() {
        return Err(invalid_email());
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(FieldError::new(INVALID_EMAIL, "Email address is too long"));
    }
    // `email-validator` checks the length of the address as given, in octets.
    if email.len() > EMAIL_MAX_OCTETS {
        return Err(invalid_email());
    }
    // Homoglyphs of `@` are refused outright, as the reference does when no real `@` is
    // present (and, after NFKC below, whenever one is).
    if email.contains(['\u{FF20}', '\u{FE6B}']) {
        return Err(invalid_email());
    }
    // The reference refuses domain characters whose decomposition holds a full stop (e.g.
    // `⒈`, "1.", or the vertical `︒`), bar the full stops themselves; NFKC would otherwise
    // turn them into label separators.
    if let Some((_, domain)) = email.split_once('@') {
        if domain.chars().any(expands_to_full_stop) {
            return Err(invalid_email());
        }
    }
    let folded: String = email.nfkc().collect();
    validate_folded_email(&folded).ok_or_else(invalid_email)
}

/// A non-ASCII character other than a full stop whose NFKC form holds a UTS-46 label separator.
fn expands_to_full_stop(c: char) -> bool {
    const STOPS: [char; 4] = ['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'];
    !c.is_ascii() && !STOPS.contains(&c) && std::iter::once(c).nfkc().any(|d| STOPS.contains(&d))
}

/// Validate an NFKC-normalised, trimmed address; `Some(normalised)` if it is acceptable.
fn validate_folded_email(email: &str) -> Option<String> {
    if email.len() > EMAIL_MAX_OCTETS {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    if domain.contains('@') {
        return None;
    }
    if !valid_local_part(local) {
        return None;
    }
    let (ascii_domain, unicode_domain) = validate_domain(domain)?;

    let normalized = format!("{local}@{unicode_domain}");
    if normalized.len() > EMAIL_MAX_OCTETS || local.len() + 1 + ascii_domain.len() > EMAIL_MAX_OCTETS {
        return None;
    }
    Some(normalized.to_lowercase())
}

/// A dot-atom local part: `atext` runs separated by single dots, where `atext` is the RFC 5322
/// set for ASCII plus the non-ASCII characters `email-validator` accepts (RFC 6531).
fn valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > LOCAL_PART_MAX_OCTETS {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    local.chars().enumerate().all(|(i, c)| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(c)
        } else {
            safe_non_ascii(c, i == 0)
        }
    })
}

/// `email-validator`'s `check_unsafe_chars` for one non-ASCII character: letters, numbers,
/// punctuation and symbols are allowed; combining marks except in first position; no
/// separators (spaces, line/paragraph separators), controls, format characters, private-use
/// or unassigned code points.
fn safe_non_ascii(c: char, first: bool) -> bool {
    if !is_public_assigned(c) || c.is_control() || c.is_whitespace() || is_format_char(c) {
        return false;
    }
    !(first && is_combining_mark(c))
}

/// Unicode General_Category=Cf (format characters), which `email-validator` refuses.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// A character that may appear in a domain label outside ASCII. This approximates IDNA 2008
/// PVALID (RFC 5892: letters, decimal digits and non-enclosing marks, no symbols or
/// punctuation), which the reference enforces through python `idna`; the `idna` crate
/// implements UTS-46, which also lets symbols such as emoji through.
fn idna_letter_digit_mark(c: char) -> bool {
    let disallowed = matches!(
        c,
        // RFC 5892 §2.6 exceptions: DISALLOWED.
        '\u{0640}' | '\u{07FA}' | '\u{302E}' | '\u{302F}' | '\u{3031}'..='\u{3035}' | '\u{303B}'
        // RFC 5892 §2.9 OldHangulJamo (conjoining jamo).
        | '\u{1100}'..='\u{11FF}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}'
        // General_Category=Me (enclosing marks).
        | '\u{0488}'..='\u{0489}' | '\u{1ABE}' | '\u{A670}'..='\u{A672}'
        // Marks that IDNA 2008 leaves DISALLOWED: combining marks for symbols, musical
        // symbol marks, variation selectors and other default-ignorable or unstable marks.
        | '\u{20D0}'..='\u{20F0}' | '\u{1D165}'..='\u{1D1AD}' | '\u{1D242}'..='\u{1D244}'
        | '\u{0345}' | '\u{034F}' | '\u{17B4}'..='\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
        // Circled and squared letters: symbols (So) that are nonetheless Alphabetic.
        | '\u{24B6}'..='\u{24E9}' | '\u{1F130}'..='\u{1F189}'
    );
    if disallowed {
        false
    } else if c.is_numeric() {
        // Only decimal digits (Nd), and U+3007 (an RFC 5892 PVALID exception); letter-like
        // numbers (Nl) and other numbers (No) are DISALLOWED.
        c == '\u{3007}' || is_decimal_digit(c)
    } else {
        c.is_alphabetic() || is_combining_mark(c)
    }
}

/// First code points (digit zero) of the non-ASCII General_Category=Nd runs; every run is
/// ten consecutive digits zero to nine. Taken from Unicode 14 (Python 3.11's `unicodedata`).
const DECIMAL_DIGIT_ZEROS: [u32; 65] = [
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0, 0xF20,
    0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0,
    0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0,
    0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn is_decimal_digit(c: char) -> bool {
    let c = u32::from(c);
    DECIMAL_DIGIT_ZEROS.iter().any(|&zero| (zero..zero + 10).contains(&c))
}

/// Validate the domain part; `Some((ascii_form, unicode_form))` if it is acceptable.
fn validate_domain(domain: &str) -> Option<(String, String)> {
    if domain.is_empty() || domain.chars().count() > DOMAIN_MAX_LENGTH {
        return None;
    }
    // Before UTS-46 mapping: LDH and dots in ASCII (no `[`, so no IP literals; no spaces,
    // comments or commas); outside ASCII, no unsafe characters. What UTS-46 maps them to is
    // checked afterwards.
    let chars_ok = domain.chars().enumerate().all(|(i, c)| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '-' || c == '.'
        } else {
            safe_non_ascii(c, i == 0)
        }
    });
    if !chars_ok {
        return None;
    }

    let uts46 = Uts46::new();
    let ascii = uts46
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Verify,
        )
        .ok()?
        .to_ascii_lowercase();
    if !valid_ascii_hostname(&ascii) {
        return None;
    }
    if SPECIAL_USE_DOMAINS
        .iter()
        .any(|d| ascii == *d || ascii.ends_with(&format!(".{d}")))
    {
        return None;
    }

    let unicode: Cow<'_, str> = if ascii.contains("xn--") {
        let (unicode, result) = uts46.to_unicode(ascii.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
        result.ok()?;
        unicode
    } else {
        Cow::Borrowed(ascii.as_str())
    };
    let unicode_ok = unicode.chars().all(|c| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '-' || c == '.'
        } else {
            idna_letter_digit_mark(c)
        }
    });
    if !unicode_ok {
        return None;
    }
    let unicode = unicode.into_owned();
    Some((ascii, unicode))
}

/// RFC 952/1123 host name in ASCII, as `email-validator` requires of the IDNA-encoded domain:
/// LDH labels of 1–63 octets not starting or ending with a hyphen, no `??--` labels other than
/// Punycode, at most 253 octets, at least one dot, and a top-level domain ending in a letter.
fn valid_ascii_hostname(ascii: &str) -> bool {
    if ascii.is_empty() || ascii.len() > DOMAIN_MAX_LENGTH || !ascii.contains('.') {
        return false;
    }
    if !ascii.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return false;
    }
    ascii.split('.').all(|label| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= DNS_LABEL_MAX_LENGTH
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
            && !(bytes.len() >= 4 && &bytes[2..4] == b"--" && !bytes[..2].eq_ignore_ascii_case(b"xn"))
    })
}

/// The `ammonia` configuration equivalent to `nh3.clean(value, tags=set())`: no tags kept,
/// the contents of `<script>` and `<style>` dropped, comments stripped, text HTML-escaped.
static TEXT_ONLY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder.clean_content_tags(["script", "style"].into_iter().collect());
    builder.strip_comments(true);
    builder
});

/// Strip all HTML (as `nh3.clean(.., tags=set())`) and then C0/C1 control characters other
/// than tab, LF and CR (the reference's `[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]`).
fn strip_html_and_controls(raw: &str) -> String {
    let cleaned = TEXT_ONLY.clean(raw).to_string();
    cleaned.chars().filter(|c| !is_stripped_control(*c)).collect()
}

fn is_stripped_control(c: char) -> bool {
    matches!(c, '\u{00}'..='\u{08}' | '\u{0B}' | '\u{0C}' | '\u{0E}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

/// Python's `str.isspace()`: Unicode White_Space plus the information separators U+001C–U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Python's `str.strip()` with no arguments.
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Sanitise a display name (`invalid_name`).
///
/// Strips all HTML (dropping `<script>`/`<style>` contents, escaping text like `nh3`), then
/// C0/C1 control characters, and collapses whitespace runs to one space. `None`, or nothing
/// left, gives `Ok(None)`; more than 255 characters is refused.
pub fn sanitize_name(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let cleaned = strip_html_and_controls(raw);
    let cleaned = cleaned
        .split(py_isspace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() {
        return Ok(None);
    }
    if cleaned.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(INVALID_NAME, "Name must be 255 characters or fewer"));
    }
    Ok(Some(cleaned))
}

/// Sanitise a phone number (`invalid_phone`).
///
/// Strips HTML and control characters and trims; `None` or nothing left gives `Ok(None)`.
/// What remains may hold only ASCII digits, whitespace, `-`, `(`, `)`, `.` and `+`, and at
/// most 50 characters (checked in that order, as the reference does).
pub fn sanitize_phone(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let cleaned = strip_html_and_controls(raw);
    let cleaned = py_strip(&cleaned);
    if cleaned.is_empty() {
        return Ok(None);
    }
    // Python's `^[0-9\s\-\(\)\.\+]+$`, where `\s` is `str.isspace()`.
    let allowed = |c: char| c.is_ascii_digit() || py_isspace(c) || matches!(c, '-' | '(' | ')' | '.' | '+');
    if !cleaned.chars().all(allowed) {
        return Err(FieldError::new(
            INVALID_PHONE,
            "Phone number contains invalid characters",
        ));
    }
    if cleaned.chars().count() > MAX_PHONE_CHARS {
        return Err(FieldError::new(
            INVALID_PHONE,
            "Phone number must be 50 characters or fewer",
        ));
    }
    Ok(Some(cleaned.to_owned()))
}

/// Validate an avatar URL (`invalid_avatar_url`).
///
/// Trims; `None` or empty gives `Ok(None)`. More than 2048 characters is refused; otherwise
/// the URL must parse (as Python's `urlparse` does) with scheme `http` or `https` and an
/// authority naming a host. The trimmed input is returned unchanged.
pub fn validate_avatar_url(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let url = py_strip(raw);
    if url.is_empty() {
        return Ok(None);
    }
    if url.chars().count() > MAX_AVATAR_URL_CHARS {
        return Err(FieldError::new(INVALID_AVATAR_URL, "Avatar URL is too long"));
    }
    if url.chars().any(|c| c.is_ascii_control()) {
        return Err(invalid_avatar_url());
    }
    let netloc = http_netloc(url).ok_or_else(invalid_avatar_url)?;
    if !netloc_has_host(netloc) {
        return Err(invalid_avatar_url());
    }
    Ok(Some(url.to_owned()))
}

/// `urllib.parse.urlsplit` reduced to what the reference checks: `Some(netloc)` when the
/// scheme is `http`/`https` (case-insensitive), the netloc is non-empty and `urlsplit` would
/// not raise. The input has no ASCII controls, so urlsplit's stripping of C0 characters and
/// deletion of tab/CR/LF do not apply.
fn http_netloc(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let rest = url[colon + 1..].strip_prefix("//")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let netloc = &rest[..end];
    if netloc.is_empty() {
        return None;
    }
    let (open, close) = (netloc.contains('['), netloc.contains(']'));
    if open != close {
        return None; // "Invalid IPv6 URL"
    }
    if open {
        let bracketed = netloc.split_once('[')?.1;
        let host = bracketed.split_once(']').map_or(bracketed, |(h, _)| h);
        if !valid_bracketed_host(host) {
            return None;
        }
    }
    if !netloc_nfkc_ok(netloc) {
        return None;
    }
    Some(netloc)
}

/// urllib's `_check_bracketed_host`: `v<hex>.<anything>` (IPvFuture) or an IPv6 address,
/// optionally with a non-empty `%zone`; IPv4 is not allowed in brackets.
fn valid_bracketed_host(host: &str) -> bool {
    if let Some(future) = host.strip_prefix('v') {
        return match future.split_once('.') {
            Some((hex, rest)) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) && !rest.is_empty(),
            None => false,
        };
    }
    let addr = match host.split_once('%') {
        Some((addr, zone)) if !zone.is_empty() && !zone.contains('%') => addr,
        Some(_) => return false,
        None => host,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

/// urllib's `_checknetloc`: a non-ASCII netloc must not gain `/ ? # @ :` under NFKC.
fn netloc_nfkc_ok(netloc: &str) -> bool {
    if netloc.is_ascii() {
        return true;
    }
    let n: String = netloc.chars().filter(|c| !matches!(c, '@' | ':' | '#' | '?')).collect();
    let folded: String = n.nfkc().collect();
    folded == n || !folded.contains(['/', '?', '#', '@', ':'])
}

/// The netloc names a host: something non-empty remains after dropping `userinfo@` and `:port`.
fn netloc_has_host(netloc: &str) -> bool {
    let host_port = netloc.rsplit_once('@').map_or(netloc, |(_, hp)| hp);
    let host = if host_port.starts_with('[') {
        host_port.split_once(']').map_or(host_port, |(h, _)| &h[1..])
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    !host.is_empty()
}

/// Check a password's length in characters (not bytes) against the configured bounds.
///
/// Fewer than `min_chars` characters (or an empty password, as in the reference) gives
/// `password_too_short`, "Password must be at least {min_chars} characters"; more than
/// `max_chars` gives `password_too_long`, "Password must be at most {max_chars} characters".
pub fn check_password(password: &str, min_chars: usize, max_chars: usize) -> Result<(), FieldError> {
    let n = password.chars().count();
    if password.is_empty() || n < min_chars {
        return Err(FieldError::new(
            PASSWORD_TOO_SHORT,
            format!("Password must be at least {min_chars} characters"),
        ));
    }
    if n > max_chars {
        return Err(FieldError::new(
            PASSWORD_TOO_LONG,
            format!("Password must be at most {max_chars} characters"),
        ));
    }
    Ok(())
}

/// Longest role name, in characters (the reference's column size).
pub const MAX_ROLE_CHARS: usize = 50;

/// A role name: 1 to [`MAX_ROLE_CHARS`] characters, no whitespace or control characters.
///
/// ```
/// use authfort_core::validation::validate_role;
/// assert!(validate_role("billing:read").is_ok());
/// assert_eq!(validate_role("two words").unwrap_err().code, "invalid_role");
/// ```
///
/// # Errors
/// `invalid_role` with a message saying what is wrong.
pub fn validate_role(role: &str) -> Result<(), FieldError> {
    let chars = role.chars().count();
    let message = if chars == 0 {
        "A role must not be empty".to_owned()
    } else if chars > MAX_ROLE_CHARS {
        format!("A role must be at most {MAX_ROLE_CHARS} characters")
    } else if role.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "A role must not contain whitespace or control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(FieldError {
        code: "invalid_role",
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values below were produced by the Python reference (authfort 0.0.31 with
    // email-validator 2.4.0 and nh3 0.3.8) unless a comment says the Rust port differs.

    fn email_ok(raw: &str) -> String {
        normalize_email(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e:?}"))
    }

    fn assert_email_invalid(raw: &str) {
        assert_eq!(
            normalize_email(raw),
            Err(FieldError::new("invalid_email", "Invalid email address")),
            "{raw:?} should be refused"
        );
    }

    #[test]
    fn email_basic_normalisation() {
        assert_eq!(email_ok("alice@example.com"), "alice@example.com");
        assert_eq!(email_ok("A@B.COM"), "a@b.com");
        assert_eq!(email_ok("JOHN.DOE@EXAMPLE.COM"), "john.doe@example.com");
        assert_eq!(email_ok("  a@b.com  "), "a@b.com");
        assert_eq!(email_ok("\u{3000}a@b.com\t"), "a@b.com");
        assert_eq!(email_ok("a.b.c+tag@sub.domain.co.uk"), "a.b.c+tag@sub.domain.co.uk");
        assert_eq!(email_ok("!#$%&'*+/=?^_`{|}~-@x.com"), "!#$%&'*+/=?^_`{|}~-@x.com");
    }

    #[test]
    fn email_unicode_and_idna() {
        assert_eq!(email_ok("Bücher@Example.COM"), "bücher@example.com");
        assert_eq!(email_ok("Ünïcødé@Bücher.DE"), "ünïcødé@bücher.de");
        // Punycode is returned in its Unicode form, whatever its case.
        assert_eq!(email_ok("a@xn--bcher-kva.example"), "a@bücher.example");
        assert_eq!(email_ok("a@XN--BCHER-KVA.example"), "a@bücher.example");
        assert_eq!(email_ok("a@b.xn--p1ai"), "a@b.рф");
        assert_eq!(email_ok("a@xn--zca.com"), "a@ß.com");
        assert_eq!(email_ok("a@straße.de"), "a@straße.de");
        assert_eq!(email_ok("δοκιμή@παράδειγμα.δοκιμή"), "δοκιμή@παράδειγμα.δοκιμή");
        assert_eq!(email_ok("用户@例子.广告"), "用户@例子.广告");
        assert_eq!(email_ok("a@אב.com"), "a@אב.com");
        // Ideographic and fullwidth full stops separate labels, as in UTS-46.
        assert_eq!(email_ok("a@b。com"), "a@b.com");
        assert_eq!(email_ok("a@example.ｃｏｍ"), "a@example.com");
        // Invalid IDNA.
        assert_email_invalid("a@xn--abc.com");
        assert_email_invalid("a@xn--.com");
        assert_email_invalid("a@ab--cd.com");
        // Symbols are not IDNA 2008, even where UTS-46 would let them through.
        assert_email_invalid("a@☃.com");
        assert_email_invalid("a@xn--n3h.com");
        assert_email_invalid("a@ـ.com");
        // Bidi rule across labels.
        assert_email_invalid("a@1.אב.com");
        assert_email_invalid("a@אב.1.com");
        // Invisible and combining characters.
        assert_email_invalid("a\u{200D}b@c.com");
        assert_email_invalid("a@exa\u{200B}mple.com");
        assert_email_invalid("a@ex\u{AD}ample.com");
        assert_email_invalid("\u{301}a@b.com");
        assert_email_invalid("a@\u{301}b.com");
        assert_email_invalid("a\u{E000}@b.com");
    }

    #[test]
    fn email_nfkc_before_validation() {
        // Deliberate difference: the reference keeps these distinct from their ASCII forms.
        assert_eq!(email_ok("ｊｏｈｎ@example.com"), "john@example.com");
        assert_eq!(email_ok("a@ⓔⓧⓐⓜⓟⓛⓔ.com"), "a@example.com");
        // The reference accepts these as addresses whose local part contains an at-sign
        // look-alike; NFKC turns it into a second `@`.
        assert_email_invalid("a＠b@c.com");
        assert_email_invalid("a﹫b@c.com");
        assert_email_invalid("a@b.com＠evil.com");
        // A lone look-alike is no at-sign at all (the reference refuses it too).
        assert_email_invalid("a＠b.com");
        assert_email_invalid("a﹫b.com");
        // Characters that expand to a full stop.
        assert_email_invalid("a@⒈com");
        assert_email_invalid("a@b︒com");
    }

    #[test]
    fn email_special_use_domains() {
        for raw in [
            "a@b.test",
            "x@localhost",
            "x@foo.local",
            "a@b.onion",
            "a@sub.b.arpa",
            "a@b.invalid",
            "a@foo.localhost",
            "a@test",
        ] {
            assert_email_invalid(raw);
        }
        // `example` names are allowed by default, and only whole labels count.
        assert_eq!(email_ok("a@example.com"), "a@example.com");
        assert_eq!(email_ok("a@mail.example"), "a@mail.example");
        assert_eq!(email_ok("a@test.com"), "a@test.com");
        assert_eq!(email_ok("a@local.com"), "a@local.com");
        assert_eq!(email_ok("a@contest.org"), "a@contest.org");
    }

    #[test]
    fn email_grammar() {
        for raw in [
            "",
            "   ",
            "a",
            "@b.com",
            "a@",
            "a@b",
            "a@example",
            "a@b.com.",
            "a@b..com",
            "a@.b.com",
            "a@-b.com",
            "a@b-.com",
            "a@b.c1",
            "a@b.123",
            "a@1.2.3.4",
            "a@exa_mple.com",
            "a@b .com",
            "\"a\"@b.com",
            "\"a b\"@c.com",
            "a\\b@c.com",
            "a@[1.2.3.4]",
            "a@[IPv6:::1]",
            "a@b@c.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a b@c.com",
            "a(c)@b.com",
            "a@b.com(c)",
            "Joe <a@b.com>",
            "<a@b.com>",
            "a:b@c.com",
            "a@b%c.com",
        ] {
            assert_email_invalid(raw);
        }
    }

    #[test]
    fn email_injection_payloads() {
        for raw in [
            "a@b.com\r\nBcc: c@d.com",
            "a@b.com\nBcc: c@d.com",
            "a@b.com%0d%0aBcc:c@d.com",
            "\"a@b.com\r\nX: y\"@c.com",
            // Deliberate difference: the reference strips a trailing CR/LF and accepts these.
            "a@b.com\n",
            "a@b.com\r",
            "\na@b.com",
            "a@b.com\0",
            "a\0@b.com",
            // Lists of addresses.
            "a@b.com,c@d.com",
            "a@b.com, c@d.com",
            "a@b.com;c@d.com",
            "a@b.com c@d.com",
            // Markup.
            "<script>alert(1)</script>@x.com",
            "<script>@x.com",
            "a@<script>.com",
            "x@x.com<script>",
            "a@x.com\"><script>alert(1)</script>",
            // SQL.
            "' OR 1=1--@x.com",
            "1' OR '1'='1@x.com",
            "admin@x.com'--",
            "a@x.com; DROP TABLE users;--",
            "a;DROP TABLE users@x.com",
        ] {
            assert_email_invalid(raw);
        }
        // Apostrophes and hyphens are plain `atext`: the reference accepts these, and
        // queries must be parameterised anyway.
        assert_eq!(email_ok("admin'--@x.com"), "admin'--@x.com");
        assert_eq!(email_ok("o'brien@example.ie"), "o'brien@example.ie");
    }

    #[test]
    fn email_lengths() {
        let too_long = Err(FieldError::new("invalid_email", "Email address is too long"));
        assert_eq!(normalize_email(&"a".repeat(256)), too_long);
        assert_eq!(normalize_email(&format!("{}@b.com", "a".repeat(250))), too_long);
        // 255 characters is not "too long", but is over the 254-octet address limit.
        assert_email_invalid(&format!("{}@b.com", "a".repeat(249)));
        // Fewer than 255 characters, but more than 254 UTF-8 octets.
        assert_email_invalid(&format!("{}@b.com", "é".repeat(125)));
        assert_eq!(
            normalize_email(&format!(" {}@b.com ", "a".repeat(64))).map(|s| s.len()),
            Ok(70)
        );
        // Local part: 64 octets (the reference does not check this; see module docs).
        assert_email_invalid(&format!("{}@b.com", "a".repeat(65)));
        assert_email_invalid(&format!("{}@b.com", "é".repeat(33)));
        assert!(normalize_email(&format!("{}@b.com", "é".repeat(32))).is_ok());
        // Labels: 63 octets.
        assert!(normalize_email(&format!("a@{}.com", "a".repeat(63))).is_ok());
        assert_email_invalid(&format!("a@{}.com", "a".repeat(64)));
        // Whole address: 254 octets (so the domain can never reach its own 253 limit).
        let domain_250 = format!(
            "{}.{}.{}.{}.com",
            "a".repeat(62),
            "b".repeat(62),
            "c".repeat(62),
            "d".repeat(57)
        );
        assert_eq!(domain_250.len(), 250);
        assert!(normalize_email(&format!("abc@{domain_250}")).is_ok());
        assert_email_invalid(&format!("abcd@{domain_250}"));
    }

    #[test]
    fn name_sanitisation() {
        let name = |raw: &str| sanitize_name(Some(raw)).unwrap();
        assert_eq!(sanitize_name(None), Ok(None));
        assert_eq!(name("John <b>Doe</b>").as_deref(), Some("John Doe"));
        assert_eq!(name("<svg onload=alert(1)>"), None);
        assert_eq!(name("John\x00\x01Doe").as_deref(), Some("JohnDoe"));
        assert_eq!(name("a < b & c").as_deref(), Some("a &lt; b &amp; c"));
        assert_eq!(name("it's \"x\"").as_deref(), Some("it's \"x\""));
        assert_eq!(name("  John \t\n  Doe  ").as_deref(), Some("John Doe"));
        assert_eq!(name("<script>alert(1)</script>Bob").as_deref(), Some("Bob"));
        assert_eq!(name("<style>*{}</style>Al").as_deref(), Some("Al"));
        assert_eq!(name("<img src=x onerror=alert(1)>Eve").as_deref(), Some("Eve"));
        assert_eq!(name("<!-- hi -->Ann").as_deref(), Some("Ann"));
        assert_eq!(name("Jo\u{A0}hn").as_deref(), Some("Jo&nbsp;hn"));
        assert_eq!(name("&lt;b&gt;").as_deref(), Some("&lt;b&gt;"));
        assert_eq!(name("Zoë 日本 😀").as_deref(), Some("Zoë 日本 😀"));
        assert_eq!(
            name("Robert'); DROP TABLE users;--").as_deref(),
            Some("Robert'); DROP TABLE users;--")
        );
        assert_eq!(name("\x7f\u{85}\u{9f}"), None);
        assert_eq!(name("   "), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn name_length() {
        let err = Err(FieldError::new("invalid_name", "Name must be 255 characters or fewer"));
        assert_eq!(sanitize_name(Some(&"x".repeat(255))), Ok(Some("x".repeat(255))));
        assert_eq!(sanitize_name(Some(&"é".repeat(255))), Ok(Some("é".repeat(255))));
        assert_eq!(sanitize_name(Some(&"x".repeat(256))), err);
        // Counted after cleaning: tags do not count, escapes do.
        assert_eq!(
            sanitize_name(Some(&format!("<b>{}</b>", "x".repeat(255)))),
            Ok(Some("x".repeat(255)))
        );
        assert_eq!(sanitize_name(Some(&format!("{} &", "a".repeat(250)))), err);
    }

    #[test]
    fn phone_sanitisation() {
        let phone = |raw: &str| sanitize_phone(Some(raw));
        let invalid = Err(FieldError::new(
            "invalid_phone",
            "Phone number contains invalid characters",
        ));
        let too_long = Err(FieldError::new(
            "invalid_phone",
            "Phone number must be 50 characters or fewer",
        ));
        assert_eq!(sanitize_phone(None), Ok(None));
        assert_eq!(phone("+1 (555) 123-4567"), Ok(Some("+1 (555) 123-4567".into())));
        assert_eq!(phone("  +44 20 7946 0958\t"), Ok(Some("+44 20 7946 0958".into())));
        assert_eq!(phone("<b>555</b>"), Ok(Some("555".into())));
        assert_eq!(phone("555\x00\x01666"), Ok(Some("555666".into())));
        assert_eq!(phone("1.555.123"), Ok(Some("1.555.123".into())));
        assert_eq!(phone("   "), Ok(None));
        assert_eq!(phone("<script>1</script>"), Ok(None));
        assert_eq!(phone("555-CALL"), invalid);
        assert_eq!(phone("5&5"), invalid);
        assert_eq!(phone("555\u{A0}1234"), invalid);
        assert_eq!(phone("١٢"), invalid);
        assert_eq!(phone("' OR 1=1--"), invalid);
        assert_eq!(phone(&"1".repeat(50)), Ok(Some("1".repeat(50))));
        assert_eq!(phone(&"1".repeat(51)), too_long);
        // Characters are checked before length.
        assert_eq!(phone(&format!("{}x", "1".repeat(50))), invalid);
    }

    #[test]
    fn avatar_url() {
        let url = |raw: &str| validate_avatar_url(Some(raw));
        let invalid = Err(FieldError::new(
            "invalid_avatar_url",
            "Avatar URL must be a valid http or https URL",
        ));
        assert_eq!(validate_avatar_url(None), Ok(None));
        assert_eq!(url("   "), Ok(None));
        assert_eq!(
            url("https://cdn.example.com/a.png"),
            Ok(Some("https://cdn.example.com/a.png".into()))
        );
        assert_eq!(url("  https://x.com/a.png  "), Ok(Some("https://x.com/a.png".into())));
        assert_eq!(
            url("HTTP://Example.com/A.png"),
            Ok(Some("HTTP://Example.com/A.png".into()))
        );
        assert_eq!(
            url("https://user:pw@x.com/a"),
            Ok(Some("https://user:pw@x.com/a".into()))
        );
        assert_eq!(url("https://[::1]/a.png"), Ok(Some("https://[::1]/a.png".into())));
        for raw in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://x.com/a.png",
            "example.com/a.png",
            "//example.com/a.png",
            "http:x.com",
            "https:/x.com",
            "http://",
            "http:///a.png",
            "http://[::1",
            "http://[1.2.3.4]/",
            "http://a\u{2100}b.com/",
            // Deliberate differences: no host, or control characters.
            "http://:80/a.png",
            "http://user@/a.png",
            "http://x.com/a\r\nb",
            "http://x.com/\ta",
            "\x01http://x.com/",
        ] {
            assert_eq!(url(raw), invalid, "{raw:?}");
        }
        let long = format!("http://x.com/{}", "a".repeat(2048 - 13));
        assert_eq!(long.chars().count(), 2048);
        assert_eq!(url(&long), Ok(Some(long.clone())));
        assert_eq!(
            url(&format!("{long}a")),
            Err(FieldError::new("invalid_avatar_url", "Avatar URL is too long"))
        );
    }

    #[test]
    fn password_lengths() {
        assert_eq!(check_password("12345678", 8, 128), Ok(()));
        assert_eq!(
            check_password("1234567", 8, 128),
            Err(FieldError::new(
                "password_too_short",
                "Password must be at least 8 characters"
            ))
        );
        assert_eq!(check_password(&"x".repeat(128), 8, 128), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(129), 8, 128),
            Err(FieldError::new(
                "password_too_long",
                "Password must be at most 128 characters"
            ))
        );
        // Characters, not bytes.
        assert_eq!(check_password("éééééééé", 8, 8), Ok(()));
        assert_eq!(
            check_password("ééééééé", 8, 100).map_err(|e| e.code),
            Err("password_too_short")
        );
        assert_eq!(check_password("😀😀😀", 1, 3), Ok(()));
        // An empty password is always too short, as in the reference.
        assert_eq!(
            check_password("", 0, 10),
            Err(FieldError::new(
                "password_too_short",
                "Password must be at least 0 characters"
            ))
        );
        assert_eq!(FieldError::new("x", "msg").to_string(), "msg");
    }

    /// xorshift64*: a small deterministic generator, so the fuzz test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "a",
                "Z",
                "0",
                "9",
                ".",
                "-",
                "_",
                "+",
                "@",
                "@",
                "@",
                " ",
                "\t",
                "\r",
                "\n",
                "\0",
                "\"",
                "'",
                "\\",
                "<",
                ">",
                "&",
                ";",
                ",",
                ":",
                "[",
                "]",
                "(",
                ")",
                "/",
                "?",
                "#",
                "%",
                "xn--",
                "xn--bcher-kva",
                ".com",
                ".test",
                "localhost",
                "example",
                "ü",
                "ß",
                "é",
                "日本",
                "рф",
                "א",
                "٣",
                "\u{301}",
                "\u{200D}",
                "\u{AD}",
                "\u{A0}",
                "\u{3000}",
                "\u{3002}",
                "\u{FF0E}",
                "\u{FF20}",
                "\u{FE6B}",
                "ｊ",
                "⒈",
                "Ⓐ",
                "☃",
                "😀",
                "\u{E000}",
                "\u{85}",
                "\u{7F}",
                "\u{FFFD}",
                "<script>",
                "</script>",
                "<b>",
                "<!--",
                "&amp;",
                "http://",
                "https://",
                "javascript:",
                "[::1]",
                "\u{10FFFF}",
                "İ",
                "Σ",
            ];
            let mut s = String::new();
            for _ in 0..self.below(24) {
                if self.below(8) == 0 {
                    // Arbitrary scalar values, including unassigned and private-use ones.
                    let c = char::from_u32(self.below(0x11_0000) as u32).unwrap_or('\u{FFFD}');
                    s.push(c);
                } else {
                    s.push_str(PIECES[self.below(PIECES.len())]);
                }
            }
            s
        }

        fn bytes(&mut self) -> String {
            let bytes: Vec<u8> = (0..self.below(40)).map(|_| self.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    #[test]
    fn fuzz_never_panics_and_outputs_are_clean() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for i in 0..6000 {
            let input = if i % 4 == 3 { rng.bytes() } else { rng.string() };
            let long = input.repeat(1 + rng.below(20));
            for raw in [input.as_str(), long.as_str()] {
                if let Ok(email) = normalize_email(raw) {
                    accepted += 1;
                    assert_eq!(email.matches('@').count(), 1, "{raw:?} -> {email:?}");
                    assert!(email.len() <= EMAIL_MAX_OCTETS, "{raw:?} -> {email:?}");
                    assert!(
                        !email.chars().any(|c| c.is_whitespace() || c.is_control()),
                        "{raw:?} -> {email:?}"
                    );
                    assert!(
                        !email.contains(['"', '<', '>', ',', ';', '[', '\\']),
                        "{raw:?} -> {email:?}"
                    );
                    assert_eq!(normalize_email(&email).as_ref(), Ok(&email), "not idempotent: {raw:?}");
                }
                if let Ok(Some(name)) = sanitize_name(Some(raw)) {
                    assert!(!name.contains(['<', '>']), "{raw:?} -> {name:?}");
                    assert!(!name.contains("  ") && name.trim() == name, "{raw:?} -> {name:?}");
                    assert!(!name.chars().any(is_stripped_control), "{raw:?} -> {name:?}");
                    assert!(name.chars().count() <= MAX_NAME_CHARS);
                }
                if let Ok(Some(phone)) = sanitize_phone(Some(raw)) {
                    assert!(phone.chars().count() <= MAX_PHONE_CHARS);
                    assert!(phone
                        .chars()
                        .all(|c| c.is_ascii_digit() || py_isspace(c) || "-().+".contains(c)));
                }
                if let Ok(Some(url)) = validate_avatar_url(Some(raw)) {
                    let lower = url.to_ascii_lowercase();
                    assert!(lower.starts_with("http://") || lower.starts_with("https://"), "{raw:?}");
                }
                let _ = check_password(raw, 8, 64);
            }
        }
        // The generator must reach the accepting paths, or the invariants test nothing.
        let mut rng = Rng(7);
        for _ in 0..200 {
            let local: String = (0..1 + rng.below(10))
                .map(|_| ['a', 'b', '1', '.', '-', 'ü'][rng.below(6)])
                .collect();
            if let Ok(email) = normalize_email(&format!("{local}@Example.COM")) {
                accepted += 1;
                assert_eq!(normalize_email(&email).as_ref(), Ok(&email));
            }
        }
        assert!(accepted > 50, "only {accepted} inputs accepted");
    }
}
