import { ALLOW_PRIVATE_ENV } from './targets.js';
import { SECRET_KEY_ENV, secretBoxFrom, type SecretBox } from './secrets.js';

/** The demo's secret key: its database is fresh each start, and its webhooks are examples. */
const DEMO_SECRET_KEY = 'promptops-demo-webhook-secret-key';

/** PROMPTOPS_SECRET_KEY and PROMPTOPS_WEBHOOK_ALLOW_PRIVATE, checked (a short key refuses the start). */
export const webhookSettingsFrom = (
  env: NodeJS.ProcessEnv,
  demo = false,
): { secretBox?: SecretBox; allowPrivate: boolean } => {
  const secretBox = secretBoxFrom(env[SECRET_KEY_ENV] ?? (demo ? DEMO_SECRET_KEY : undefined));
  const raw = env[ALLOW_PRIVATE_ENV];
  if (raw !== undefined && raw !== '' && raw !== '0' && raw !== '1') {
    throw new Error(`${ALLOW_PRIVATE_ENV} must be 1 (allow private webhook targets) or 0; got '${raw}'`);
  }
  return { ...(secretBox === undefined ? {} : { secretBox }), allowPrivate: raw === '1' };
};
