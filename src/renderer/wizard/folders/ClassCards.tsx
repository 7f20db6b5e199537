import type { ClassSummary } from '../../../shared/types';
import { Thumb } from '../../components/Thumb';
import { plural } from '../../lib/format';

function ClassCard({ cls }: { cls: ClassSummary }) {
  const total = cls.images.train + cls.images.valid + cls.images.test;
  return (
    <article className={`card class-card${total === 0 ? ' class-empty' : ''}`} data-testid="class-card" aria-label={`${cls.name}: ${plural(total, 'photo')}`}>
      <header className="row">
        <h3 className="grow truncate" title={cls.name}>
          {cls.name}
        </h3>
        <span className="count">{plural(total, 'photo')}</span>
      </header>
      <div className="thumb-strip">
        {(cls.thumbnails ?? []).slice(0, 6).map((id) => (
          <Thumb key={id} id={id} alt={`a photo of ${cls.name}`} />
        ))}
        {(cls.thumbnails ?? []).length === 0 && <span className="muted">{total === 0 ? 'No usable photos.' : 'No previews yet.'}</span>}
      </div>
      <p className="muted small">
        {cls.images.train} to learn from · {cls.images.valid} to check with{cls.images.test ? ` · ${cls.images.test} held back for a final test` : ''}
      </p>
    </article>
  );
}

export function ClassCards({ classes }: { classes: ClassSummary[] }) {
  return (
    <div className="card-grid">
      {classes.map((cls) => (
        <ClassCard key={cls.name} cls={cls} />
      ))}
    </div>
  );
}
