// A small static server for the H5 build under /h5/ that proxies /api and /sandbox to a
// topup server: how the embedded server serves the client, for servers that do not yet.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg'])

// Compressed once per file, as a server with precompressed assets would.
const gzipped = new Map()
function gzipOf(file) {
  let body = gzipped.get(file)
  if (!body) {
    body = zlib.gzipSync(readFileSync(file), { level: 9 })
    gzipped.set(file, body)
  }
  return body
}

export function startStatic({ dir, apiPort, port = 0 }) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/sandbox/')) {
      const upstream = http.request(
        { host: '127.0.0.1', port: apiPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ code: 'BAD_GATEWAY', message: err.message, request_id: '' }))
      })
      req.pipe(upstream)
      return
    }
    if (url.pathname === '/' || url.pathname === '/h5') {
      res.writeHead(302, { location: '/h5/' })
      res.end()
      return
    }
    if (!url.pathname.startsWith('/h5/')) {
      res.writeHead(404)
      res.end()
      return
    }
    let rel = decodeURIComponent(url.pathname.slice('/h5/'.length)) || 'index.html'
    let file = path.join(dir, rel)
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) {
      rel = 'index.html'
      file = path.join(dir, rel)
    }
    const ext = path.extname(file)
    const headers = {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      // Hashed assets may be kept; the entry page must not be.
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    }
    const gzip = COMPRESSIBLE.has(ext) && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
    if (gzip) {
      const body = gzipOf(file)
      res.writeHead(200, {
        ...headers,
        'content-encoding': 'gzip',
        'content-length': body.length,
        vary: 'accept-encoding',
      })
      res.end(body)
    } else {
      res.writeHead(200, headers)
      createReadStream(file).pipe(res)
    }
  })
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}
