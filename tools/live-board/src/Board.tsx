import { useApolloClient, useMutation, useQuery, useSubscription, type ApolloClient } from '@apollo/client';
import { useEffect, useState, type DragEvent, type FormEvent } from 'react';
import { Icon } from './icons';
import { errorCode, errorMessage, hue, initials } from './errors';
import type { CardFieldsFragment, TaskStatus } from './gql/graphql';
import {
  ADD_COMMENT,
  BOARD,
  CREATE_TASK,
  MOVE_TASK,
  ONLINE,
  PRESENCE_CHANGED,
  TASK,
  TASK_CHANGED,
  TASK_COMMENTS,
  UPDATE_TASK,
} from './operations';
import type { SessionUser } from './session';

type Card = CardFieldsFragment;

const COLUMNS: Array<{ status: TaskStatus; title: string }> = [
  { status: 'TODO', title: 'To do' },
  { status: 'IN_PROGRESS', title: 'In progress' },
  { status: 'IN_REVIEW', title: 'In review' },
  { status: 'DONE', title: 'Done' },
];

/** Losing access shows this instead of the board (PROJ-002, or PERM-002 for a project that is gone). */
const NO_ACCESS = new Set(['PROJ-002', 'PERM-002']);

function isVersionConflict(err: unknown): boolean {
  const gql = (err as { graphQLErrors?: Array<{ extensions?: Record<string, unknown> }> }).graphQLErrors ?? [];
  return gql.some((e) => e.extensions?.code === 'TASK-002' && e.extensions.field === 'expectedVersion');
}

/** Adds or removes a card in the cached board (a card created or deleted elsewhere). */
function editBoard(client: ApolloClient<object>, projectId: string, edit: (cards: Card[]) => Card[]): void {
  client.cache.updateQuery({ query: BOARD, variables: { projectId } }, (prev) => {
    if (!prev?.project) return prev;
    const cards = edit(prev.project.tasks.edges.map((e) => e.node));
    return {
      project: {
        ...prev.project,
        tasks: { ...prev.project.tasks, edges: cards.map((node) => ({ __typename: 'TaskEdge' as const, node })) },
      },
    };
  });
}

