import { computed, ref, shallowRef } from 'vue'
import { contentApi } from '@/api/content'
import { ApiError, networkError } from '@/api/errors'
import type { Contact, Faq, ServiceDesk } from '@/api/types'
import { moveItem } from '@/utils/content'
import {
  CONTACT_KINDS, MAX_CONTACTS, MAX_FAQS, categoryName, insertIndex, listErrors, moveCategory, moveWithinCategory, renameCategory, type FieldReasons, type Keyed,
  type ListErrors,
} from '@/utils/service'

export const noErrors = (): ListErrors => ({ items: { faqs: new Map(), contacts: new Map() }, rest: {} })
const asApiError = (e: unknown) => (e instanceof ApiError ? e : networkError(e))

/** `errors` without the reasons of `key`'s fields that `next` changed from `prev` (they are being fixed). */
function withoutFixed<T extends object>(errors: ListErrors, list: string, key: number, prev: T, next: T): ListErrors {
  const had = errors.items[list]?.get(key)
  if (!had) return errors
  const left: Record<string, string> = {}
  for (const [field, reason] of Object.entries(had)) {
    if ((prev as Record<string, unknown>)[field] === (next as Record<string, unknown>)[field]) left[field] = reason
  }
  const items = new Map(errors.items[list])
  if (Object.keys(left).length) items.set(key, left)
  else items.delete(key)
  return { ...errors, items: { ...errors.items, [list]: items } }
}

/**
 * The customer service page as edited: its questions (with keys that follow them through moves),
 * contacts and working hours, what the server said was wrong with them, and saving.
 */
