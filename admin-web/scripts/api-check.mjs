// Fails when src/api/schema.d.ts differs from what ../openapi/openapi.json generates.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'api-check-'))
const out = join(dir, 'schema.d.ts')
try {
  execFileSync(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', '../openapi/openapi.json', '-o', out], { stdio: 'ignore' })
  const fresh = readFileSync(out, 'utf8')
  const committed = readFileSync('src/api/schema.d.ts', 'utf8')
  if (fresh !== committed) {
    console.error('src/api/schema.d.ts is out of date with ../openapi/openapi.json: run `npm run api:gen`')
    process.exit(1)
  }
  console.log('src/api/schema.d.ts matches ../openapi/openapi.json')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
