import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_FILE, composeSupergraph, REPO_ROOT, SUPERGRAPH_FILE } from '@tm/tools/compose';

/** The committed supergraph and client-facing schema must be what the subgraphs compose to. */
describe('schema/', () => {
  const composed = composeSupergraph();

  it('composes without errors, and the committed files are up to date (run `npm run compose` if not)', () => {
    expect(readFileSync(path.join(REPO_ROOT, SUPERGRAPH_FILE), 'utf8')).toBe(composed.supergraph);
    expect(readFileSync(path.join(REPO_ROOT, API_FILE), 'utf8')).toBe(composed.api);
  });

  it('keeps the fixed public names clients depend on', () => {
    for (const name of [
      'me: User',
      'user(id: ID!): User',
      'register(input: RegisterInput!): AuthPayload!',
      'login(input: LoginInput!): AuthPayload!',
      'refreshToken(refreshToken: String!): AuthPayload!',
      'logout(refreshToken: String!): Boolean!',
      'scalar DateTime',
    ]) {
      expect(composed.api).toContain(name);
    }
    for (const field of [
      'id: ID!',
      'email: String!',
      'name: String!',
      'roles: [Role!]!',
      'status: UserStatus!',
      'mfaEnabled: Boolean!',
      'createdAt: DateTime!',
      'lastSeenAt: DateTime',
      'online: Boolean!',
    ]) {
      expect(composed.api).toMatch(new RegExp(`type User \\{[^}]*${field.replace(/[[\]()!]/g, '\\$&')}`));
    }
    expect(composed.supergraph).toContain('@join__type(graph: USERS, key: "id")');
  });

  it('never exposes private fields', () => {
    expect(composed.api).not.toMatch(/passwordHash|tokenVersion|secretHash/);
  });
});
