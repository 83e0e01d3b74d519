// A real OpenID Connect provider (oidc-provider) on loopback for AuthFort's OAuth tests.
//
// Environment: CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated). Listens on an
// ephemeral 127.0.0.1 port and prints `LISTENING <issuer>` on stdout.
//
// Logging in is driven by the test without a browser form:
//   GET /interaction/:uid/login?sub=..&email=..&email_verified=true|false&name=..&picture=..
//     registers the account and finishes the login + consent interaction (303 to the resume URL);
//   GET /interaction/:uid/abort?error=..&error_description=..
//     ends the interaction with an error (the provider redirects to the client with it).
// A browser lands on GET /interaction/:uid: a plain sign-in form (sub, email) that submits to
// the login endpoint above, for the tests that drive a real browser through the provider.
import http from 'node:http';
import Provider from 'oidc-provider';

const accounts = new Map();
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: (process.env.REDIRECT_URIS || '').split(',').filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account }; } };
  },
  cookies: { keys: ['authfort-test-cookie-key'] },
});
// Plain http on loopback: the provider must not insist on TLS for its cookies.
provider.proxy = true;

const escape = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The provider's sign-in page: sub and email, then Continue (login + consent at once). */
async function loginForm(req, res, uid) {
  try {
    await provider.interactionDetails(req, res);
  } catch (e) {
    res.statusCode = 400;
    return res.end(String(e));
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test provider sign-in</title></head><body>
<form method="get" action="/interaction/${escape(uid)}/login">
<label>Subject <input name="sub" required></label>
<label>Email <input name="email" type="email" required></label>
<input type="hidden" name="email_verified" value="true">
<button type="submit">Continue</button>
</form></body></html>`);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  const form = url.pathname.match(/^\/interaction\/([^/]+)$/);
  if (form && req.method === 'GET') return loginForm(req, res, form[1]);
  const m = url.pathname.match(/^\/interaction\/([^/]+)\/(login|abort)$/);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (m[2] === 'abort') {
      await provider.interactionFinished(req, res, {
        error: url.searchParams.get('error') || 'access_denied',
        error_description: url.searchParams.get('error_description') || undefined,
      }, { mergeWithLastSubmission: false });
      return;
    }
    const sub = url.searchParams.get('sub');
    const account = { email_verified: url.searchParams.get('email_verified') === 'true' };
    for (const k of ['email', 'name', 'picture']) {
      if (url.searchParams.has(k)) account[k] = url.searchParams.get(k);
    }
    accounts.set(sub, account);
    const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      login: { accountId: sub },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
});
// The test reads only the first line of stdout; later writes must not crash us.
process.stdout.on('error', () => {});
// Exit with the test process: it holds our stdin open.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.stdout.write(`LISTENING ${issuer}\n`);
