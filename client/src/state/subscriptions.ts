import { api } from '../api'
import { t } from '../i18n'
import { platform } from '../platform'
import { createSubscriber } from '../utils/subscribe'

/** The app's subscribe prompt: templates fetched once per session, answers reported. */
export const subscriptions = createSubscriber({
  templates: () => api.subscriptionTemplates(),
  record: (choice) => api.recordSubscriptions(choice),
  prompt: (templateIds, info) => platform.requestSubscribe(templateIds, info),
  title: (event) => t(`subscribe.event.${event}`),
})
