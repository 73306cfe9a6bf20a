// Checks the mp-weixin build (dist/build/mp-weixin): app.json lists every page of
// src/pages.json and each page's files exist, and no browser-only API reaches the bundle.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const out = path.join(root, 'dist', 'build', 'mp-weixin')
const failures = []
let checks = 0

function check(ok, message) {
  checks += 1
  if (!ok) failures.push(message)
}

if (!existsSync(path.join(out, 'app.json'))) {
  console.error(`no ${path.relative(root, out)}/app.json: run \`npm run build:mp-weixin\` first`)
  process.exit(1)
}

// pages.json allows comments; ours has none, but strip line comments to be safe.
const pagesJson = JSON.parse(
  readFileSync(path.join(root, 'src', 'pages.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
)
const wanted = pagesJson.pages.map((p) => p.path)
const app = JSON.parse(readFileSync(path.join(out, 'app.json'), 'utf8'))

for (const page of wanted) {
  check(app.pages.includes(page), `app.json does not list ${page}`)
  for (const ext of ['js', 'json', 'wxml']) {
    check(existsSync(path.join(out, `${page}.${ext}`)), `missing ${page}.${ext}`)
  }
}
check(app.pages[0] === wanted[0], `app.json starts at ${app.pages[0]}, not ${wanted[0]}`)
for (const tab of pagesJson.tabBar.list) {
  check(
    app.tabBar?.list?.some((t) => t.pagePath === tab.pagePath),
    `app.json tabBar lacks ${tab.pagePath}`,
  )
  // WeChat refuses a tab icon that is missing, not PNG or JPG, or over 40 KB.
  for (const icon of [tab.iconPath, tab.selectedIconPath]) {
    const file = path.join(out, icon)
    check(existsSync(file), `tab icon ${icon} is not in the bundle`)
    if (existsSync(file)) {
      check(/\.(png|jpe?g)$/.test(icon), `tab icon ${icon} is not PNG or JPG`)
      check(statSync(file).size <= 40 * 1024, `tab icon ${icon} is over 40 KB`)
    }
  }
}

// Browser-only APIs: the mini-program has no DOM, window, localStorage or fetch.
const forbidden = [
  [/\bwindow\./, 'window.'],
  [/\bdocument\./, 'document.'],
  [/\blocalStorage\b/, 'localStorage'],
  [/\bsessionStorage\b/, 'sessionStorage'],
  [/(^|[^\w.])fetch\(/, 'fetch('],
  [/\bXMLHttpRequest\b/, 'XMLHttpRequest'],
  [/\/sandbox\/wechat\//, 'the H5 sandbox routes'],
]

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? walk(full) : [full]
  })
}

const scripts = walk(out).filter((f) => f.endsWith('.js'))
check(scripts.length > 0, 'no .js files in the bundle')
for (const file of scripts) {
  const text = readFileSync(file, 'utf8')
  for (const [pattern, name] of forbidden) {
    const match = pattern.exec(text)
    check(
      !match,
      `${path.relative(out, file)} uses ${name}: …${match ? text.slice(Math.max(0, match.index - 60), match.index + 40) : ''}…`,
    )
  }
}

// Messages keep their {name} placeholders for our own formatter (format.ts); nothing may
// swap in a message compiler that would leave them unformatted.
const all = scripts.map((f) => readFileSync(f, 'utf8')).join('\n')
check(!/vue-i18n/.test(all), 'vue-i18n is in the bundle')
check(all.includes('{amount}'), 'message templates are missing from the bundle')

if (failures.length) {
  for (const f of failures) console.error(`✗ ${f}`)
  console.error(`check:mp: ${checks - failures.length} passed, ${failures.length} failed`)
  process.exit(1)
}
console.log(`check:mp: ${wanted.length} pages, ${scripts.length} scripts`)
console.log(`${checks} passed, 0 failed`)
