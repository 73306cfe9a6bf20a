// Fails when src/api/schema.d.ts is not what openapi-typescript makes of ../openapi/openapi.json.
// `npm run api:gen` regenerates it.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const spec = path.join(root, '..', 'openapi', 'openapi.json')
const committed = path.join(root, 'src', 'api', 'schema.d.ts')
const dir = mkdtempSync(path.join(tmpdir(), 'api-check-'))
const fresh = path.join(dir, 'schema.d.ts')
try {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), spec, '-o', fresh],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const [want, have] = await Promise.all([readFile(fresh, 'utf8'), readFile(committed, 'utf8')])
  if (want !== have) {
    const a = want.split('\n')
    const b = have.split('\n')
    let line = 0
    while (line < a.length && a[line] === b[line]) line += 1
    console.error(`src/api/schema.d.ts is out of date with openapi/openapi.json (first difference at line ${line + 1}):`)
    console.error(`  generated: ${a[line] ?? '<end>'}`)
    console.error(`  committed: ${b[line] ?? '<end>'}`)
    console.error('run `npm run api:gen`, then `npm run type-check`')
    process.exit(1)
  }
  console.log('api:check: src/api/schema.d.ts matches openapi/openapi.json')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
