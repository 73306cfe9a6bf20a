import type zh from './zh-CN'

type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> }

const en: Shape<typeof zh> = {
  common: {
    search: 'Search', reset: 'Reset', refresh: 'Refresh', retry: 'Retry', detail: 'Details', actions: 'Actions', yes: 'Yes', no: 'No',
    save: 'Save', cancel: 'Cancel', create: 'New', edit: 'Edit', delete: 'Delete', enable: 'Enable', disable: 'Disable',
    enabled: 'Enabled', disabled: 'Disabled', status: 'Status', requestId: 'Request ID', noMatch: 'No match', all: 'All',
    confirmDelete: 'Delete this?', saved: 'Saved', deleted: 'Deleted', bulkEnable: 'Enable selected', bulkDisable: 'Disable selected',
    selected: '{n} selected', createdAt: 'Created', updatedAt: 'Updated', name: 'Name', sort: 'Sort', id: 'ID', total: '{n} in all',
  },
  validation: { required: 'Required', maxLength: 'At most {n} characters' },
  auth: {
    title: 'Topup Admin', login: 'Sign in', logout: 'Sign out', username: 'Username', password: 'Password',
    changePassword: 'Change password', oldPassword: 'Current password', newPassword: 'New password', confirmPassword: 'Confirm new password',
    passwordPolicy: 'At least 8 characters with letters and digits', passwordMismatch: 'The passwords differ', mustChange: 'Choose your own password before going on',
    passwordChanged: 'Password changed',
  },
  shell: { quickJump: 'Quick jump', quickJumpPlaceholder: 'Type a menu name…', theme: 'Light / dark theme', primaryColor: 'Primary colour', toggleMenu: 'Collapse menu' },
  error: { forbidden: 'You are not allowed to open this page', forbiddenTitle: 'Forbidden', notFound: 'This page does not exist', notFoundTitle: 'Not found', backHome: 'Back home' },
  menu: {
    home: 'Home', profile: 'My profile',
    order: { orders: 'Orders', recharges: 'Recharge log' },
    payment: { alerts: 'Payment alerts' },
    catalog: { countries: 'Countries', operators: 'Operators', plans: 'Plans', pricing: 'Pricing', sync: 'Provider sync' },
    users: { 'app-users': 'Mini-program users', blacklist: 'Blacklist', visitors: 'Visitors' },
    system: { users: 'Staff users', roles: 'Roles', menus: 'Menus & permissions', sessions: 'Online staff', 'login-logs': 'Login log', 'operation-logs': 'Operation log', 'access-logs': 'Access log' },
  },
  nav: {
    users: 'Users', 'users.app-users': 'Mini-program users', 'users.blacklist': 'Blacklist', 'users.visitors': 'Visitors',
    catalog: 'Catalog', 'catalog.countries': 'Countries', 'catalog.operators': 'Operators', 'catalog.plans': 'Plans', 'catalog.pricing': 'Pricing', 'catalog.sync': 'Provider sync',
    order: 'Orders', 'order.orders': 'Orders', 'order.recharges': 'Recharge log',
    payment: 'Payments', 'payment.alerts': 'Payment alerts',
    system: 'System', 'system.users': 'Staff users', 'system.roles': 'Roles', 'system.menus': 'Menus & permissions', 'system.sessions': 'Online staff',
    'system.login-logs': 'Login log', 'system.operation-logs': 'Operation log', 'system.access-logs': 'Access log',
  },
  home: {
    todayOrders: "Today's orders", todayPaid: 'Paid today', successRate: 'Success rate today', held: 'Held orders', alerts: 'Payment alerts',
    successRateHint: 'succeeded / (succeeded + failed + refunded)', paidHint: 'Total of orders placed and paid today', recentOrders: 'Latest orders', viewAll: 'View all',
  },
  order: {
    orderNo: 'Order no.', createdAt: 'Placed', phone: 'Number', country: 'Country', plan: 'Plan', operator: 'Operator', operatorId: 'Operator id',
    total: 'Total', state: 'State', type: 'Type', user: 'User', minAmount: 'Min amount', maxAmount: 'Max amount', heldFilter: 'Held',
    held: 'This order is held for staff', heldShort: 'Held', export: 'Export CSV', detail: 'Order', paidAt: 'Paid', transactionId: 'WeChat transaction',
    priceLines: 'Price lines', lineKind: 'Kind', lineLabel: 'Label', amount: 'Amount', refunds: 'Refunds', noRefunds: 'No refunds', refundNo: 'Refund no.',
    requestedAt: 'Requested', attempts: 'Recharge attempts', noAttempts: 'No attempts yet', provider: 'Provider', action: 'Action', outcome: 'Outcome', latency: 'Latency',
    startedAt: 'Started', timeline: 'Timeline', refund: 'Refund', refundSubmit: 'Refund', refundable: 'Refundable', refundKind: 'Refund',
    refundPartial: 'Part of it', refundFull: 'Everything refundable', refundAmount: 'Amount (yuan)', refundReason: 'Reason',
    refundAmountFormat: 'Enter an amount with at most two decimals', refundAmountPositive: 'The amount must be above 0', refundAmountTooLarge: 'At most the refundable {max}',
    refundRequested: 'Refund requested', retry: 'Retry recharge', retryConfirm: 'Send this top-up again?', retried: 'Recharge retried',
    states: { awaiting_payment: 'Awaiting payment', paid: 'Paid', recharging: 'Recharging', succeeded: 'Succeeded', failed: 'Failed', refunding: 'Refunding', refunded: 'Refunded', closed: 'Closed' },
    refundStates: { requested: 'Processing', succeeded: 'Succeeded', failed: 'Failed' },
    key: 'Key', at: 'At', phoneMasked: 'Number', summary: 'Summary',
  },
  payment: { kind: 'Kind', source: 'Source', outTradeNo: 'Out trade no.', message: 'Message', occurrences: 'Seen', lastSeen: 'Last seen', field: 'Field', expected: 'Expected', received: 'Received' },
  catalog: {
    airtime: 'Airtime', data: 'Data', code: 'Code', nameZh: 'Chinese name', nameEn: 'English name', upstreamName: 'Upstream name', currency: 'Currency', callingCode: 'Calling code',
    providers: 'Providers', country: 'Country', provider: 'Provider', brand: 'Brand', logo: 'Logo', available: 'Available upstream', unavailable: 'Gone upstream',
    planType: 'Type', title: 'Title', titleZh: 'Chinese title', titleEn: 'English title', descriptionZh: 'Chinese description', descriptionEn: 'English description',
    faceValue: 'Face value', retail: 'Retail price', priceSource: 'Price source', pinned: 'Pinned', pinnedPrice: 'Pinned price (yuan)', pinHint: 'Empty: priced by the rules',
    tags: 'Tags', validity: 'Validity (days)', origin: 'Origin', custom: 'Custom', synced: 'Synced', newPlan: 'New custom plan', operatorId: 'Operator id',
    amount: "Amount (operator's currency)", priceSources: { rule: 'Rules', pinned: 'Pinned', missing: 'Missing' }, priceChanges: 'Price changes',
    markup: 'Default markup', countryMarkups: 'Country markups', operatorMarkups: 'Operator markups', step: 'Rounding step (fen)', preview: 'Price preview',
    previewHint: 'Estimated from the rules as typed (cost × rate × (1 + markup), rounded up to the step)', cost: 'Cost', estimated: 'Estimated price', current: 'Current price',
    repriced: '{n} plans repriced', addRow: 'Add', key: 'Key', value: 'Value', old: 'Old', new: 'New', actor: 'By', reason: 'Reason',
    syncNow: 'Sync now', syncStarted: 'Sync started', trigger: 'Trigger', duration: 'Duration', ok: 'Result', errors: 'Errors', counts: 'Added/updated/disabled/unchanged',
    reports: 'Sync reports', plan: 'Plan', markupFormat: 'A decimal such as 0.08',
  },
  users: {
    openid: 'OpenID', nickname: 'Nickname', language: 'Language', blacklisted: 'Blacklisted', savedNumbers: 'Saved numbers', lastSeen: 'Last seen',
    statuses: { active: 'Active', disabled: 'Disabled' }, orders: 'Orders', q: 'OpenID / nickname', number: 'Number', label: 'Label', blocked: 'Blocked',
    kind: 'Kind', value: 'Value', reason: 'Reason', expiresAt: 'Expires', createdBy: 'Added by', active: 'Active', addBlacklist: 'Add to blacklist',
    kinds: { phone: 'Number', openid: 'OpenID', ip: 'IP' }, newUsers: 'New users', activeUsers: 'Active users', range: 'Dates', noOrders: 'No orders',
  },
  system: {
    displayName: 'Display name', roles: 'Roles', lastLogin: 'Last sign-in', permissionCount: 'Permissions', newUser: 'New staff user', resetPassword: 'Reset password',
    assignRoles: 'Roles', tempPassword: 'Temporary password', code: 'Code', description: 'Description', builtin: 'Built-in', permissions: 'Permissions',
    newRole: 'New role', editPermissions: 'Permissions', menuKind: 'Kind', path: 'Path', permission: 'Permission code', icon: 'Icon', order: 'Order',
    visible: 'Visible', newMenu: 'New menu', parent: 'Parent', kinds: { directory: 'Directory', menu: 'Menu', button: 'Button' },
    ip: 'IP', userAgent: 'Client', lastSeen: 'Last seen', expiresAt: 'Expires', current: 'This session', forceLogout: 'Sign out',
    forceLogoutConfirm: 'End this session?', result: 'Result', reason: 'Reason', operation: 'Operation', target: 'Target', duration: 'Duration',
    before: 'Before', after: 'After', diff: 'Changes', method: 'Method', status: 'Status', actor: 'By', noChanges: 'No field changed',
    mustChange: 'Must change password',
  },
}

export default en
