// @vitest-environment happy-dom
// Vue binding: provideAuth + useAuth with createApp; refs follow the client; unsubscribes on unmount.
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, defineComponent, h, nextTick } from 'vue';
import { createAuthClient, type AuthStateListener } from '../../src/index.js';
import { authPlugin, provideAuth, useAuth } from '../../src/vue.js';
import { BASE, authResponse, fakeServer, json } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
});

const Status = defineComponent({
  setup() {
    const { state, user, isAuthenticated, isLoading, isMfaPending } = useAuth();
    return () => h('p', `${state.value}|${user.value?.email ?? '-'}|${isAuthenticated.value}|${isLoading.value}|${isMfaPending.value}`);
  },
});

describe('authfort-client/vue', () => {
  it('provideAuth + useAuth follow the client and unsubscribe on unmount', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /logout', json(204));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    let listeners = 0;
    const original = client.onAuthStateChange.bind(client);
    client.onAuthStateChange = (cb: AuthStateListener) => {
      listeners++;
      const off = original(cb);
      return () => {
        listeners--;
        off();
      };
    };
    const Root = defineComponent({
      setup() {
        provideAuth(client);
        return () => h(Status);
      },
    });
    const el = document.createElement('div');
    document.body.append(el);
    const app = createApp(Root);
    app.mount(el);
    expect(el.textContent).toBe('unauthenticated|-|false|false|false');
    expect(listeners).toBe(1);
    await client.signIn({ email: 'a@example.com', password: 'p' });
    await nextTick();
    expect(el.textContent).toBe('authenticated|alice@example.com|true|false|false');
    await client.signOut();
    await nextTick();
    expect(el.textContent).toBe('unauthenticated|-|false|false|false');
    app.unmount();
    expect(listeners).toBe(0);
  });

  it('authPlugin provides app-wide', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse()));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    await client.signIn({ email: 'a@example.com', password: 'p' });
    const el = document.createElement('div');
    const app = createApp(Status).use(authPlugin(client));
    app.mount(el);
    expect(el.textContent).toBe('authenticated|alice@example.com|true|false|false');
    app.unmount();
  });

  it('useAuth without provideAuth throws', () => {
    const el = document.createElement('div');
    const app = createApp(Status);
    let error: unknown;
    app.config.errorHandler = (e) => {
      error = e;
    };
    app.config.warnHandler = () => undefined;
    app.mount(el);
    expect(String(error)).toContain('useAuth() requires provideAuth()');
  });
});
