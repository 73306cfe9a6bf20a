import { onBeforeUnmount, watch } from 'vue'

/**
 * Calls `tick` every `ms` (counted from the end of the previous call) while `active()` holds,
 * and never again once the component unmounts. Used to follow work the server does in the
 * background until it is done.
 */
export function usePollWhile(active: () => boolean, tick: () => Promise<unknown>, ms = 1000) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let alive = true

  function stop() {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  function arm() {
    stop()
    if (!alive || !active()) return
    timer = setTimeout(() => {
      timer = undefined
      void tick().finally(arm)
    }, ms)
  }

  watch(active, (on) => {
    if (!on) stop()
    else if (timer === undefined) arm()
  }, { immediate: true })
  onBeforeUnmount(() => {
    alive = false
    stop()
  })
}
