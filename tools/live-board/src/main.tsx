import { ApolloProvider } from '@apollo/client';
import { createRoot } from 'react-dom/client';
import { createApollo } from './apollo';
import { App, type Live } from './App';
import { resolveApiUrl } from './config';
import { Session } from './session';
import './styles.css';

/** Boot: find the gateway, restore the tab's session, connect, render. */
async function main(): Promise<void> {
  const apiUrl = await resolveApiUrl();
  const session = new Session(apiUrl);
  const live: Live = { listeners: new Set(), status: 'idle', reconnects: 0 };
  const { client, socket } = createApollo(apiUrl, session, {
    onConnected: (first) => {
      live.status = 'connected';
      if (!first) live.reconnects += 1;
      // live updates are at-most-once: whatever happened while the socket was down is fetched again
      if (!first) void client.refetchQueries({ include: 'active' });
      for (const l of live.listeners) l();
    },
    onClosed: () => {
      live.status = 'reconnecting';
      for (const l of live.listeners) l();
    },
  });
  // signing out drops everything cached for the previous user
  session.subscribe((tokens) => {
    if (!tokens) {
      socket.terminate();
      void client.clearStore();
    }
  });
  createRoot(document.getElementById('root')!).render(
    <ApolloProvider client={client}>
      <App session={session} apiUrl={apiUrl} live={live} />
    </ApolloProvider>,
  );
}

void main();
