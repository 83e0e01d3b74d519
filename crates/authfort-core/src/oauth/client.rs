//! The provider clients: the authorization URL, the code exchange (with the PKCE verifier)
//! and who the provider says the user is. Protocol work is done by the `oauth2` and
//! `openidconnect` crates; this file only chooses endpoints and maps the answers.
//!
//! Every call has a timeout and follows no redirects. Provider answers are logged, never
//! returned: a failure is one of [`ProviderError`]'s variants, which carry no provider text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{IssuerUrl, Nonce};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{BuiltinProviderConfig, GenericProviderConfig, OAuthConfig};

const GOOGLE_AUTHORIZE: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
const GOOGLE_USERINFO: &str = "https://www.googleapis.com/oauth2/v2/userinfo";
const GITHUB_AUTHORIZE: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
const GITHUB_USER: &str = "https://api.github.com/user";
const GITHUB_EMAILS: &str = "https://api.github.com/user/emails";
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub(crate) struct ProviderUser {
    pub(crate) account_id: String,
    pub(crate) email: String,
    pub(crate) email_verified: bool,
    pub(crate) name: Option<String>,
    pub(crate) avatar_url: Option<String>,
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
}

/// Why a provider step failed (the detail is logged where it happens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProviderError {
    /// Discovery or the token exchange failed, or the ID token was not valid.
    Exchange,
    /// The user-info call failed.
    UserInfo,
    /// No email from the provider.
    NoEmail,
    /// No account id from the provider.
    NoUserId,
}

/// Where the user fields are in a user-info document.
#[derive(Debug, Clone)]
struct Mapping {
    id: Option<String>,
    email: String,
    email_verified: String,
    name: String,
    avatar: Option<String>,
}

// One value per configured provider, built once: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Google {
        userinfo: String,
    },
    GitHub {
        user: String,
        emails: String,
    },
    OAuth2 {
        userinfo: String,
        mapping: Mapping,
    },
    Oidc {
        issuer: String,
        ttl: Duration,
        cache: Mutex<Option<(CoreProviderMetadata, OffsetDateTime)>>,
    },
}

/// One configured provider.
pub(crate) struct Provider {
    name: String,
    client_id: String,
    client_secret: Option<String>,
    authorize_url: String,
    token_url: String,
    scopes: Vec<String>,
    redirect_uri: String,
    kind: Kind,
}

/// Every configured provider, by name, and the HTTP client they share.
pub(crate) struct Providers {
    map: HashMap<String, Arc<Provider>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers").field("names", &self.map.keys()).finish()
    }
}

/// Required scopes, then extra ones, without duplicates, in first-seen order.
fn scopes(base: &[&str], configured: &[String], extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in base
        .iter()
        .map(|s| (*s).to_owned())
        .chain(configured.iter().cloned())
        .chain(extra.iter().cloned())
    {
        for one in s.split_whitespace() {
            if !out.iter().any(|o| o == one) {
                out.push(one.to_owned());
            }
        }
    }
    out
}

impl Providers {
    /// Builds the configured providers; `public_url` gives every callback URL.
    pub(crate) fn new(config: &OAuthConfig, public_url: Option<&str>) -> Result<Providers, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(config.http_timeout_seconds))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let mut map = HashMap::new();
        let base = public_url.unwrap_or_default().trim_end_matches('/').to_owned();
        let callback = |name: &str| format!("{base}/auth/oauth/{name}/callback");
        let builtin = |name: &str, b: &BuiltinProviderConfig, authorize: &str, token: &str, base: &[&str], kind| {
            b.client_id.as_ref().map(|id| Provider {
                name: name.to_owned(),
                client_id: id.clone(),
                client_secret: b.client_secret.as_ref().map(|s| s.expose().to_owned()),
                authorize_url: b.authorize_url.clone().unwrap_or_else(|| authorize.to_owned()),
                token_url: b.token_url.clone().unwrap_or_else(|| token.to_owned()),
                scopes: scopes(base, &[], &b.extra_scopes),
                redirect_uri: callback(name),
                kind,
            })
        };
        let g = &config.google;
        if let Some(p) = builtin(
            "google",
            g,
            GOOGLE_AUTHORIZE,
            GOOGLE_TOKEN,
            &["openid", "email", "profile"],
            Kind::Google {
                userinfo: g.userinfo_url.clone().unwrap_or_else(|| GOOGLE_USERINFO.into()),
            },
        ) {
            map.insert(p.name.clone(), Arc::new(p));
        }
        let gh = &config.github;
        if let Some(p) = builtin(
            "github",
            gh,
            GITHUB_AUTHORIZE,
            GITHUB_TOKEN,
            &["read:user", "user:email"],
            Kind::GitHub {
                user: gh.userinfo_url.clone().unwrap_or_else(|| GITHUB_USER.into()),
                emails: gh.emails_url.clone().unwrap_or_else(|| GITHUB_EMAILS.into()),
            },
        ) {
            map.insert(p.name.clone(), Arc::new(p));
        }
        for (name, p) in &config.providers {
            map.insert(name.clone(), Arc::new(generic(name, p, callback(name))));
        }
        Ok(Providers { map, http })
    }

    /// A provider by name.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Provider>> {
        self.map.get(name).cloned()
    }

    /// Every provider name.
    pub(crate) fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

