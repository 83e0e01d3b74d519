// Serves the built app (dist/) and proxies /auth/* and /.well-known/* to the authfort server,
// so the app and the auth API share one origin (first-party cookies, no CORS).
//
//   node serve.mjs [--port 5173] [--auth http://127.0.0.1:8080]
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Starts the app server; resolves to the node http.Server once listening. */
export function startAppServer({ distDir, authOrigin, port = 0, host = '127.0.0.1' }) {
  const upstream = new URL(authOrigin);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/auth/') || path === '/auth' || path.startsWith('/.well-known/')) {
      const proxied = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      proxied.on('error', () => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end('auth server unreachable');
      });
      req.pipe(proxied);
      return;
    }
    // Static files; any other path is the SPA (index.html), e.g. /verify?token=….
    let file = resolve(distDir, '.' + normalize(decodeURIComponent(path)));
    if (!file.startsWith(resolve(distDir)) || !existsSync(file) || statSync(file).isDirectory()) {
      file = join(distDir, 'index.html');
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const server = await startAppServer({
    distDir: resolve(import.meta.dirname, 'dist'),
    authOrigin: arg('--auth', 'http://127.0.0.1:8080'),
    port: Number(arg('--port', '5173')),
  });
  const { port } = server.address();
  console.log(`app on http://127.0.0.1:${port} (auth proxied to ${arg('--auth', 'http://127.0.0.1:8080')})`);
}
