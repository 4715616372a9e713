import { buildSchema, parse } from 'graphql';
import { planSubscription, ROLE_DEPENDENT_FIELDS, VIEWER_DEPENDENT_FIELDS } from '../src/realtime/plan';

/** Which live selections are shared, and between whom (the engine keys its resolutions on this). */
const schema = buildSchema(`
  type Query { task(id: ID!): Task user(id: ID!): User project(id: ID!): Project }
  type Subscription { taskChanged(projectId: ID!): TaskChange }
  type TaskChange { kind: String taskId: ID at: String task: Task actor: User }
  type Task { id: ID! title: String estimate: Int assignee: User }
  type User { id: ID! name: String email: String }
  type Project { id: ID! name: String }
`);
const plan = (selection: string) =>
  planSubscription(schema, parse(`subscription($p: ID!) { taskChanged(projectId: $p) { ${selection} } }`), null, { p: 'p1' });

it('shares a selection between every member whatever their project role, unless it has a role-dependent field', () => {
  const board = plan('kind task { title estimate assignee { name } } actor { name }');
  expect(board.sharedQuery).toContain('title');
  expect(board.roleDependent).toBe(false);
  ROLE_DEPENDENT_FIELDS.add('Task.estimate');
  try {
    expect(plan('kind task { title estimate }')).toMatchObject({ roleDependent: true });
    expect(plan('kind task { title }')).toMatchObject({ roleDependent: false });
    // inside a fragment too
    const fragment = planSubscription(
      schema,
      parse('subscription($p: ID!) { taskChanged(projectId: $p) { task { ...T } } } fragment T on Task { estimate }'),
      null,
      { p: 'p1' },
    );
    expect(fragment.roleDependent).toBe(true);
  } finally {
    ROLE_DEPENDENT_FIELDS.delete('Task.estimate');
  }
});

it('shares nothing whose value depends on who asks, and fetches nothing for event fields alone', () => {
  expect(VIEWER_DEPENDENT_FIELDS.has('User.email')).toBe(true);
  expect(plan('kind actor { name email }').sharedQuery).toBeNull();
  expect(plan('kind taskId at').sharedQuery).toBe('');
});
