import { graphql } from './gql';

/** Every operation the board sends: only names of the public API (schema/api.graphql). */

export const CARD_FIELDS = graphql(`
  fragment CardFields on Task {
    id
    title
    description
    status
    position
    version
    dueDate
    assignee {
      id
      name
    }
    comments(first: 0) {
      totalCount
    }
    attachments {
      id
    }
  }
`);

export const LOGIN = graphql(`
  mutation SignIn($input: LoginInput!) {
    login(input: $input) {
      accessToken
      refreshToken
      expiresAt
      user {
        id
        name
      }
    }
  }
`);

export const REFRESH = graphql(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      expiresAt
      user {
        id
        name
      }
    }
  }
`);

export const LOGOUT = graphql(`
  mutation SignOut($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const MY_PROJECTS = graphql(`
  query MyProjects {
    projects(first: 50) {
      edges {
        node {
          id
          name
          description
        }
      }
    }
  }
`);

export const CREATE_PROJECT = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
      description
    }
  }
`);

export const BOARD = graphql(`
  query Board($projectId: ID!) {
    project(id: $projectId) {
      id
      name
      myRole
      members {
        user {
          id
          name
        }
      }
      onlineUsers {
        id
        name
      }
      tasks(first: 100, orderBy: { field: POSITION, direction: ASC }) {
        edges {
          node {
            ...CardFields
          }
        }
      }
    }
  }
`);

export const ONLINE = graphql(`
  query BoardOnline($projectId: ID!) {
    project(id: $projectId) {
      id
      onlineUsers {
        id
        name
      }
    }
  }
`);

export const TASK = graphql(`
  query Card($id: ID!) {
    task(id: $id) {
      ...CardFields
    }
  }
`);

export const TASK_COMMENTS = graphql(`
  query CardComments($id: ID!) {
    task(id: $id) {
      id
      comments(first: 100) {
        totalCount
        edges {
          node {
            id
            body
            createdAt
            author {
              id
              name
            }
          }
        }
      }
    }
  }
`);

export const MOVE_TASK = graphql(`
  mutation MoveCard($id: ID!, $status: TaskStatus!, $position: Float, $expectedVersion: Int) {
    moveTask(id: $id, status: $status, position: $position, expectedVersion: $expectedVersion) {
      ...CardFields
    }
  }
`);

export const CREATE_TASK = graphql(`
  mutation CreateCard($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...CardFields
    }
  }
`);

export const UPDATE_TASK = graphql(`
  mutation EditCard($id: ID!, $input: UpdateTaskInput!, $expectedVersion: Int) {
    updateTask(id: $id, input: $input, expectedVersion: $expectedVersion) {
      ...CardFields
    }
  }
`);

export const ADD_COMMENT = graphql(`
  mutation AddComment($taskId: ID!, $body: String!, $id: ID) {
    addComment(taskId: $taskId, body: $body, id: $id) {
      id
      body
      createdAt
      author {
        id
        name
      }
    }
  }
`);

export const TASK_CHANGED = graphql(`
  subscription BoardChanges($projectId: ID!) {
    taskChanged(projectId: $projectId) {
      kind
      taskId
      at
      actor {
        id
        name
      }
      task {
        ...CardFields
      }
    }
  }
`);

export const PRESENCE_CHANGED = graphql(`
  subscription BoardPresence($projectId: ID!) {
    presenceChanged(projectId: $projectId) {
      online
      at
      user {
        id
        name
      }
    }
  }
`);

export const UNREAD = graphql(`
  query Unread {
    me {
      id
      unreadNotificationCount
      notifications(first: 10) {
        edges {
          node {
            id
            title
            read
            createdAt
          }
        }
      }
    }
  }
`);

export const NOTIFICATION_RECEIVED = graphql(`
  subscription NotificationReceived {
    notificationReceived {
      id
      title
      read
      createdAt
    }
  }
`);

export const MARK_ALL_READ = graphql(`
  mutation MarkAllRead {
    markAllNotificationsRead
  }
`);
