import type { Me } from '../api/types';

/**
 * The key name the header shows before the role chip, or null when it would only repeat the role (the
 * bootstrap key is named `admin` and has the role admin: "admin · admin · default" said it twice).
 */
export const identityName = (me: Pick<Me, 'keyName' | 'role'>): string | null =>
  me.keyName.trim().toLowerCase() === me.role ? null : me.keyName;
