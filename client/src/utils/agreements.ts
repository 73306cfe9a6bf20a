import { ApiError } from '../api/http'
import type { AgreementKind, AppAgreement } from '../api/types'

/** Every agreement kind, in the order the agreements page lists them. */
export const AGREEMENT_KINDS: readonly AgreementKind[] = [
  'user_agreement',
  'privacy_policy',
  'recharge_terms',
  'membership_terms',
]

export function isAgreementKind(value: unknown): value is AgreementKind {
  return typeof value === 'string' && (AGREEMENT_KINDS as readonly string[]).includes(value)
}

/** What checkout's `AGREEMENT_REQUIRED` names: the agreement and the version to accept. */
export interface RequiredAgreement {
  kind: AgreementKind
  /** The version the server asked for (the text fetched afterwards may be newer still). */
  version: number | undefined
}

/**
 * The agreement a refused checkout waits for (409 `AGREEMENT_REQUIRED`, `details: {kind,
 * version}`); undefined for any other failure. Without a readable kind it is the recharge
 * terms, the only agreement checkout asks for.
 */
export function requiredAgreement(err: unknown): RequiredAgreement | undefined {
  if (!(err instanceof ApiError) || err.code !== 'AGREEMENT_REQUIRED') return undefined
  const details: { kind?: unknown; version?: unknown } =
    typeof err.details === 'object' && err.details !== null ? err.details : {}
  const version = Number(details.version)
  return {
    kind: isAgreementKind(details.kind) ? details.kind : 'recharge_terms',
    version: Number.isInteger(version) && version > 0 ? version : undefined,
  }
}

/** An accept refused because a newer version was published meanwhile (409 `CONFLICT`). */
export function isStaleVersion(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.code === 'CONFLICT'
}

/** No agreement of that kind is published (404). */
export function isUnpublished(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404
}

/** The agreements in the page's order (kinds this client does not know go last, as sent). */
export function sortAgreements<T extends Pick<AppAgreement, 'kind'>>(items: readonly T[]): T[] {
  const rank = (kind: string) => {
    const index = (AGREEMENT_KINDS as readonly string[]).indexOf(kind)
    return index < 0 ? AGREEMENT_KINDS.length : index
  }
  return [...items].sort((a, b) => rank(a.kind) - rank(b.kind))
}

/** The agreement with this version marked accepted at `at` (what the page shows after a 204). */
export function markAccepted<T extends Pick<AppAgreement, 'version' | 'accepted_at'>>(
  agreement: T,
  version: number,
  at: string,
): T {
  if (agreement.version !== version || agreement.accepted_at) return agreement
  return { ...agreement, accepted_at: at }
}