export function Board({
  projectId,
  me,
  reconnects,
  onLeave,
}: {
  projectId: string;
  me: SessionUser;
  reconnects: number;
  onLeave: () => void;
}) {
  const client = useApolloClient();
  const { data, error, loading } = useQuery(BOARD, { variables: { projectId }, fetchPolicy: 'cache-and-network' });
  const [notice, setNotice] = useState<string | null>(null);
  const [lost, setLost] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);

  useSubscription(TASK_CHANGED, {
    variables: { projectId },
    // the event's task is normalised into the cache by Apollo (its id), which updates its card;
    // a card created or deleted elsewhere changes the board's list too
    onData: ({ data: event }) => {
      const change = event.data?.taskChanged;
      if (!change) return;
      if (change.kind === 'DELETED' || !change.task) {
        editBoard(client, projectId, (cards) => cards.filter((c) => c.id !== change.taskId));
      } else if (change.kind === 'CREATED') {
        const task = change.task;
        editBoard(client, projectId, (cards) => (cards.some((c) => c.id === task.id) ? cards : [...cards, task]));
      }
    },
    onError: (err) => {
      if (NO_ACCESS.has(errorCode(err) ?? '')) setLost(true);
    },
  });
  useSubscription(PRESENCE_CHANGED, {
    variables: { projectId },
    onData: ({ data: event }) => {
      const p = event.data?.presenceChanged;
      if (!p) return;
      client.cache.updateQuery({ query: BOARD, variables: { projectId } }, (prev) => {
        if (!prev?.project) return prev;
        const others = prev.project.onlineUsers.filter((u) => u.id !== p.user.id);
        return { project: { ...prev.project, onlineUsers: p.online ? [...others, p.user] : others } };
      });
    },
    onError: (err) => {
      if (NO_ACCESS.has(errorCode(err) ?? '')) setLost(true);
    },
  });

  // who came online between the board's query and the start of its presence subscription (on opening the
  // board, and again after each reconnect) was announced to nobody here: once the subscriptions have had
  // time to start, the list is read again
  useEffect(() => {
    const timer = setTimeout(
      () => void client.query({ query: ONLINE, variables: { projectId }, fetchPolicy: 'network-only' }).catch(() => undefined),
      1500,
    );
    return () => clearTimeout(timer);
  }, [client, projectId, reconnects]);

  const [moveTask] = useMutation(MOVE_TASK);
  const reload = (id: string) =>
    client.query({ query: TASK, variables: { id }, fetchPolicy: 'network-only' }).catch(() => undefined);

  if (lost || (error && NO_ACCESS.has(errorCode(error) ?? '')) || (data && !data.project)) {
    return (
      <main className="board-lost" role="alert">
        <p>You no longer have access to this project.</p>
        <button onClick={onLeave}>Back to projects</button>
      </main>
    );
  }
  if (!data?.project)
    return <main className="board">{loading ? 'Loading…' : error ? <p role="alert">{errorMessage(error)}</p> : null}</main>;
  const project = data.project;
  const cards = project.tasks.edges.map((e) => e.node);
  const column = (status: TaskStatus) => cards.filter((c) => c.status === status).sort((a, b) => a.position - b.position);

  /**
   * Moves a card before `beforeId` in `status` (or to the column's end), optimistically: Apollo shows
   * the answer it expects at once and drops it if the server refuses. A stale version (someone moved or
   * edited it first) is TASK-002: say so and reload the card.
   */
  const move = async (card: Card, status: TaskStatus, beforeId: string | null) => {
    const target = column(status).filter((c) => c.id !== card.id);
    const at = beforeId ? target.findIndex((c) => c.id === beforeId) : -1;
    let position: number;
    if (at >= 0) {
      const before = target[at]!;
      const prev = target[at - 1];
      position = prev ? (prev.position + before.position) / 2 : before.position - 1;
    } else position = target.length ? target[target.length - 1]!.position + 1 : 1;
    if (status === card.status && column(status).at(at >= 0 ? at : -1)?.id === card.id) return;
    setNotice(null);
    try {
      await moveTask({
        variables: { id: card.id, status, position, expectedVersion: card.version },
        optimisticResponse: { moveTask: { ...card, status, position, version: card.version + 1 } },
      });
    } catch (err) {
      if (isVersionConflict(err)) {
        setNotice(`Conflict: “${card.title}” was changed by someone else first. The card was reloaded.`);
        await reload(card.id);
      } else if (NO_ACCESS.has(errorCode(err) ?? '')) setLost(true);
      else setNotice(`“${card.title}” was not moved: ${errorMessage(err)}`);
    }
  };

  const online = [...project.onlineUsers].sort((a, b) => a.name.localeCompare(b.name));
  const canWrite = project.myRole !== 'VIEWER';
  return (
    <main className="board">
      <div className="board-head">
        <h2>{project.name}</h2>
        <div className="presence" aria-label="Online now">
          {online.map((u) => (
            <Avatar key={u.id} user={u} label={`${u.name}${u.id === me.id ? ' (you)' : ''} is online`} />
          ))}
        </div>
      </div>
      {notice && (
        <p className="notice" role="status" data-testid="notice">
          {notice}{' '}
          <button className="link" aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </p>
      )}
      <div className="columns">
        {COLUMNS.map(({ status, title }) => (
          <Column
            key={status}
            title={title}
            status={status}
            cards={column(status)}
            canWrite={canWrite}
            projectId={projectId}
            onMove={move}
            onOpen={setOpenId}
            onConflict={(card) => {
              setNotice(`Conflict: “${card.title}” was changed by someone else first. The card was reloaded.`);
              void reload(card.id);
            }}
            findCard={(id) => cards.find((c) => c.id === id)}
          />
        ))}
      </div>
      {openId && cards.find((c) => c.id === openId) && (
        <CardDialog card={cards.find((c) => c.id === openId)!} onClose={() => setOpenId(null)} />
      )}
    </main>
  );
}

