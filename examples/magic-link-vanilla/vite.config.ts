import { defineConfig } from 'vite';

// `npm run build` → dist/. During `vite dev`, proxy the auth API to a local server so the
// cookies stay first-party: AUTHFORT_ORIGIN=http://127.0.0.1:8080 npx vite
export default defineConfig({
  server: {
    proxy: {
      '/auth': process.env.AUTHFORT_ORIGIN ?? 'http://127.0.0.1:8080',
    },
  },
});
