import { computed, ref, shallowRef } from 'vue'
import { contentApi } from '@/api/content'
import { ApiError, networkError } from '@/api/errors'
import type { HomeComponent, HomeComponentType, HomeEditor, HomeVersionSummary } from '@/api/types'
import { componentErrors, moveItem, newComponent, type PageErrors, type StarterTexts } from '@/utils/content'

/** One component of the page being edited; `key` follows it through moves and answers. */
export interface EditorItem {
  key: number
  component: HomeComponent
}

export const noPageErrors = (): PageErrors => ({ page: [], items: new Map() })
const asApiError = (e: unknown) => (e instanceof ApiError ? e : networkError(e))

/**
 * The home page editor's state: the draft as the server has it, the components as edited, the
 * server's reasons by component, and saving, publishing and rolling back.
 */
export function useHomeEditor() {
  const editor = shallowRef<HomeEditor | null>(null)
  const items = ref<EditorItem[]>([])
  const selected = ref<number | null>(null)
  const loading = ref(false)
  const loadError = ref<ApiError | null>(null)
  const saving = ref(false)
  const publishing = ref(false)
  /** The draft was saved by someone else since it was loaded: only a reload helps. */
  const conflict = ref(false)
  /** The server's reasons from the latest check (preview or save). */
  const errors = shallowRef<PageErrors>(noPageErrors())
  const saved = ref('')
  let nextKey = 1

  const components = computed(() => items.value.map((i) => i.component))
  const dirty = computed(() => editor.value !== null && JSON.stringify(components.value) !== saved.value)
  const selectedItem = computed(() => items.value.find((i) => i.key === selected.value) ?? null)

  function take(list: readonly HomeComponent[]) {
    items.value = list.map((component) => ({ key: nextKey++, component }))
    saved.value = JSON.stringify(list)
    if (!items.value.some((i) => i.key === selected.value)) selected.value = items.value[0]?.key ?? null
  }

  async function load() {
    loading.value = true
    loadError.value = null
    try {
      const e = await contentApi.home()
      editor.value = e
      take(e.draft.components)
      conflict.value = false
      errors.value = noPageErrors()
    } catch (e) {
      loadError.value = asApiError(e)
    } finally {
      loading.value = false
    }
  }

  /** Sets the reasons from a refused check of `keys` (the components in the order sent); false for any other failure. */
  function refused(e: ApiError, keys: readonly number[]): boolean {
    if (e.code !== 'VALIDATION_FAILED') return false
    errors.value = componentErrors(e.fieldErrors(), keys)
    return true
  }

  /** Saves the draft; the failure (already shown on the components when it is theirs) is thrown. */
  async function save(): Promise<void> {
    const e = editor.value
    if (!e) return
    const keys = items.value.map((i) => i.key)
    saving.value = true
    try {
      const draft = await contentApi.saveDraft(e.draft.version, components.value)
      // The server's cleaned components (trimmed, HTML cleaned) replace the ones sent, keys kept.
      items.value = draft.components.map((component, i) => ({ key: keys[i] ?? nextKey++, component }))
      saved.value = JSON.stringify(draft.components)
      errors.value = noPageErrors()
      editor.value = { ...e, draft, unpublished_changes: true }
      // Whether the draft still differs from what is published is the server's to say.
      editor.value = await contentApi.home().catch(() => editor.value as HomeEditor)
    } catch (err) {
      const x = asApiError(err)
      if (x.code === 'CONFLICT') conflict.value = true
      else refused(x, keys)
      throw x
    } finally {
      saving.value = false
    }
  }

  /** Saves unsaved edits, then publishes the draft as the next version. */
  async function publish(): Promise<HomeVersionSummary | null> {
    publishing.value = true
    try {
      if (dirty.value) await save()
      const e = editor.value
      if (!e) return null
      const v = await contentApi.publish(e.draft.version)
      editor.value = await contentApi.home()
      return v
    } catch (err) {
      const x = asApiError(err)
      if (x.code === 'CONFLICT') conflict.value = true
      throw x
    } finally {
      publishing.value = false
    }
  }

  /** Publishes version `n` again; the draft becomes it, so the editor loads it. */
  async function restore(n: number): Promise<HomeVersionSummary> {
    const v = await contentApi.restore(n)
    await load()
    return v
  }

  function add(type: HomeComponentType, texts: StarterTexts) {
    const item = { key: nextKey++, component: newComponent(type, texts) }
    const at = items.value.findIndex((i) => i.key === selected.value)
    const list = [...items.value]
    list.splice(at < 0 ? list.length : at + 1, 0, item)
    items.value = list
    selected.value = item.key
  }

  function move(from: number, to: number) {
    items.value = moveItem(items.value, from, to)
  }

  function remove(key: number) {
    const at = items.value.findIndex((i) => i.key === key)
    if (at < 0) return
    items.value = items.value.filter((i) => i.key !== key)
    if (selected.value === key) selected.value = (items.value[at] ?? items.value[at - 1])?.key ?? null
  }

  function replace(key: number, component: HomeComponent) {
    items.value = items.value.map((i) => (i.key === key ? { key, component } : i))
  }

  return {
    editor, items, selected, selectedItem, components, dirty, loading, loadError, saving, publishing, conflict, errors,
    load, save, publish, restore, add, move, remove, replace, refused,
  }
}
