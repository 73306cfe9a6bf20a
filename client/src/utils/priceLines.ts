import type { PriceLine } from '../api/types'
import { t } from '../i18n'

/**
 * A price line's label as shown: the base line keeps the plan's title, a discount says what it
 * is and whose it is (`会员折扣 · Gold`, `优惠券 · 满10减5`). A kind this client does not know
 * keeps the server's label.
 */
export function lineLabel(line: PriceLine): string {
  switch (line.kind) {
    case 'membership':
      return t('price.membership', { name: line.label })
    case 'coupon':
      return t('price.coupon', { name: line.label })
    default:
      return line.label
  }
}
