import { defineConfig } from 'vite'
import uniModule from '@dcloudio/vite-plugin-uni'

// The plugin ships as CommonJS; under ESM its factory sits on `default`.
type UniFactory = () => import('vite').PluginOption
const uni: UniFactory =
  (uniModule as unknown as { default?: UniFactory }).default ?? (uniModule as unknown as UniFactory)

export default defineConfig({
  // The server serves the H5 build at /h5/ (ignored by the mp-weixin build).
  base: '/h5/',
  plugins: [uni()],
})