export function useServiceEditor() {
  const desk = shallowRef<ServiceDesk | null>(null)
  const faqs = ref<Keyed<Faq>[]>([])
  const contacts = ref<Keyed<Contact>[]>([])
  const workingHours = ref('')
  const loading = ref(false)
  const loadError = ref<ApiError | null>(null)
  const saving = ref(false)
  /** Someone else saved the page since it was loaded: only a reload helps. */
  const conflict = ref(false)
  const errors = shallowRef<ListErrors>(noErrors())
  const saved = ref('')
  let nextKey = 1

  const content = () => ({ faqs: faqs.value.map((f) => f.item), contacts: contacts.value.map((c) => c.item), working_hours: workingHours.value })
  const dirty = computed(() => desk.value !== null && JSON.stringify(content()) !== saved.value)
  const categories = computed(() => [...new Set(faqs.value.map((f) => categoryName(f.item.category)))])

  function take(d: ServiceDesk) {
    desk.value = d
    faqs.value = d.faqs.map((item) => ({ key: nextKey++, item }))
    contacts.value = d.contacts.map((item) => ({ key: nextKey++, item }))
    workingHours.value = d.working_hours
    saved.value = JSON.stringify(content())
  }

  async function load() {
    loading.value = true
    loadError.value = null
    try {
      take(await contentApi.service())
      conflict.value = false
      errors.value = noErrors()
    } catch (e) {
      loadError.value = asApiError(e)
    } finally {
      loading.value = false
    }
  }

  /** Saves the page; the failure (already put on its fields when it is theirs) is thrown. */
  async function save(): Promise<void> {
    const d = desk.value
    if (!d) return
    const faqKeys = faqs.value.map((f) => f.key)
    const contactKeys = contacts.value.map((c) => c.key)
    saving.value = true
    try {
      const answer = await contentApi.saveService({ version: d.version, ...content() })
      // The server's cleaned text (trimmed, HTML cleaned) replaces what was sent; keys are kept.
      take(answer)
      faqs.value = faqs.value.map((f, i) => ({ ...f, key: faqKeys[i] ?? f.key }))
      contacts.value = contacts.value.map((c, i) => ({ ...c, key: contactKeys[i] ?? c.key }))
      errors.value = noErrors()
    } catch (err) {
      const x = asApiError(err)
      if (x.code === 'CONFLICT') conflict.value = true
      else if (x.code === 'VALIDATION_FAILED') errors.value = listErrors(x.fieldErrors(), { faqs: faqKeys, contacts: contactKeys })
      throw x
    } finally {
      saving.value = false
    }
  }

  /** Adds an empty question to `category` (after its last); its key, to open it. */
  function addFaq(category: string): number | null {
    if (faqs.value.length >= MAX_FAQS) return null
    const item: Keyed<Faq> = { key: nextKey++, item: { category, question: '', answer_html: '' } }
    const list = [...faqs.value]
    list.splice(insertIndex(list.map((f) => f.item), category), 0, item)
    faqs.value = list
    return item.key
  }

  function updateFaq(key: number, faq: Faq) {
    const prev = faqs.value.find((f) => f.key === key)
    if (!prev) return
    errors.value = withoutFixed(errors.value, 'faqs', key, prev.item, faq)
    faqs.value = faqs.value.map((f) => (f.key === key ? { key, item: faq } : f))
  }

  function removeFaq(key: number) {
    faqs.value = faqs.value.filter((f) => f.key !== key)
  }

  /** Moves a question past its neighbour in its category. */
  function moveFaq(key: number, dir: -1 | 1) {
    const at = faqs.value.findIndex((f) => f.key === key)
    if (at >= 0) faqs.value = moveWithinCategory(faqs.value.map((f) => ({ category: f.item.category, f })), at, dir).map((x) => x.f)
  }

  /** Moves a question to the end of another category. */
  function moveFaqTo(key: number, category: string) {
    const at = faqs.value.findIndex((f) => f.key === key)
    const it = faqs.value[at]
    if (!it) return
    const list = faqs.value.filter((f) => f.key !== key)
    list.splice(insertIndex(list.map((f) => f.item), category), 0, { key, item: { ...it.item, category } })
    faqs.value = list
  }

  function moveGroup(category: string, dir: -1 | 1) {
    faqs.value = moveCategory(faqs.value, category, dir)
  }

  function renameGroup(from: string, to: string) {
    const renamed = renameCategory(faqs.value.map((f) => f.item), from, to)
    faqs.value.forEach((f, i) => {
      const item = renamed[i] as Faq
      if (item !== f.item) errors.value = withoutFixed(errors.value, 'faqs', f.key, f.item, item)
    })
    faqs.value = faqs.value.map((f, i) => ({ key: f.key, item: renamed[i] as Faq }))
  }

  function addContact() {
    if (contacts.value.length >= MAX_CONTACTS) return
    contacts.value = [...contacts.value, { key: nextKey++, item: { kind: CONTACT_KINDS[0] ?? 'phone', label: '', value: '' } }]
  }

  function updateContact(key: number, contact: Contact) {
    const prev = contacts.value.find((c) => c.key === key)
    if (!prev) return
    errors.value = withoutFixed(errors.value, 'contacts', key, prev.item, contact)
    contacts.value = contacts.value.map((c) => (c.key === key ? { key, item: contact } : c))
  }

  function removeContact(key: number) {
    contacts.value = contacts.value.filter((c) => c.key !== key)
  }

  function moveContact(from: number, to: number) {
    contacts.value = moveItem(contacts.value, from, to)
  }

  function setWorkingHours(v: string) {
    workingHours.value = v
    if (errors.value.rest.working_hours) {
      const { working_hours: _fixed, ...rest } = errors.value.rest
      errors.value = { ...errors.value, rest }
    }
  }

  /** The reasons of `key`'s fields. */
  const faqErrors = (key: number): FieldReasons => errors.value.items.faqs?.get(key) ?? {}

  return {
    desk, faqs, contacts, workingHours, categories, dirty, loading, loadError, saving, conflict, errors,
    load, save, addFaq, updateFaq, removeFaq, moveFaq, moveFaqTo, moveGroup, renameGroup, addContact, updateContact, removeContact, moveContact,
    setWorkingHours, faqErrors,
  }
}
