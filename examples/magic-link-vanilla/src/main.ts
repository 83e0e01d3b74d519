// A single-page app signing in by magic link with authfort-client in cookie mode.
//
// The server's `links.magic_link_url` points at this app: `<app>/verify?token={token}`.
// `/auth/*` is served from the same origin (see serve.mjs), so the HttpOnly cookies are
// first-party and no CORS is involved.
import { AuthClientError, createAuthClient, type AuthState, type AuthUser } from 'authfort-client';

const auth = createAuthClient({ baseUrl: '/auth' });

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const form = $<HTMLFormElement>('request');
const signedIn = $('signed-in');
const who = $('who');
const error = $('error');

function render(state: AuthState, user: AuthUser | null): void {
  signedIn.hidden = state !== 'authenticated';
  form.hidden = state !== 'unauthenticated';
  if (state === 'loading') status.textContent = 'Loading…';
  else if (state === 'authenticated' && user) {
    status.textContent = 'Signed in.';
    who.textContent = user.email;
  } else if (status.textContent !== 'Check your inbox for the sign-in link.') {
    status.textContent = 'Signed out.';
  }
}

function showError(e: unknown): void {
  error.textContent = e instanceof AuthClientError ? `${e.message} (${e.code})` : String(e);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const email = new FormData(form).get('email') as string;
  try {
    await auth.requestMagicLink(email);
    status.textContent = 'Check your inbox for the sign-in link.';
  } catch (e) {
    showError(e);
  }
});

$('sign-out').addEventListener('click', async () => {
  error.textContent = '';
  await auth.signOut().catch(showError);
});

auth.onAuthStateChange(render);

async function start(): Promise<void> {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (url.pathname === '/verify' && token) {
    // Take the token out of the address bar (and history) before using it.
    window.history.replaceState(null, '', '/');
    try {
      await auth.verifyMagicLink(token);
      return;
    } catch (e) {
      showError(e);
    }
  }
  await auth.initialize();
}

void start();
