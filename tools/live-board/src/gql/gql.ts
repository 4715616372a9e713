/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment CardFields on Task {\n    id\n    title\n    description\n    status\n    position\n    version\n    dueDate\n    assignee {\n      id\n      name\n    }\n    comments(first: 0) {\n      totalCount\n    }\n    attachments {\n      id\n    }\n  }\n": typeof types.CardFieldsFragmentDoc,
    "\n  mutation SignIn($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n": typeof types.SignInDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n": typeof types.RefreshDocument,
    "\n  mutation SignOut($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": typeof types.SignOutDocument,
    "\n  query MyProjects {\n    projects(first: 50) {\n      edges {\n        node {\n          id\n          name\n          description\n        }\n      }\n    }\n  }\n": typeof types.MyProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n    }\n  }\n": typeof types.CreateProjectDocument,
    "\n  query Board($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      name\n      myRole\n      members {\n        user {\n          id\n          name\n        }\n      }\n      onlineUsers {\n        id\n        name\n      }\n      tasks(first: 100, orderBy: { field: POSITION, direction: ASC }) {\n        edges {\n          node {\n            ...CardFields\n          }\n        }\n      }\n    }\n  }\n": typeof types.BoardDocument,
    "\n  query BoardOnline($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      onlineUsers {\n        id\n        name\n      }\n    }\n  }\n": typeof types.BoardOnlineDocument,
    "\n  query Card($id: ID!) {\n    task(id: $id) {\n      ...CardFields\n    }\n  }\n": typeof types.CardDocument,
    "\n  query CardComments($id: ID!) {\n    task(id: $id) {\n      id\n      comments(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            body\n            createdAt\n            author {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.CardCommentsDocument,
    "\n  mutation MoveCard($id: ID!, $status: TaskStatus!, $position: Float, $expectedVersion: Int) {\n    moveTask(id: $id, status: $status, position: $position, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n": typeof types.MoveCardDocument,
    "\n  mutation CreateCard($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...CardFields\n    }\n  }\n": typeof types.CreateCardDocument,
    "\n  mutation EditCard($id: ID!, $input: UpdateTaskInput!, $expectedVersion: Int) {\n    updateTask(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n": typeof types.EditCardDocument,
    "\n  mutation AddComment($taskId: ID!, $body: String!, $id: ID) {\n    addComment(taskId: $taskId, body: $body, id: $id) {\n      id\n      body\n      createdAt\n      author {\n        id\n        name\n      }\n    }\n  }\n": typeof types.AddCommentDocument,
    "\n  subscription BoardChanges($projectId: ID!) {\n    taskChanged(projectId: $projectId) {\n      kind\n      taskId\n      at\n      actor {\n        id\n        name\n      }\n      task {\n        ...CardFields\n      }\n    }\n  }\n": typeof types.BoardChangesDocument,
    "\n  subscription BoardPresence($projectId: ID!) {\n    presenceChanged(projectId: $projectId) {\n      online\n      at\n      user {\n        id\n        name\n      }\n    }\n  }\n": typeof types.BoardPresenceDocument,
    "\n  query Unread {\n    me {\n      id\n      unreadNotificationCount\n      notifications(first: 10) {\n        edges {\n          node {\n            id\n            title\n            read\n            createdAt\n          }\n        }\n      }\n    }\n  }\n": typeof types.UnreadDocument,
    "\n  subscription NotificationReceived {\n    notificationReceived {\n      id\n      title\n      read\n      createdAt\n    }\n  }\n": typeof types.NotificationReceivedDocument,
    "\n  mutation MarkAllRead {\n    markAllNotificationsRead\n  }\n": typeof types.MarkAllReadDocument,
};
const documents: Documents = {
    "\n  fragment CardFields on Task {\n    id\n    title\n    description\n    status\n    position\n    version\n    dueDate\n    assignee {\n      id\n      name\n    }\n    comments(first: 0) {\n      totalCount\n    }\n    attachments {\n      id\n    }\n  }\n": types.CardFieldsFragmentDoc,
    "\n  mutation SignIn($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n": types.SignInDocument,
    "\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n": types.RefreshDocument,
    "\n  mutation SignOut($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n": types.SignOutDocument,
    "\n  query MyProjects {\n    projects(first: 50) {\n      edges {\n        node {\n          id\n          name\n          description\n        }\n      }\n    }\n  }\n": types.MyProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n    }\n  }\n": types.CreateProjectDocument,
    "\n  query Board($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      name\n      myRole\n      members {\n        user {\n          id\n          name\n        }\n      }\n      onlineUsers {\n        id\n        name\n      }\n      tasks(first: 100, orderBy: { field: POSITION, direction: ASC }) {\n        edges {\n          node {\n            ...CardFields\n          }\n        }\n      }\n    }\n  }\n": types.BoardDocument,
    "\n  query BoardOnline($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      onlineUsers {\n        id\n        name\n      }\n    }\n  }\n": types.BoardOnlineDocument,
    "\n  query Card($id: ID!) {\n    task(id: $id) {\n      ...CardFields\n    }\n  }\n": types.CardDocument,
    "\n  query CardComments($id: ID!) {\n    task(id: $id) {\n      id\n      comments(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            body\n            createdAt\n            author {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": types.CardCommentsDocument,
    "\n  mutation MoveCard($id: ID!, $status: TaskStatus!, $position: Float, $expectedVersion: Int) {\n    moveTask(id: $id, status: $status, position: $position, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n": types.MoveCardDocument,
    "\n  mutation CreateCard($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...CardFields\n    }\n  }\n": types.CreateCardDocument,
    "\n  mutation EditCard($id: ID!, $input: UpdateTaskInput!, $expectedVersion: Int) {\n    updateTask(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n": types.EditCardDocument,
    "\n  mutation AddComment($taskId: ID!, $body: String!, $id: ID) {\n    addComment(taskId: $taskId, body: $body, id: $id) {\n      id\n      body\n      createdAt\n      author {\n        id\n        name\n      }\n    }\n  }\n": types.AddCommentDocument,
    "\n  subscription BoardChanges($projectId: ID!) {\n    taskChanged(projectId: $projectId) {\n      kind\n      taskId\n      at\n      actor {\n        id\n        name\n      }\n      task {\n        ...CardFields\n      }\n    }\n  }\n": types.BoardChangesDocument,
    "\n  subscription BoardPresence($projectId: ID!) {\n    presenceChanged(projectId: $projectId) {\n      online\n      at\n      user {\n        id\n        name\n      }\n    }\n  }\n": types.BoardPresenceDocument,
    "\n  query Unread {\n    me {\n      id\n      unreadNotificationCount\n      notifications(first: 10) {\n        edges {\n          node {\n            id\n            title\n            read\n            createdAt\n          }\n        }\n      }\n    }\n  }\n": types.UnreadDocument,
    "\n  subscription NotificationReceived {\n    notificationReceived {\n      id\n      title\n      read\n      createdAt\n    }\n  }\n": types.NotificationReceivedDocument,
    "\n  mutation MarkAllRead {\n    markAllNotificationsRead\n  }\n": types.MarkAllReadDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CardFields on Task {\n    id\n    title\n    description\n    status\n    position\n    version\n    dueDate\n    assignee {\n      id\n      name\n    }\n    comments(first: 0) {\n      totalCount\n    }\n    attachments {\n      id\n    }\n  }\n"): (typeof documents)["\n  fragment CardFields on Task {\n    id\n    title\n    description\n    status\n    position\n    version\n    dueDate\n    assignee {\n      id\n      name\n    }\n    comments(first: 0) {\n      totalCount\n    }\n    attachments {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignIn($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignIn($input: LoginInput!) {\n    login(input: $input) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      accessToken\n      refreshToken\n      expiresAt\n      user {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignOut($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"): (typeof documents)["\n  mutation SignOut($refreshToken: String!) {\n    logout(refreshToken: $refreshToken)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyProjects {\n    projects(first: 50) {\n      edges {\n        node {\n          id\n          name\n          description\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyProjects {\n    projects(first: 50) {\n      edges {\n        node {\n          id\n          name\n          description\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Board($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      name\n      myRole\n      members {\n        user {\n          id\n          name\n        }\n      }\n      onlineUsers {\n        id\n        name\n      }\n      tasks(first: 100, orderBy: { field: POSITION, direction: ASC }) {\n        edges {\n          node {\n            ...CardFields\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Board($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      name\n      myRole\n      members {\n        user {\n          id\n          name\n        }\n      }\n      onlineUsers {\n        id\n        name\n      }\n      tasks(first: 100, orderBy: { field: POSITION, direction: ASC }) {\n        edges {\n          node {\n            ...CardFields\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BoardOnline($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      onlineUsers {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  query BoardOnline($projectId: ID!) {\n    project(id: $projectId) {\n      id\n      onlineUsers {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Card($id: ID!) {\n    task(id: $id) {\n      ...CardFields\n    }\n  }\n"): (typeof documents)["\n  query Card($id: ID!) {\n    task(id: $id) {\n      ...CardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CardComments($id: ID!) {\n    task(id: $id) {\n      id\n      comments(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            body\n            createdAt\n            author {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query CardComments($id: ID!) {\n    task(id: $id) {\n      id\n      comments(first: 100) {\n        totalCount\n        edges {\n          node {\n            id\n            body\n            createdAt\n            author {\n              id\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MoveCard($id: ID!, $status: TaskStatus!, $position: Float, $expectedVersion: Int) {\n    moveTask(id: $id, status: $status, position: $position, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n"): (typeof documents)["\n  mutation MoveCard($id: ID!, $status: TaskStatus!, $position: Float, $expectedVersion: Int) {\n    moveTask(id: $id, status: $status, position: $position, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCard($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...CardFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCard($input: CreateTaskInput!) {\n    createTask(input: $input) {\n      ...CardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditCard($id: ID!, $input: UpdateTaskInput!, $expectedVersion: Int) {\n    updateTask(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n"): (typeof documents)["\n  mutation EditCard($id: ID!, $input: UpdateTaskInput!, $expectedVersion: Int) {\n    updateTask(id: $id, input: $input, expectedVersion: $expectedVersion) {\n      ...CardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddComment($taskId: ID!, $body: String!, $id: ID) {\n    addComment(taskId: $taskId, body: $body, id: $id) {\n      id\n      body\n      createdAt\n      author {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AddComment($taskId: ID!, $body: String!, $id: ID) {\n    addComment(taskId: $taskId, body: $body, id: $id) {\n      id\n      body\n      createdAt\n      author {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BoardChanges($projectId: ID!) {\n    taskChanged(projectId: $projectId) {\n      kind\n      taskId\n      at\n      actor {\n        id\n        name\n      }\n      task {\n        ...CardFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription BoardChanges($projectId: ID!) {\n    taskChanged(projectId: $projectId) {\n      kind\n      taskId\n      at\n      actor {\n        id\n        name\n      }\n      task {\n        ...CardFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BoardPresence($projectId: ID!) {\n    presenceChanged(projectId: $projectId) {\n      online\n      at\n      user {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription BoardPresence($projectId: ID!) {\n    presenceChanged(projectId: $projectId) {\n      online\n      at\n      user {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Unread {\n    me {\n      id\n      unreadNotificationCount\n      notifications(first: 10) {\n        edges {\n          node {\n            id\n            title\n            read\n            createdAt\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Unread {\n    me {\n      id\n      unreadNotificationCount\n      notifications(first: 10) {\n        edges {\n          node {\n            id\n            title\n            read\n            createdAt\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NotificationReceived {\n    notificationReceived {\n      id\n      title\n      read\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  subscription NotificationReceived {\n    notificationReceived {\n      id\n      title\n      read\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkAllRead {\n    markAllNotificationsRead\n  }\n"): (typeof documents)["\n  mutation MarkAllRead {\n    markAllNotificationsRead\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;