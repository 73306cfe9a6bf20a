import type { Component } from 'vue'
import {
  AlertOutlined, AppstoreOutlined, AuditOutlined, ClusterOutlined, CustomerServiceOutlined, DesktopOutlined, FileTextOutlined, GiftOutlined, GlobalOutlined, HistoryOutlined,
  HomeOutlined, LayoutOutlined, LineChartOutlined, LoginOutlined, MenuOutlined, MessageOutlined, MoneyCollectOutlined, NotificationOutlined, PictureOutlined, ProfileOutlined,
  SendOutlined, SettingOutlined, ShoppingOutlined, StopOutlined, SyncOutlined, TagsOutlined, TeamOutlined, ThunderboltOutlined, UserOutlined, WalletOutlined,
} from '@ant-design/icons-vue'

/** The server names icons in its menu tree; these are the ones it seeds. */
export const MENU_ICONS: Record<string, Component> = {
  alert: AlertOutlined, appstore: AppstoreOutlined, audit: AuditOutlined, cluster: ClusterOutlined, 'customer-service': CustomerServiceOutlined, desktop: DesktopOutlined,
  'file-text': FileTextOutlined,
  gift: GiftOutlined, global: GlobalOutlined, history: HistoryOutlined, home: HomeOutlined, layout: LayoutOutlined, 'line-chart': LineChartOutlined, login: LoginOutlined,
  menu: MenuOutlined, message: MessageOutlined, 'money-collect': MoneyCollectOutlined, notification: NotificationOutlined, picture: PictureOutlined, profile: ProfileOutlined,
  send: SendOutlined, setting: SettingOutlined, shopping: ShoppingOutlined, stop: StopOutlined, sync: SyncOutlined, tags: TagsOutlined, team: TeamOutlined,
  thunderbolt: ThunderboltOutlined, user: UserOutlined, wallet: WalletOutlined,
}