interface ColumnProps {
  title: string;
  status: TaskStatus;
  cards: Card[];
  canWrite: boolean;
  projectId: string;
  onMove: (card: Card, status: TaskStatus, beforeId: string | null) => void;
  onOpen: (id: string) => void;
  onConflict: (card: Card) => void;
  findCard: (id: string) => Card | undefined;
}

/** One status column: a drop target (HTML5 drag and drop) for its end; each card is one for its place. */
function Column({ title, status, cards, canWrite, projectId, onMove, onOpen, onConflict, findCard }: ColumnProps) {
  const [over, setOver] = useState(false);
  const dropAt = (e: DragEvent, beforeId: string | null) => {
    e.preventDefault();
    e.stopPropagation();
    setOver(false);
    const card = findCard(e.dataTransfer.getData('text/x-task-id'));
    if (card && card.id !== beforeId) onMove(card, status, beforeId);
  };
  return (
    <section
      className={`column${over ? ' over' : ''}`}
      aria-label={title}
      data-status={status}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => dropAt(e, null)}
    >
      <h3>
        {title} <span className="muted">{cards.length}</span>
      </h3>
      <ol>
        {cards.map((card) => (
          <CardView
            key={card.id}
            card={card}
            canWrite={canWrite}
            onOpen={onOpen}
            onMove={onMove}
            onConflict={onConflict}
            onDropBefore={(e) => dropAt(e, card.id)}
          />
        ))}
      </ol>
      {status === 'TODO' && canWrite && <NewCard projectId={projectId} />}
    </section>
  );
}

function Avatar({ user, label }: { user: { id: string; name: string }; label?: string }) {
  return (
    <span
      className="avatar"
      style={{ background: `hsl(${hue(user.id)} 55% 45%)` }}
      title={label ?? user.name}
      aria-label={label ?? user.name}
      role="img"
    >
      {initials(user.name)}
    </span>
  );
}

interface CardProps {
  card: Card;
  canWrite: boolean;
  onOpen: (id: string) => void;
  onMove: (card: Card, status: TaskStatus, beforeId: string | null) => void;
  onConflict: (card: Card) => void;
  onDropBefore: (e: DragEvent) => void;
}

function CardView({ card, canWrite, onOpen, onMove, onConflict, onDropBefore }: CardProps) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(card.title);
  const [error, setError] = useState<string | null>(null);
  const [updateTask] = useMutation(UPDATE_TASK);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setEditing(false);
    if (title.trim() === card.title) return;
    try {
      await updateTask({
        variables: { id: card.id, input: { title: title.trim() }, expectedVersion: card.version },
        optimisticResponse: { updateTask: { ...card, title: title.trim(), version: card.version + 1 } },
      });
      setError(null);
    } catch (err) {
      setTitle(card.title);
      if (isVersionConflict(err)) onConflict(card);
      else setError(errorMessage(err));
    }
  };
  const due = card.dueDate ? new Date(card.dueDate) : null;
  return (
    <li
      className="card"
      data-testid="card"
      data-task-id={card.id}
      draggable={canWrite && !editing}
      onDragStart={(e) => {
        e.dataTransfer.setData('text/x-task-id', card.id);
        e.dataTransfer.effectAllowed = 'move';
      }}
      onDragOver={(e) => e.preventDefault()}
      onDrop={onDropBefore}
    >
      {editing ? (
        <form onSubmit={save}>
          <input aria-label="Title" value={title} onChange={(e) => setTitle(e.target.value)} onBlur={save} autoFocus />
        </form>
      ) : (
        <button className="title" onClick={() => onOpen(card.id)}>
          {card.title}
        </button>
      )}
      <div className="meta">
        {card.assignee ? (
          <Avatar user={card.assignee} label={`Assigned to ${card.assignee.name}`} />
        ) : (
          <span className="avatar empty" title="Unassigned" />
        )}
        {due && (
          <time dateTime={card.dueDate!} className={due.getTime() < Date.now() && card.status !== 'DONE' ? 'overdue' : ''}>
            {due.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}
          </time>
        )}
        <span className="count" title="Comments" aria-label={`${card.comments.totalCount} comments`}>
          <Icon name="comment" /> {card.comments.totalCount}
        </span>
        <span className="count" title="Attachments" aria-label={`${card.attachments.length} attachments`}>
          <Icon name="attachment" /> {card.attachments.length}
        </span>
        {canWrite && (
          <>
            <button className="link" aria-label={`Edit title of ${card.title}`} onClick={() => setEditing(true)}>
              ✎
            </button>
            {/* the keyboard way to move a card: the same move as a drop at the column's end */}
            <select
              aria-label={`Move ${card.title}`}
              value={card.status}
              onChange={(e) => onMove(card, e.target.value as TaskStatus, null)}
            >
              {COLUMNS.map((c) => (
                <option key={c.status} value={c.status}>
                  {c.title}
                </option>
              ))}
            </select>
          </>
        )}
      </div>
      {error && <p className="error">{error}</p>}
    </li>
  );
}

