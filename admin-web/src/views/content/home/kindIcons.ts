import type { Component } from 'vue'
import {
  ColumnHeightOutlined, CrownOutlined, FileTextOutlined, FireOutlined, GiftOutlined, GlobalOutlined, MobileOutlined, PictureOutlined, SoundOutlined,
} from '@ant-design/icons-vue'
import type { HomeComponentType } from '@/api/types'

/** An icon for each kind of home page component, in the palette and the list. */
export const KIND_ICONS: Readonly<Record<HomeComponentType, Component>> = {
  topup_form: MobileOutlined, banner_carousel: PictureOutlined, notice_bar: SoundOutlined, country_grid: GlobalOutlined, hot_plans: FireOutlined,
  coupon_entry: GiftOutlined, membership_entry: CrownOutlined, rich_text: FileTextOutlined, spacer: ColumnHeightOutlined,
}
