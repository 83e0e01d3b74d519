//! A browser without JavaScript for OAuth tests: follows one hop at a time, keeps cookies
//! per host, and sends requests for the app (`APP_URL`) through `app()` in process.

use std::collections::{BTreeMap, HashMap};

use authfort_test_support::oidc::APP_URL;
use axum::http::StatusCode;

use crate::helpers::{TestApp, TestResponse};

pub struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    jar: HashMap<String, BTreeMap<String, String>>,
}

/// One response.
pub struct Hop {
    pub status: u16,
    /// `Location`, made absolute.
    pub location: Option<String>,
    pub body: String,
    /// The app's response, when the request went to the app.
    pub app: Option<TestResponse>,
}

fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}

fn absolute(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_owned()
    } else {
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
        format!("{}{location}", &base[..host_end])
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    pub fn cookie(&self, host_url: &str, name: &str) -> Option<String> {
        self.jar.get(&authority(host_url))?.get(name).cloned()
    }

    pub fn set_cookie(&mut self, host_url: &str, name: &str, value: &str) {
        self.jar
            .entry(authority(host_url))
            .or_default()
            .insert(name.to_owned(), value.to_owned());
    }

    fn store(&mut self, host: &str, set_cookies: impl Iterator<Item = String>) {
        let jar = self.jar.entry(host.to_owned()).or_default();
        for line in set_cookies {
            let first = line.split(';').next().unwrap_or_default();
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let expired = line.to_ascii_lowercase().contains("max-age=0") || value.is_empty() || value == "\"\"";
            if expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn cookie_header(&self, host: &str) -> String {
        self.jar
            .get(host)
            .map(|j| j.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    }

    pub async fn get(&mut self, url: &str) -> Hop {
        let host = authority(url);
        let cookies = self.cookie_header(&host);
        if let Some(path) = url.strip_prefix(APP_URL) {
            let headers: Vec<(&str, &str)> = if cookies.is_empty() {
                vec![]
            } else {
                vec![("cookie", cookies.as_str())]
            };
            let r = self.app.get(path, &headers).await;
            self.store(&host, r.set_cookies().into_iter());
            return Hop {
                status: r.status.as_u16(),
                location: r.headers.get("location").map(|l| absolute(url, l.to_str().unwrap())),
                body: r.text.clone(),
                app: Some(r),
            };
        }
        let mut req = self.http.get(url);
        if !cookies.is_empty() {
            req = req.header("cookie", cookies);
        }
        let r = req.send().await.expect("provider request");
        let set: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        self.store(&host, set.into_iter());
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|l| absolute(url, l.to_str().unwrap()));
        Hop {
            status,
            location,
            body: r.text().await.unwrap_or_default(),
            app: None,
        }
    }

    /// `GET {APP_URL}/auth/oauth/{provider}/authorize{query}`: the provider URL it redirects to.
    pub async fn start(&mut self, provider: &str, query: &str) -> String {
        let hop = self
            .get(&format!("{APP_URL}/auth/oauth/{provider}/authorize{query}"))
            .await;
        assert_eq!(hop.status, 302, "authorize: {}", hop.body);
        hop.location.unwrap()
    }

    /// At the OIDC test provider: the authorization request, then `action` on the
    /// interaction (`login?…` or `abort?…`), then the resume; returns the callback URL.
    pub async fn at_provider(&mut self, provider_url: &str, action: &str) -> String {
        let hop = self.get(provider_url).await;
        assert_eq!(hop.status, 303, "provider authorize: {}", hop.body);
        let interaction = hop.location.unwrap();
        let hop = self.get(&format!("{interaction}/{action}")).await;
        assert_eq!(hop.status, 303, "interaction: {}", hop.body);
        let hop = self.get(&hop.location.unwrap()).await;
        assert_eq!(hop.status, 303, "resume: {}", hop.body);
        let callback = hop.location.unwrap();
        assert!(callback.starts_with(APP_URL), "{callback}");
        callback
    }

    /// The callback, through the app.
    pub async fn callback(&mut self, url: &str) -> TestResponse {
        self.get(url).await.app.expect("app response")
    }

    /// The whole flow: start, log in as `account` at the provider, callback.
    pub async fn sign_in(
        &mut self,
        provider: &str,
        query: &str,
        account: &authfort_test_support::oidc::Account,
    ) -> TestResponse {
        let url = self.start(provider, query).await;
        let callback = self
            .at_provider(&url, &format!("login?{}", account.login_query()))
            .await;
        self.callback(&callback).await
    }
}

#[allow(dead_code)]
pub fn ok(r: &TestResponse) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
