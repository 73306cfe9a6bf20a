#!/usr/bin/env node
// Draws the tab bar's icons (src/static/tabbar/*.png) from the outlines below. The mini-program
// tab bar takes PNG or JPG files only, no SVG (81 × 81 px recommended, 40 KB at most), so the
// PNGs are committed and this script makes them again after an outline or a colour changes:
//
//   node scripts/tab-icons.mjs        # needs Chromium at /usr/bin/chromium (or CHROMIUM=...)

import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.join(here, '..', 'src', 'static', 'tabbar')
const SIZE = 81
// The tab bar's `color` and `selectedColor` in src/pages.json.
const COLOURS = { '': '#7a7e86', '-active': '#07c160' }

// 24 × 24 outlines, stroked.
const ICONS = {
  // A phone with a charge bolt: top up.
  home: '<rect x="6" y="2.5" width="12" height="19" rx="2.5"/><path d="M12.8 7 10 12h4l-2.8 5"/>',
  // A receipt with its lines: orders.
  orders:
    '<path d="M5.5 3.5h13v17l-2.2-1.4-2.1 1.4-2.2-1.4-2.2 1.4-2.1-1.4-2.2 1.4z"/><path d="M9 8.5h6M9 12h6M9 15.5h3.5"/>',
  // A person: me.
  me: '<circle cx="12" cy="8" r="4"/><path d="M4.5 20.5c.8-4 3.8-6.3 7.5-6.3s6.7 2.3 7.5 6.3"/>',
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
})
try {
  const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE } })
  mkdirSync(out, { recursive: true })
  for (const [name, outline] of Object.entries(ICONS)) {
    for (const [suffix, colour] of Object.entries(COLOURS)) {
      await page.setContent(
        `<html><body style="margin:0;background:transparent">` +
          `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 24 24" fill="none" ` +
          `stroke="${colour}" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round">${outline}</svg>` +
          `</body></html>`,
      )
      const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: SIZE, height: SIZE } })
      const file = path.join(out, `${name}${suffix}.png`)
      writeFileSync(file, png)
      console.log(`${path.relative(process.cwd(), file)}: ${png.length} bytes`)
    }
  }
} finally {
  await browser.close()
}
