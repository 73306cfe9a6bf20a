import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { router } from './router'
import { i18n } from './locales'
import { vAccess } from './directives/access'
import { setSessionEndedHandler } from './api/client'
import { useAuth } from './stores/auth'
import { useSite } from './stores/site'
import 'ant-design-vue/dist/reset.css'
import './styles.css'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
app.use(router)
app.directive('access', vAccess)
// The name, logo and colour: the remembered ones show at once, the server's replace them.
void useSite().refresh()

setSessionEndedHandler(() => {
  const auth = useAuth()
  if (!auth.signedIn) return
  auth.clear()
  const here = router.currentRoute.value
  if (!here.meta.public) void router.replace({ path: '/login', query: { redirect: here.fullPath } })
})

app.mount('#app')
