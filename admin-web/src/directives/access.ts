import type { Directive, DirectiveBinding } from 'vue'
import { useAuth } from '@/stores/auth'

function apply(el: HTMLElement, binding: DirectiveBinding<string | string[]>) {
  // Hidden rather than detached: Vue still owns the node and may patch it later.
  if (useAuth().can(binding.value)) el.style.removeProperty('display')
  else el.style.display = 'none'
}

/**
 * `v-access="'order:order:refund'"` hides the element when the signed-in user lacks the
 * code (or any of several codes), so buttons one may not use are not shown at all.
 */
export const vAccess: Directive<HTMLElement, string | string[]> = {
  mounted: apply,
  updated: apply,
}
