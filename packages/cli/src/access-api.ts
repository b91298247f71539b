import type {
  AccessRole,
  CreatedKeyResult,
  CreatedProjectResult,
  KeyRecord,
  MemberRecord,
  ProjectRecord,
  RevokedKeyResult,
  RotatedKeyResult,
} from '@promptops/core';
import type { ApiClient } from './api-client.js';

/** Typed calls of the key, member and project routes (docs/api.md, "Projects, users and keys"). */

const seg = (value: string): string => encodeURIComponent(value);

export const accessApi = (client: ApiClient) => ({
  listKeys: async (): Promise<readonly KeyRecord[]> =>
    (await client.request<{ keys: readonly KeyRecord[] }>('GET', '/keys')).keys,
  createKey: (body: {
    name: string;
    role: AccessRole;
    user?: string | undefined;
    tenant?: string | undefined;
  }): Promise<CreatedKeyResult> => client.request('POST', '/keys', body),
  rotateKey: (keyId: string, body: { graceSeconds?: number | undefined }): Promise<RotatedKeyResult> =>
    client.request('POST', `/keys/${seg(keyId)}/rotate`, body),
  revokeKey: (keyId: string): Promise<RevokedKeyResult> => client.request('POST', `/keys/${seg(keyId)}/revoke`, {}),

  listMembers: async (): Promise<readonly MemberRecord[]> =>
    (await client.request<{ members: readonly MemberRecord[] }>('GET', '/members')).members,
  addMember: (body: { name: string; role: AccessRole; displayName?: string | undefined }): Promise<MemberRecord> =>
    client.request('POST', '/members', body),
  updateMember: (name: string, body: { role?: AccessRole; displayName?: string | null }): Promise<MemberRecord> =>
    client.request('PATCH', `/members/${seg(name)}`, body),
  removeMember: async (name: string): Promise<MemberRecord> =>
    (await client.request<{ removed: MemberRecord }>('DELETE', `/members/${seg(name)}`)).removed,

  listProjects: async (): Promise<readonly ProjectRecord[]> =>
    (await client.request<{ projects: readonly ProjectRecord[] }>('GET', '/projects')).projects,
  createProject: (name: string): Promise<CreatedProjectResult> => client.request('POST', '/projects', { name }),
});
