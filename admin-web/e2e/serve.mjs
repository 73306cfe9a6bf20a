// A tiny static server for dist/ with the SPA fallback, proxying the API to a topup server.
import http from 'node:http'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import zlib from 'node:zlib'

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2' }

export function serveDist({ dist, upstream, port = 0 }) {
  const up = new URL(upstream)
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    if (url.startsWith('/api/') || url.startsWith('/sandbox/') || url === '/openapi.json') {
      const p = http.request({ host: up.hostname, port: up.port, method: req.method, path: url, headers: { ...req.headers, host: up.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      p.on('error', () => { res.writeHead(502); res.end() })
      req.pipe(p)
      return
    }
    const path = decodeURIComponent(url.split('?')[0])
    let file = normalize(join(dist, path))
    if (!file.startsWith(dist) || !existsSync(file) || statSync(file).isDirectory()) file = join(dist, 'index.html')
    const type = TYPES[extname(file)] ?? 'application/octet-stream'
    const headers = { 'content-type': type, 'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable' }
    if ((req.headers['accept-encoding'] ?? '').includes('gzip')) {
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' })
      createReadStream(file).pipe(zlib.createGzip()).pipe(res)
    } else {
      res.writeHead(200, headers)
      createReadStream(file).pipe(res)
    }
  })
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port })))
}