/** Inline creation at the end of the To do column (new tasks start there). */
function NewCard({ projectId }: { projectId: string }) {
  const client = useApolloClient();
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [createTask, { loading }] = useMutation(CREATE_TASK);
  return (
    <form
      className="new-card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          // a client id makes a retried create return the same task instead of a second one
          const { data } = await createTask({
            variables: { input: { id: crypto.randomUUID(), projectId, title: title.trim() } },
          });
          const task = data?.createTask;
          if (task) editBoard(client, projectId, (cards) => (cards.some((c) => c.id === task.id) ? cards : [...cards, task]));
          setTitle('');
          setError(null);
        } catch (err) {
          setError(errorMessage(err));
        }
      }}
    >
      <input
        aria-label="New task title"
        placeholder="+ Add a task"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        required
      />
      <button type="submit" disabled={loading || !title.trim()}>
        Add
      </button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}

/** A card opened: its description (editable) and its comments, with a form to add one. */
function CardDialog({ card, onClose }: { card: Card; onClose: () => void }) {
  const client = useApolloClient();
  const { data, refetch } = useQuery(TASK_COMMENTS, { variables: { id: card.id }, fetchPolicy: 'cache-and-network' });
  const [body, setBody] = useState('');
  const [description, setDescription] = useState(card.description ?? '');
  const [error, setError] = useState<string | null>(null);
  const [addComment, adding] = useMutation(ADD_COMMENT);
  const [updateTask] = useMutation(UPDATE_TASK);
  const comments = data?.task?.comments.edges.map((e) => e.node) ?? [];
  return (
    <div className="backdrop" onClick={onClose}>
      <div className="dialog" role="dialog" aria-label={card.title} onClick={(e) => e.stopPropagation()}>
        <header>
          <h3>{card.title}</h3>
          <button className="link" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await updateTask({ variables: { id: card.id, input: { description }, expectedVersion: card.version } });
              setError(null);
            } catch (err) {
              setError(isVersionConflict(err) ? 'Changed by someone else meanwhile: reloaded, try again.' : errorMessage(err));
            }
          }}
        >
          <textarea aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} rows={3} />
          <button type="submit">Save description</button>
        </form>
        <h4>Comments ({data?.task?.comments.totalCount ?? card.comments.totalCount})</h4>
        <ul className="comments">
          {comments.map((c) => (
            <li key={c.id}>
              <Avatar user={c.author} /> <strong>{c.author.name}</strong> <span>{c.body}</span>
            </li>
          ))}
        </ul>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await addComment({ variables: { taskId: card.id, body: body.trim(), id: crypto.randomUUID() } });
              setBody('');
              // the list here and the card's count on the board
              await Promise.all([
                refetch(),
                client.query({ query: TASK, variables: { id: card.id }, fetchPolicy: 'network-only' }),
              ]);
            } catch (err) {
              setError(errorMessage(err));
            }
          }}
        >
          <input
            aria-label="Comment"
            placeholder="Write a comment"
            value={body}
            onChange={(e) => setBody(e.target.value)}
            required
          />
          <button type="submit" disabled={adding.loading || !body.trim()}>
            Comment
          </button>
        </form>
        {error && <p className="error">{error}</p>}
      </div>
    </div>
  );
}
