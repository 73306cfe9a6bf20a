import { defineConfig } from 'vite'
import uniModule from '@dcloudio/vite-plugin-uni'

// The plugin ships as CommonJS; under ESM its factory sits on `default`.
type UniFactory = () => import('vite').PluginOption
const uni: UniFactory =
  (uniModule as unknown as { default?: UniFactory }).default ?? (uniModule as unknown as UniFactory)

const h5 = process.env.UNI_PLATFORM === 'h5'

export default defineConfig({
  // The server serves the H5 build at /h5/ (ignored by the mp-weixin build).
  base: '/h5/',
  plugins: [uni()],
  build: h5
    ? {
        rollupOptions: {
          output: {
            // Our own code is small (~20 KB gzipped): one chunk loaded beside the entry beats a
            // chain of per-page chunks, each found only after the previous one ran.
            manualChunks(id: string) {
              // Pages reached only from a link (the coupon centre, my coupons) stay out of it:
              // their own chunk, fetched when opened, keeps the first screen as it was.
              if (id.includes('/client/src/pages/coupons/')) return 'coupons'
              // The membership page and the cards only it shows: likewise, fetched when opened.
              if (
                id.includes('/client/src/pages/membership/') ||
                id.includes('/client/src/components/Membership')
              ) {
                return 'membership'
              }
              // The announcements page: reached from the home page's notice bar only.
              if (id.includes('/client/src/pages/announcements/')) return 'announcements'
              // Customer service and the agreements: reached from Me only. (The recharge terms'
              // sheet is part of checkout and stays in the app chunk.)
              if (id.includes('/client/src/pages/service/') || id.includes('/client/src/utils/service')) {
                return 'service'
              }
              if (id.includes('/client/src/pages/agreements/')) return 'agreements'
              return id.includes('/client/src/') ? 'app' : undefined
            },
          },
        },
      }
    : {},
})
