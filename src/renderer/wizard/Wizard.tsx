// The step list, the current step, and Back / Next with the reason Next is disabled.
import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp, useAppStore } from '../store';
import { STEPS, isStepDone, lastReachable, stepIndex } from './registry';

export function Wizard() {
  const store = useAppStore();
  const step = useApp((s) => s.step);
  const goTo = useApp((s) => s.goTo);
  // One entry per step: true, or why it cannot be left yet.
  const verdicts = useApp(useShallow((s) => STEPS.map((st) => st.canAdvance(s))));
  const doneSteps = useApp(useShallow((s) => STEPS.map((st) => isStepDone(s, st))));
  const heading = useRef<HTMLHeadingElement>(null);
  const index = stepIndex(step);
  const current = STEPS[index]!;
  const reachable = (i: number) => verdicts.slice(0, i).every((v) => v === true);
  const verdict = verdicts[index]!;
  const isLast = index === STEPS.length - 1;

  // A change upstream (a new folder, a cancelled run) can make this step unreachable: go back to one that is.
  useEffect(() => {
    if (!reachable(index)) goTo(lastReachable(store.getState()));
  });

  const previousStep = useRef(step);
  useEffect(() => {
    if (previousStep.current !== step) heading.current?.focus();
    previousStep.current = step;
  }, [step]);

  // Alt+→ and Alt+← move between steps from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const s = store.getState();
      const i = stepIndex(s.step);
      if (e.key === 'ArrowRight' && STEPS[i]!.canAdvance(s) === true && STEPS[i + 1]) s.goTo(STEPS[i + 1]!.id);
      else if (e.key === 'ArrowLeft' && i > 0) s.goTo(STEPS[i - 1]!.id);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);

  const Component = current.Component;
  return (
    <div className="wizard">
      <nav className="steps" aria-label="Steps">
        <ol>
          {STEPS.map((s, i) => {
            const done = doneSteps[i] === true;
            return (
              <li key={s.id}>
                <button
                  type="button"
                  className={`step-link${s.id === step ? ' current' : ''}${done ? ' done' : ''}`}
                  aria-current={s.id === step ? 'step' : undefined}
                  disabled={!reachable(i)}
                  onClick={() => goTo(s.id)}
                  data-testid={`step-${s.id}`}
                >
                  <span className="step-number" aria-hidden>
                    {done && s.id !== step ? '✓' : i + 1}
                  </span>
                  {s.title}
                </button>
              </li>
            );
          })}
        </ol>
      </nav>
      <main className="step">
        <header>
          <h1 ref={heading} tabIndex={-1}>
            {current.title}
          </h1>
          <p className="blurb">{current.blurb}</p>
        </header>
        <Component />
        <footer className="step-footer">
          <button type="button" onClick={() => index > 0 && goTo(STEPS[index - 1]!.id)} disabled={index === 0}>
            ← Back
          </button>
          <span className="grow reason" data-testid="next-reason" aria-live="polite">
            {verdict !== true && !isLast ? verdict : ''}
          </span>
          {!isLast && (
            <button type="button" className="primary" data-testid="next-step" disabled={verdict !== true} onClick={() => goTo(STEPS[index + 1]!.id)}>
              Next: {STEPS[index + 1]!.title} →
            </button>
          )}
        </footer>
      </main>
    </div>
  );
}
