import { useApolloClient, useMutation, useQuery, useSubscription } from '@apollo/client';
import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { Board } from './Board';
import { errorCode, errorMessage } from './errors';
import { Icon } from './icons';
import { CREATE_PROJECT, LOGIN, LOGOUT, MARK_ALL_READ, MY_PROJECTS, NOTIFICATION_RECEIVED, UNREAD } from './operations';
import type { Session, Tokens } from './session';

/** The live connection's state, shared with the header (set by the socket's callbacks in main.tsx). */
export interface Live {
  listeners: Set<() => void>;
  status: 'idle' | 'connected' | 'reconnecting';
  reconnects: number;
}

function useLive(live: Live): Pick<Live, 'status' | 'reconnects'> {
  const snapshot = useSyncExternalStore(
    (cb) => {
      live.listeners.add(cb);
      return () => live.listeners.delete(cb);
    },
    () => `${live.status}:${live.reconnects}`,
  );
  const [status, reconnects] = snapshot.split(':') as [Live['status'], string];
  return { status, reconnects: Number(reconnects) };
}

function useSession(session: Session): Tokens | null {
  return useSyncExternalStore(
    (cb) => session.subscribe(cb),
    () => session.current,
  );
}

/** The selected project lives in the URL hash (`#project=<id>`), so a reload keeps the board. */
function useProjectHash(): [string | null, (id: string | null) => void] {
  const read = () => new URLSearchParams(window.location.hash.slice(1)).get('project');
  const [id, setId] = useState(read);
  useEffect(() => {
    const onHash = () => setId(read());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return [id, (next) => (window.location.hash = next ? `project=${next}` : '')];
}

export function App({ session, live }: { session: Session; apiUrl: string; live: Live }) {
  const tokens = useSession(session);
  const [projectId, setProjectId] = useProjectHash();
  const { status, reconnects } = useLive(live);
  if (!tokens) return <SignIn session={session} />;
  return (
    <div className="app">
      <header className="topbar">
        <button className="link" onClick={() => setProjectId(null)}>
          Live board
        </button>
        <span className="spacer" />
        <span className={`live live-${status}`} data-testid="live-status" data-reconnects={reconnects} title="live updates">
          {status === 'connected' ? 'live' : status === 'reconnecting' ? 'reconnecting…' : '…'}
        </span>
        <Bell />
        <span className="me" data-testid="me">
          {tokens.user.name}
        </span>
        <SignOut session={session} />
      </header>
      {projectId ? (
        <Board
          key={projectId}
          projectId={projectId}
          me={tokens.user}
          reconnects={reconnects}
          onLeave={() => setProjectId(null)}
        />
      ) : (
        <Projects onOpen={setProjectId} />
      )}
    </div>
  );
}

/** Ends the session on the server too (its refresh token stops working), then forgets it here. */
function SignOut({ session }: { session: Session }) {
  const [logout] = useMutation(LOGOUT);
  return (
    <button
      onClick={() => {
        const refreshToken = session.current?.refreshToken;
        const done = () => session.set(null);
        if (refreshToken) void logout({ variables: { refreshToken } }).then(done, done);
        else done();
      }}
    >
      Sign out
    </button>
  );
}

function SignIn({ session }: { session: Session }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [mfaCode, setMfaCode] = useState('');
  const [needMfa, setNeedMfa] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [login, { loading }] = useMutation(LOGIN);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const { data } = await login({ variables: { input: { email, password, ...(needMfa ? { mfaCode } : {}) } } });
      if (data)
        session.set({ accessToken: data.login.accessToken, refreshToken: data.login.refreshToken, user: data.login.user });
    } catch (err) {
      // AUTH-003: the password was right and the account has MFA: ask for the code and sign in again
      if (errorCode(err) === 'AUTH-003') {
        setNeedMfa(true);
        setError(needMfa ? errorMessage(err) : null);
      } else setError(errorMessage(err));
    }
  };
  return (
    <form className="signin" onSubmit={submit} aria-label="Sign in">
      <h1>Live board</h1>
      <label>
        Email
        <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {needMfa && (
        <label>
          Authentication code
          <input
            inputMode="numeric"
            autoComplete="one-time-code"
            value={mfaCode}
            onChange={(e) => setMfaCode(e.target.value)}
            autoFocus
            required
          />
        </label>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={loading}>
        {needMfa ? 'Verify' : 'Sign in'}
      </button>
    </form>
  );
}

function Projects({ onOpen }: { onOpen: (id: string) => void }) {
  const { data, loading, error } = useQuery(MY_PROJECTS, { fetchPolicy: 'cache-and-network' });
  const [name, setName] = useState('');
  const [create, created] = useMutation(CREATE_PROJECT, { refetchQueries: [MY_PROJECTS] });
  return (
    <main className="projects">
      <h2>Projects</h2>
      {loading && !data && <p>Loading…</p>}
      {error && <p role="alert">{errorMessage(error)}</p>}
      <ul>
        {data?.projects.edges.map(({ node }) => (
          <li key={node.id}>
            <button className="project" onClick={() => onOpen(node.id)}>
              {node.name}
            </button>
            {node.description && <span className="muted"> {node.description}</span>}
          </li>
        ))}
      </ul>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await create({ variables: { input: { name } } }).catch(() => null);
          if (r?.data) onOpen(r.data.createProject.id);
        }}
      >
        <input
          aria-label="New project name"
          placeholder="New project"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
        <button type="submit">Create</button>
        {created.error && <span role="alert"> {errorMessage(created.error)}</span>}
      </form>
    </main>
  );
}

/** The bell: unread count from `me`, raised live by `notificationReceived`. */
function Bell() {
  const client = useApolloClient();
  const { data } = useQuery(UNREAD, { fetchPolicy: 'cache-and-network' });
  const [open, setOpen] = useState(false);
  const [markAll] = useMutation(MARK_ALL_READ, { refetchQueries: [UNREAD] });
  useSubscription(NOTIFICATION_RECEIVED, {
    onData: ({ data: event }) => {
      const n = event.data?.notificationReceived;
      if (!n) return;
      client.cache.updateQuery({ query: UNREAD }, (prev) =>
        prev?.me
          ? {
              me: {
                ...prev.me,
                unreadNotificationCount: prev.me.unreadNotificationCount + (n.read ? 0 : 1),
                notifications: {
                  ...prev.me.notifications,
                  edges: [{ __typename: 'NotificationEdge' as const, node: n }, ...prev.me.notifications.edges].slice(0, 10),
                },
              },
            }
          : prev,
      );
    },
  });
  const count = data?.me?.unreadNotificationCount ?? 0;
  return (
    <span className="bell-wrap">
      <button className="bell" aria-label={`Notifications: ${count} unread`} data-testid="bell" onClick={() => setOpen(!open)}>
        <Icon name="bell" />
        {count > 0 && (
          <span className="badge" data-testid="unread">
            {count}
          </span>
        )}
      </button>
      {open && (
        <div className="bell-menu" role="dialog" aria-label="Notifications">
          {data?.me?.notifications.edges.length ? (
            <ul>
              {data.me.notifications.edges.map(({ node }) => (
                <li key={node.id} className={node.read ? 'muted' : ''}>
                  {node.title}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No notifications</p>
          )}
          <button onClick={() => void markAll()}>Mark all read</button>
        </div>
      )}
    </span>
  );
}
