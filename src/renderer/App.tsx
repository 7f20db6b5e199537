import { useEffect } from 'react';
import { BackendBadge } from './components/BackendBadge';
import { Notices } from './components/Notices';
import { ProjectBar } from './components/ProjectBar';
import { useApp } from './store';
import type { Theme } from './store/ui';
import { TryItPanel } from './try-it/TryItPanel';
import { Wizard } from './wizard/Wizard';

function ThemeChoice() {
  const theme = useApp((s) => s.theme);
  const setTheme = useApp((s) => s.setTheme);
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
  return (
    <label className="theme-choice">
      <span className="visually-hidden">Theme</span>
      <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)} data-testid="theme">
        <option value="system">Theme: system</option>
        <option value="light">Theme: light</option>
        <option value="dark">Theme: dark</option>
      </select>
    </label>
  );
}

export function App() {
  const tryItOpen = useApp((s) => s.tryIt.open);
  const setTryItOpen = useApp((s) => s.setTryItOpen);
  return (
    <div className={`app${tryItOpen ? ' with-panel' : ''}`}>
      <a className="skip-link" href="#main-step">
        Skip to the current step
      </a>
      <header className="topbar">
        <span className="brand">
          <span className="logo" aria-hidden>
            ▦
          </span>{' '}
          Foldwise
        </span>
        <ProjectBar />
        <span className="grow" />
        <BackendBadge />
        <button type="button" onClick={() => setTryItOpen(!tryItOpen)} aria-pressed={tryItOpen} data-testid="try-it-toggle">
          Try it
        </button>
        <ThemeChoice />
      </header>
      <div className="body" id="main-step">
        <Wizard />
        <TryItPanel />
      </div>
      <Notices />
    </div>
  );
}
