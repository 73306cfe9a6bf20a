import { shallowRef } from 'vue'
import type { AppLoginResponse, AppUserView } from './types'
import type { Auth, Transport } from './http'
import { createClient } from './http'

export interface TokenStore {
  load(): { token: string; expiresAt: number } | undefined
  save(value: { token: string; expiresAt: number } | undefined): void
}

/** Renew a little before the server would refuse the token. */
const EARLY_MS = 60_000

/**
 * Silent login: a login code from the platform, exchanged for an app token; one login at a
 * time however many calls need it.
 */
export function createSession(
  base: string,
  transport: Transport,
  loginCode: () => Promise<string>,
  store: TokenStore,
  now: () => number = Date.now,
) {
  const user = shallowRef<AppUserView | null>(null)
  let current = store.load()
  let inFlight: Promise<string> | null = null
  const client = createClient(base, transport)

  function login(): Promise<string> {
    if (!inFlight) {
      inFlight = (async () => {
        const code = await loginCode()
        const answer = await client.call<AppLoginResponse>('POST', '/api/v1/app/auth/login', {
          body: { code },
        })
        current = { token: answer.token, expiresAt: now() + answer.expires_in * 1000 }
        store.save(current)
        user.value = answer.user
        return answer.token
      })().finally(() => {
        inFlight = null
      })
    }
    return inFlight
  }

  const auth: Auth = {
    async token() {
      if (current && current.expiresAt - EARLY_MS > now()) return current.token
      return login()
    },
    async renew(refused) {
      if (current && current.token !== refused) return current.token
      current = undefined
      store.save(undefined)
      return login()
    },
  }

  return { auth, user, login }
}
