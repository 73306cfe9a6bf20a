/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface ImportMetaEnv {
  /** API origin for the mp-weixin build (H5 uses the page's own origin). */
  readonly VITE_API_BASE?: string
}

// uni defines these per build target.
declare const process: { env: { UNI_PLATFORM?: string; NODE_ENV?: string } }