fn generic(name: &str, p: &GenericProviderConfig, redirect_uri: String) -> Provider {
    let (kind, base): (Kind, &[&str]) = match &p.discovery_url {
        Some(url) => (
            Kind::Oidc {
                issuer: url.strip_suffix(WELL_KNOWN).unwrap_or(url).to_owned(),
                ttl: Duration::seconds(p.discovery_ttl_seconds as i64),
                cache: Mutex::new(None),
            },
            if p.scopes.is_empty() {
                &["openid", "email", "profile"]
            } else {
                &[]
            },
        ),
        None => (
            Kind::OAuth2 {
                userinfo: p.userinfo_url.clone().unwrap_or_default(),
                mapping: Mapping {
                    id: p.id_field.clone(),
                    email: p.email_field.clone().unwrap_or_else(|| "email".into()),
                    email_verified: p
                        .email_verified_field
                        .clone()
                        .unwrap_or_else(|| "email_verified".into()),
                    name: p.name_field.clone().unwrap_or_else(|| "name".into()),
                    avatar: p.avatar_field.clone(),
                },
            },
            &[],
        ),
    };
    Provider {
        name: name.to_owned(),
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.as_ref().map(|s| s.expose().to_owned()),
        authorize_url: p.authorize_url.clone().unwrap_or_default(),
        token_url: p.token_url.clone().unwrap_or_default(),
        scopes: scopes(base, &p.scopes, &p.extra_scopes),
        redirect_uri,
        kind,
    }
}

/// The S256 challenge of a verifier.
fn challenge(verifier: &str) -> PkceCodeChallenge {
    PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()))
}

fn log_failure(provider: &str, step: &str, detail: impl std::fmt::Display) {
    tracing::warn!(provider, step, detail = %detail, "OAuth provider call failed");
}

