import { api, unwrap } from './client'
import { clean } from './orders'
import type {
  AgreementBody, AgreementKind, AgreementOverview, AgreementVersion, Announcement, AnnouncementBody, AppHome, Banner, BannerBody, HomeComponent, HomeDraft,
  HomeEditor, HomeVersion, HomeVersionSummary, Page, PageQuery, ServiceDesk, ServiceDeskBody,
} from './types'

export const contentApi = {
  banners: (position?: string): Promise<Banner[]> =>
    unwrap(api.GET('/api/v1/admin/content/banners', { params: { query: clean({ position }) } })),
  createBanner: (body: BannerBody): Promise<Banner> =>
    unwrap(api.POST('/api/v1/admin/content/banners', { body })),
  updateBanner: (id: string, body: BannerBody): Promise<Banner> =>
    unwrap(api.PUT('/api/v1/admin/content/banners/{id}', { params: { path: { id } }, body })),
  deleteBanner: (id: string): Promise<void> =>
    unwrap(api.DELETE('/api/v1/admin/content/banners/{id}', { params: { path: { id } } })).then(() => undefined),

  announcements: (q: PageQuery): Promise<Page<Announcement>> =>
    unwrap(api.GET('/api/v1/admin/content/announcements', { params: { query: q } })),
  createAnnouncement: (body: AnnouncementBody): Promise<Announcement> =>
    unwrap(api.POST('/api/v1/admin/content/announcements', { body })),
  updateAnnouncement: (id: string, body: AnnouncementBody): Promise<Announcement> =>
    unwrap(api.PUT('/api/v1/admin/content/announcements/{id}', { params: { path: { id } }, body })),
  deleteAnnouncement: (id: string): Promise<void> =>
    unwrap(api.DELETE('/api/v1/admin/content/announcements/{id}', { params: { path: { id } } })).then(() => undefined),

  /** The draft, what is published, and whether they differ. */
  home: (): Promise<HomeEditor> => unwrap(api.GET('/api/v1/admin/content/home')),
  /** Saves the draft if nobody saved it since `version` (409 `CONFLICT` otherwise). */
  saveDraft: (version: number, components: HomeComponent[]): Promise<HomeDraft> =>
    unwrap(api.PUT('/api/v1/admin/content/home/draft', { body: { version, components } })),
  /** The page the app would get for these components now; nothing is saved. */
  preview: (components: HomeComponent[], signal?: AbortSignal): Promise<AppHome> =>
    unwrap(api.POST('/api/v1/admin/content/home/preview', { body: { components }, signal })),
  /** Publishes the saved draft, if it is still at `version`, as the next version. */
  publish: (version: number): Promise<HomeVersionSummary> =>
    unwrap(api.POST('/api/v1/admin/content/home/publish', { body: { version } })),
  versions: (): Promise<HomeVersionSummary[]> => unwrap(api.GET('/api/v1/admin/content/home/versions')),
  version: (number: number): Promise<HomeVersion> =>
    unwrap(api.GET('/api/v1/admin/content/home/versions/{number}', { params: { path: { number } } })),
  /** Publishes version `number`'s components again as the next version; the draft becomes them too. */
  restore: (number: number): Promise<HomeVersionSummary> =>
    unwrap(api.POST('/api/v1/admin/content/home/versions/{number}/restore', { params: { path: { number } } })),

  /** The customer service page: questions, contacts, working hours, and the version to save against. */
  service: (): Promise<ServiceDesk> => unwrap(api.GET('/api/v1/admin/content/service')),
  /** Replaces the page whole if nobody saved it since `body.version` (409 `CONFLICT` otherwise); the app shows it at once. */
  saveService: (body: ServiceDeskBody): Promise<ServiceDesk> => unwrap(api.PUT('/api/v1/admin/content/service', { body })),

  /** The four agreements, each with its current version (null before the first). */
  agreements: (): Promise<AgreementOverview[]> => unwrap(api.GET('/api/v1/admin/content/agreements')),
  /** Every version of one agreement, newest first. */
  agreementVersions: (kind: AgreementKind): Promise<AgreementVersion[]> =>
    unwrap(api.GET('/api/v1/admin/content/agreements/{kind}/versions', { params: { path: { kind } } })),
  /** Publishes the next version at once (for the recharge terms, every user accepts it again at checkout). */
  publishAgreement: (kind: AgreementKind, body: AgreementBody): Promise<AgreementVersion> =>
    unwrap(api.POST('/api/v1/admin/content/agreements/{kind}/versions', { params: { path: { kind } }, body })),
}

/** A banner's editable fields, as PUT takes them (to change one, e.g. `enabled`, and send the rest unchanged). */
export function bannerBody(b: Banner): BannerBody {
  return {
    title: b.title, image_url: b.image_url, link: b.link, position: b.position,
    starts_at: b.starts_at ?? null, ends_at: b.ends_at ?? null, sort: b.sort, enabled: b.enabled,
  }
}

/** An announcement's editable fields, as PUT takes them. */
export function announcementBody(a: Announcement): AnnouncementBody {
  return {
    title: a.title, body_html: a.body_html, audience: a.audience,
    starts_at: a.starts_at ?? null, ends_at: a.ends_at ?? null, pinned: a.pinned, enabled: a.enabled,
  }
}
