// The renderer's entry: one store per window, wired to the engine through ipc.ts.
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { engineReadablePath, getApi, onConnectionLost } from './ipc';
import { StoreProvider, createAppStore } from './store';
import './styles.css';

const store = createAppStore({ api: getApi(), readablePath: engineReadablePath });
onConnectionLost(() => store.getState().setConnectionLost());
void store.getState().loadEngineInfo();
void store.getState().loadRecent();

createRoot(document.getElementById('root')!).render(
  <StoreProvider store={store}>
    <App />
  </StoreProvider>,
);