impl Provider {
    fn oauth2_client(
        &self,
    ) -> Result<
        BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        ProviderError,
    > {
        let bad = |e: oauth2::url::ParseError| {
            log_failure(&self.name, "config", e);
            ProviderError::Exchange
        };
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(self.authorize_url.clone()).map_err(bad)?)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(bad)?)
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }

    /// The provider's discovery document (cached for the configured TTL; refetched after).
    async fn metadata(
        &self,
        http: &reqwest::Client,
        now: OffsetDateTime,
    ) -> Result<CoreProviderMetadata, ProviderError> {
        let Kind::Oidc { issuer, ttl, cache } = &self.kind else {
            return Err(ProviderError::Exchange);
        };
        if let Some((m, at)) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if now < *at + *ttl && now >= *at {
                return Ok(m.clone());
            }
        }
        let issuer = IssuerUrl::new(issuer.clone()).map_err(|e| {
            log_failure(&self.name, "discovery", e);
            ProviderError::Exchange
        })?;
        let m = CoreProviderMetadata::discover_async(issuer, http).await.map_err(|e| {
            log_failure(&self.name, "discovery", e);
            ProviderError::Exchange
        })?;
        *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((m.clone(), now));
        Ok(m)
    }

    fn oidc_client(
        &self,
        m: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointMaybeSet,
            oauth2::EndpointMaybeSet,
        >,
        ProviderError,
    > {
        let redirect = RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| {
            log_failure(&self.name, "config", e);
            ProviderError::Exchange
        })?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.client_id.clone()),
            self.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody))
    }

    /// The URL to send the browser to.
    pub(crate) async fn authorize_url(
        &self,
        http: &reqwest::Client,
        now: OffsetDateTime,
        state: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, ProviderError> {
        let scopes = self.scopes.iter().map(|s| Scope::new(s.clone()));
        if let Kind::Oidc { .. } = self.kind {
            let client = self.oidc_client(self.metadata(http, now).await?)?;
            let (state, nonce) = (state.to_owned(), nonce.to_owned());
            let (url, _, _) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state),
                    move || Nonce::new(nonce),
                )
                // `openid` is always sent by the crate.
                .add_scopes(scopes.filter(|s| s.as_str() != "openid"))
                .set_pkce_challenge(challenge(verifier))
                .url();
            return Ok(url.to_string());
        }
        let client = self.oauth2_client()?;
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(scopes)
            .set_pkce_challenge(challenge(verifier));
        if let Kind::Google { .. } = self.kind {
            request = request
                .add_extra_param("access_type", "offline")
                .add_extra_param("prompt", "consent");
        }
        Ok(request.url().0.to_string())
    }

    /// Exchanges the code (with the PKCE verifier) and finds out who signed in.
    pub(crate) async fn sign_in(
        &self,
        http: &reqwest::Client,
        now: OffsetDateTime,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<ProviderUser, ProviderError> {
        let code = AuthorizationCode::new(code.to_owned());
        let verifier = PkceCodeVerifier::new(verifier.to_owned());
        let exchange_failed = |e: &dyn std::fmt::Display| {
            log_failure(&self.name, "token", e);
            ProviderError::Exchange
        };
        if let Kind::Oidc { .. } = self.kind {
            let metadata = self.metadata(http, now).await?;
            let userinfo = metadata.userinfo_endpoint().map(|u| u.url().to_string());
            let client = self.oidc_client(metadata)?;
            let token = client
                .exchange_code(code)
                .map_err(|e| exchange_failed(&e))?
                .set_pkce_verifier(verifier)
                .request_async(http)
                .await
                .map_err(|e| exchange_failed(&e))?;
            let id_token = token
                .extra_fields()
                .id_token()
                .ok_or_else(|| exchange_failed(&"no id_token"))?;
            // Signature (JWKS, never `none`), iss, aud, exp and nonce.
            let claims = id_token
                .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
                .map_err(|e| exchange_failed(&e))?;
            let access_token = token.access_token().secret().clone();
            let mut doc = serde_json::json!({
                "sub": claims.subject().as_str(),
                "email": claims.email().map(|e| e.as_str()),
                "email_verified": claims.email_verified(),
                "name": claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
                "picture": claims.picture().and_then(|n| n.get(None)).map(|n| n.as_str()),
            });
            if doc["email"].is_null() {
                if let Some(url) = userinfo {
                    let info = self.get_json(http, &url, &access_token).await?;
                    // The user-info answer counts only for the subject of the ID token.
                    if info.get("sub").and_then(Value::as_str) != Some(claims.subject().as_str()) {
                        log_failure(&self.name, "userinfo", "sub differs from the ID token");
                        return Err(ProviderError::UserInfo);
                    }
                    for k in ["email", "email_verified", "name", "picture"] {
                        if doc[k].is_null() {
                            doc[k] = info.get(k).cloned().unwrap_or(Value::Null);
                        }
                    }
                }
            }
            let refresh = token.refresh_token().map(|r| r.secret().clone());
            return map_user(&default_mapping(), &doc, access_token, refresh);
        }
        let token = self
            .oauth2_client()?
            .exchange_code(code)
            .set_pkce_verifier(verifier)
            .request_async(http)
            .await
            .map_err(|e| exchange_failed(&e))?;
        let access_token = token.access_token().secret().clone();
        let refresh = token.refresh_token().map(|r| r.secret().clone());
        match &self.kind {
            Kind::Google { userinfo } => {
                let doc = self.get_json(http, userinfo, &access_token).await?;
                let mapping = Mapping {
                    id: Some("id".into()),
                    email: "email".into(),
                    email_verified: "verified_email".into(),
                    name: "name".into(),
                    avatar: Some("picture".into()),
                };
                map_user(&mapping, &doc, access_token, refresh)
            }
            Kind::GitHub { user, emails } => self.github_user(http, user, emails, access_token, refresh).await,
            Kind::OAuth2 { userinfo, mapping } => {
                let doc = self.get_json(http, userinfo, &access_token).await?;
                map_user(mapping, &doc, access_token, refresh)
            }
            Kind::Oidc { .. } => Err(ProviderError::Exchange),
        }
    }

    async fn get_json(&self, http: &reqwest::Client, url: &str, token: &str) -> Result<Value, ProviderError> {
        let failed = |e: &dyn std::fmt::Display| {
            log_failure(&self.name, "userinfo", e);
            ProviderError::UserInfo
        };
        let response = http
            .get(url)
            .bearer_auth(token)
            .header("Accept", "application/json")
            .header("User-Agent", "authfort")
            .send()
            .await
            .map_err(|e| failed(&e))?;
        if !response.status().is_success() {
            return Err(failed(&response.status()));
        }
        response.json().await.map_err(|e| failed(&e))
    }

    /// GitHub: the profile, and the verified state of its email from `/user/emails` (the
    /// profile's public email alone says nothing about verification).
    async fn github_user(
        &self,
        http: &reqwest::Client,
        user_url: &str,
        emails_url: &str,
        access_token: String,
        refresh: Option<String>,
    ) -> Result<ProviderUser, ProviderError> {
        let profile = self.get_json(http, user_url, &access_token).await?;
        // A failing emails call is tolerated (as the reference does): no verified email then.
        let emails: Vec<Value> = match self.get_json(http, emails_url, &access_token).await {
            Ok(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        let flag = |e: &Value, k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        let address = |e: &Value| e.get("email").and_then(Value::as_str).map(str::to_owned);
        let public = profile.get("email").and_then(Value::as_str).filter(|e| !e.is_empty());
        let (email, verified) = match public {
            Some(p) => (
                Some(p.to_owned()),
                emails
                    .iter()
                    .any(|e| address(e).is_some_and(|a| a.eq_ignore_ascii_case(p)) && flag(e, "verified")),
            ),
            None => {
                let pick = emails
                    .iter()
                    .find(|e| flag(e, "primary") && flag(e, "verified"))
                    .or_else(|| emails.iter().find(|e| flag(e, "verified")));
                match pick {
                    Some(e) => (address(e), true),
                    None => (emails.first().and_then(address), false),
                }
            }
        };
        let id = match profile.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(ProviderError::NoUserId),
        };
        let name = profile
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .or_else(|| profile.get("login").and_then(Value::as_str))
            .map(str::to_owned);
        Ok(ProviderUser {
            account_id: id,
            email: email.ok_or(ProviderError::NoEmail)?,
            email_verified: verified,
            name,
            avatar_url: profile.get("avatar_url").and_then(Value::as_str).map(str::to_owned),
            access_token,
            refresh_token: refresh,
        })
    }
}

fn default_mapping() -> Mapping {
    Mapping {
        id: None,
        email: "email".into(),
        email_verified: "email_verified".into(),
        name: "name".into(),
        avatar: None,
    }
}

/// Reads the user fields from a user-info document.
fn map_user(
    m: &Mapping,
    doc: &Value,
    access_token: String,
    refresh_token: Option<String>,
) -> Result<ProviderUser, ProviderError> {
    let text = |k: &str| match doc.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let account_id = match &m.id {
        Some(k) => text(k),
        None => text("sub").or_else(|| text("id")),
    }
    .ok_or(ProviderError::NoUserId)?;
    let email = text(&m.email).ok_or(ProviderError::NoEmail)?;
    // Only a real `true` (or the string "true") counts as verified.
    let email_verified = match doc.get(&m.email_verified) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let avatar_url = match &m.avatar {
        Some(k) => text(k),
        None => text("picture").or_else(|| text("avatar_url")),
    };
    Ok(ProviderUser {
        account_id,
        email,
        email_verified,
        name: text(&m.name),
        avatar_url,
        access_token,
        refresh_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_deduplicated_in_order() {
        let s = scopes(
            &["openid", "email"],
            &["email profile".into()],
            &["openid".into(), "x".into()],
        );
        assert_eq!(s, ["openid", "email", "profile", "x"]);
    }

    #[test]
    fn mapping_reads_sub_or_id_and_only_true_is_verified() {
        let m = default_mapping();
        let u = map_user(
            &m,
            &serde_json::json!({"id": 42, "email": "a@b.c", "email_verified": 1}),
            "t".into(),
            None,
        )
        .unwrap();
        assert_eq!(u.account_id, "42");
        assert!(!u.email_verified);
        let e = map_user(&m, &serde_json::json!({"sub": "x"}), "t".into(), None).unwrap_err();
        assert_eq!(e, ProviderError::NoEmail);
        let e = map_user(&m, &serde_json::json!({"email": "a@b.c"}), "t".into(), None).unwrap_err();
        assert_eq!(e, ProviderError::NoUserId);
    }
}
